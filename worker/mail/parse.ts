/**
 * Turns raw MIME into what Postroom stores, with postal-mime. Limits are enforced before parsing, and
 * a parser failure is a value (the message is recorded as skipped), never an exception that could
 * take a whole batch down.
 */
import PostalMime, { type Address, type Email } from "postal-mime";
import { normalizeMessageId, parseIdList } from "./message-id";

/** Larger than anything Gmail (35 MiB upload) or Graph (150 MB via upload sessions) normally delivers to an inbox. */
export const MAX_RAW_BYTES = 40 * 1024 * 1024;
export const MAX_TEXT_CHARS = 64 * 1024;
const SNIPPET_CHARS = 200;

export interface MailAddress {
  name: string;
  address: string;
}

export interface ParsedAttachment {
  filename: string;
  mimeType: string;
  inline: boolean;
  contentId: string | null;
  content: Uint8Array;
}

export interface ParsedMail {
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string;
  from: MailAddress | null;
  to: MailAddress[];
  cc: MailAddress[];
  replyTo: MailAddress[];
  sentAt: number | null;
  text: string;
  html: string | null;
  snippet: string;
  isAutomated: boolean;
  isBounce: boolean;
  attachments: ParsedAttachment[];
  headers: Map<string, string>;
}

export type ParseOutcome =
  { ok: true; mail: ParsedMail } | { ok: false; reason: "too_large" | "unparseable"; detail: string };

function flatten(list: Address[] | undefined): MailAddress[] {
  const out: MailAddress[] = [];
  for (const a of list ?? []) {
    if (a.group) for (const m of a.group) out.push({ name: m.name, address: m.address.toLowerCase() });
    else if (a.address) out.push({ name: a.name, address: a.address.toLowerCase() });
  }
  return out;
}

export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, " ")
    .replace(/<br\s*\/?>|<\/p>|<\/div>|<\/li>|<\/tr>/gi, "\n")
    .replace(/<[^>]+>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/[ \t]+/g, " ")
    .replace(/\n\s*\n+/g, "\n\n")
    .trim();
}

/** Vacation responders that set no standard header still say so in their subject. */
const AUTO_REPLY_SUBJECT =
  /^\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|abwesenheitsnotiz|r[ée]ponse automatique|automatisch antwoord|respuesta autom[áa]tica)\b/i;

/** RFC 3834 and common bulk markers: mail that must never be answered automatically. */
export function isAutomatedMail(headers: Map<string, string>, subject = ""): boolean {
  if (AUTO_REPLY_SUBJECT.test(subject)) return true;
  if (/vacation|auto/i.test(headers.get("x-apple-action") ?? "")) return true;
  const autoSubmitted = headers.get("auto-submitted")?.toLowerCase().trim();
  if (autoSubmitted && autoSubmitted !== "no") return true;
  const precedence = headers.get("precedence")?.toLowerCase().trim();
  if (precedence && ["bulk", "junk", "list", "auto_reply"].includes(precedence)) return true;
  if (headers.has("x-autoreply") || headers.has("x-autorespond") || headers.has("list-id")) return true;
  // RFC 6522 reports (delivery status, feedback/abuse reports, read receipts) are machine-generated.
  if (/^\s*multipart\/report\b/i.test(headers.get("content-type") ?? "")) return true;
  const returnPath = headers.get("return-path")?.trim();
  return returnPath === "<>";
}

function isDeliveryReport(email: Email, headers: Map<string, string>): boolean {
  const type = headers.get("content-type")?.toLowerCase() ?? "";
  if (type.includes("multipart/report") && type.includes("delivery-status")) return true;
  if (
    email.attachments.some(
      (a) => a.mimeType === "message/delivery-status" || a.mimeType === "message/global-delivery-status",
    )
  ) {
    return true;
  }
  const from = flatten(email.from ? [email.from] : [])[0]?.address ?? "";
  return (
    /^(mailer-daemon|postmaster)@/i.test(from) &&
    /undeliver|delivery (status|failure)|returned mail|failure notice/i.test(email.subject ?? "")
  );
}

const bytesOf = (content: ArrayBuffer | Uint8Array | string): Uint8Array =>
  typeof content === "string"
    ? new TextEncoder().encode(content)
    : content instanceof Uint8Array
      ? content
      : new Uint8Array(content);

export async function parseMail(raw: Uint8Array): Promise<ParseOutcome> {
  if (raw.byteLength > MAX_RAW_BYTES) {
    return {
      ok: false,
      reason: "too_large",
      detail: `${raw.byteLength} bytes is over the ${MAX_RAW_BYTES}-byte limit`,
    };
  }
  let email: Email;
  try {
    email = await PostalMime.parse(raw, { attachmentEncoding: "arraybuffer", maxNestingDepth: 64 });
  } catch (err) {
    return {
      ok: false,
      reason: "unparseable",
      detail: err instanceof Error ? err.message.slice(0, 300) : "parser failed",
    };
  }
  const headers = new Map<string, string>();
  for (const h of email.headers) if (!headers.has(h.key)) headers.set(h.key, h.value);
  const html = email.html ?? null;
  // An HTML-only message still gets readable (and searchable) text.
  const text = (email.text?.trim() ? email.text : html ? htmlToText(html) : "").slice(0, MAX_TEXT_CHARS);
  const sent = email.date ? Date.parse(email.date) : NaN;
  const references = parseIdList(email.references);
  const inReplyTo = parseIdList(email.inReplyTo)[0] ?? null;
  return {
    ok: true,
    mail: {
      messageId: normalizeMessageId(email.messageId),
      inReplyTo,
      references,
      subject: (email.subject ?? "").slice(0, 998),
      from: flatten(email.from ? [email.from] : [])[0] ?? null,
      to: flatten(email.to),
      cc: flatten(email.cc),
      replyTo: flatten(email.replyTo),
      sentAt: Number.isFinite(sent) ? sent : null,
      text,
      html,
      snippet: text.replace(/\s+/g, " ").trim().slice(0, SNIPPET_CHARS),
      isAutomated: isAutomatedMail(headers, email.subject ?? ""),
      isBounce: isDeliveryReport(email, headers),
      attachments: email.attachments.map((a) => ({
        filename: a.filename ?? "",
        mimeType: a.mimeType || "application/octet-stream",
        inline: a.disposition === "inline" || a.related === true,
        contentId: normalizeMessageId(a.contentId),
        content: bytesOf(a.content),
      })),
      headers,
    },
  };
}
