import { type Mailbox, encodeWord, formatMailbox } from "./headers";

export interface ComposeAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  /** Inline parts are referenced from the HTML by `cid:` and go into multipart/related. */
  inline?: boolean;
  contentId?: string;
}

export interface ComposeInput {
  from: Mailbox;
  sender?: Mailbox;
  to: Mailbox[];
  cc?: Mailbox[];
  bcc?: Mailbox[];
  replyTo?: Mailbox[];
  subject: string;
  text?: string;
  html?: string;
  attachments?: ComposeAttachment[];
  messageId: string;
  date: number;
  inReplyTo?: string;
  references?: string[];
  /** Extra headers in order, e.g. Thread-Index, Auto-Submitted, X-*. */
  headers?: Array<[string, string]>;
  /** Deterministic boundaries keep seeded worlds byte-identical across runs. */
  boundarySeed: string;
}

const CRLF = "\r\n";

export function formatDate(ms: number): string {
  return new Date(ms).toUTCString().replace("GMT", "+0000");
}

function wrapBase64(buf: Buffer): string {
  return (buf.toString("base64").match(/.{1,76}/g) ?? []).join(CRLF);
}

function encodeQuotedPrintable(text: string): string {
  const bytes = Buffer.from(text.replace(/\r?\n/g, "\n"), "utf8");
  const lines: string[] = [];
  let line = "";
  const push = (chunk: string) => {
    if (line.length + chunk.length > 75) {
      lines.push(line + "=");
      line = "";
    }
    line += chunk;
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0a) {
      if (line.endsWith(" ") || line.endsWith("\t")) line = line.slice(0, -1) + (line.endsWith(" ") ? "=20" : "=09");
      lines.push(line);
      line = "";
      continue;
    }
    const printable = (b >= 33 && b <= 126 && b !== 61) || b === 32 || b === 9;
    push(printable ? String.fromCharCode(b) : "=" + b.toString(16).toUpperCase().padStart(2, "0"));
  }
  lines.push(line);
  return lines.join(CRLF);
}

function textPart(mimeType: string, content: string): string {
  const ascii = /^[\x00-\x7f]*$/.test(content) && content.split("\n").every((l) => l.length < 900);
  const body = ascii ? content.replace(/\r?\n/g, CRLF) : encodeQuotedPrintable(content);
  return (
    `Content-Type: ${mimeType}; charset="UTF-8"${CRLF}` +
    `Content-Transfer-Encoding: ${ascii ? "7bit" : "quoted-printable"}${CRLF}${CRLF}${body}`
  );
}

function quoteParam(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return `"${value.replace(/(["\\])/g, "\\$1")}"`;
  return `"${encodeWord(value)}"`;
}

function attachmentPart(a: ComposeAttachment): string {
  const lines = [
    `Content-Type: ${a.contentType}; name=${quoteParam(a.filename)}`,
    `Content-Disposition: ${a.inline ? "inline" : "attachment"}; filename=${quoteParam(a.filename)}`,
    `Content-Transfer-Encoding: base64`,
  ];
  if (a.contentId) lines.push(`Content-ID: <${a.contentId}>`);
  return lines.join(CRLF) + CRLF + CRLF + wrapBase64(a.content);
}

function multipart(subtype: string, boundary: string, parts: string[], extra = ""): string {
  return (
    `Content-Type: multipart/${subtype}; boundary="${boundary}"${extra}${CRLF}${CRLF}` +
    parts.map((p) => `--${boundary}${CRLF}${p}${CRLF}`).join("") +
    `--${boundary}--${CRLF}`
  );
}

function foldHeader(name: string, value: string): string {
  const line = `${name}: ${value}`;
  if (line.length <= 78 || !value.includes(" ")) return line;
  const words = value.split(" ");
  const out: string[] = [];
  let current = `${name}:`;
  for (const w of words) {
    if (current.length + 1 + w.length > 78 && current.length > name.length + 1) {
      out.push(current);
      current = "";
    }
    current += " " + w;
  }
  out.push(current);
  return out.join(CRLF);
}

/** Builds an RFC 5322 message with the usual multipart nesting (mixed > alternative > related). */
export function composeMime(input: ComposeInput): Buffer {
  const headers: Array<[string, string]> = [["From", formatMailbox(input.from)]];
  if (input.sender) headers.push(["Sender", formatMailbox(input.sender)]);
  if (input.to.length) headers.push(["To", input.to.map(formatMailbox).join(", ")]);
  if (input.cc?.length) headers.push(["Cc", input.cc.map(formatMailbox).join(", ")]);
  if (input.bcc?.length) headers.push(["Bcc", input.bcc.map(formatMailbox).join(", ")]);
  if (input.replyTo?.length) headers.push(["Reply-To", input.replyTo.map(formatMailbox).join(", ")]);
  headers.push(["Subject", encodeWord(input.subject)]);
  headers.push(["Date", formatDate(input.date)]);
  headers.push(["Message-ID", input.messageId]);
  if (input.inReplyTo) headers.push(["In-Reply-To", input.inReplyTo]);
  if (input.references?.length) headers.push(["References", input.references.join(" ")]);
  for (const h of input.headers ?? []) headers.push(h);
  headers.push(["MIME-Version", "1.0"]);

  const b = (n: number) => `=_pr_${input.boundarySeed}_${n}`;
  const attachments = input.attachments ?? [];
  const inline = attachments.filter((a) => a.inline);
  const regular = attachments.filter((a) => !a.inline);

  let htmlBody = input.html !== undefined ? textPart("text/html", input.html) : undefined;
  if (htmlBody && inline.length) htmlBody = multipart("related", b(3), [htmlBody, ...inline.map(attachmentPart)]);
  const textBody = input.text !== undefined ? textPart("text/plain", input.text) : undefined;
  let body: string;
  if (textBody && htmlBody) body = multipart("alternative", b(2), [textBody, htmlBody]);
  else body = htmlBody ?? textBody ?? textPart("text/plain", "");
  if (regular.length) body = multipart("mixed", b(1), [body, ...regular.map(attachmentPart)]);

  return Buffer.from(headers.map(([n, v]) => foldHeader(n, v)).join(CRLF) + CRLF + body, "utf8");
}

/** Adds or replaces top-level headers of an existing raw message, leaving the body untouched. */
export function withHeaders(raw: Buffer, add: Array<[string, string]>, replace = false): Buffer {
  const text = raw.toString("latin1");
  const m = /\r?\n\r?\n/.exec(text);
  let head = m ? text.slice(0, m.index) : text;
  const rest = m ? text.slice(m.index) : "\r\n\r\n";
  const eol = head.includes("\r\n") ? "\r\n" : "\n";
  for (const [name, value] of add) {
    if (replace) {
      const re = new RegExp(`^${name}:.*(?:\\r?\\n[ \\t].*)*\\r?\\n?`, "im");
      head = head.replace(re, "").replace(/(\r?\n)+$/, "");
    }
    head = `${name}: ${Buffer.from(value, "utf8").toString("latin1")}${eol}${head}`;
  }
  return Buffer.from(head + rest, "latin1");
}

export function stripHeader(raw: Buffer, name: string): Buffer {
  const text = raw.toString("latin1");
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return raw;
  const eol = m[0].startsWith("\r\n") ? "\r\n" : "\n";
  const head = text.slice(0, m.index) + eol;
  const re = new RegExp(`^${name}:.*(?:\\r?\\n[ \\t].*)*\\r?\\n`, "gim");
  return Buffer.from(head.replace(re, "") + text.slice(m.index + eol.length), "latin1");
}
