import {
  type Header,
  type Mailbox,
  decodeCharset,
  decodeWords,
  headerValue,
  parseAddressList,
  parseMessageIds,
  parseParams,
  splitHeaderBlock,
} from "./headers";

/** One node of a MIME tree, with both the transfer-decoded body and what is needed to render it. */
export interface MimePart {
  headers: Header[];
  mimeType: string;
  params: Record<string, string>;
  disposition: string | undefined;
  filename: string;
  contentId: string | undefined;
  body: Buffer;
  children: MimePart[];
}

export interface ParsedMessage {
  root: MimePart;
  headers: Header[];
  subject: string;
  from: Mailbox[];
  sender: Mailbox[];
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  messageId: string | undefined;
  inReplyTo: string[];
  references: string[];
  date: number | undefined;
  text: string | undefined;
  html: string | undefined;
  attachments: MimePart[];
  size: number;
}

const MAX_DEPTH = 20;

function splitHead(buf: Buffer): { head: string; body: Buffer } {
  const text = buf.toString("latin1");
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return { head: text, body: Buffer.alloc(0) };
  // A body-only part (no headers) starts with the blank line itself.
  if (m.index === 0) return { head: "", body: buf.subarray(m[0].length) };
  return { head: text.slice(0, m.index), body: buf.subarray(m.index + m[0].length) };
}

function decodeTransfer(body: Buffer, encoding: string | undefined): Buffer {
  const enc = (encoding ?? "7bit").trim().toLowerCase();
  if (enc === "base64") return Buffer.from(body.toString("latin1").replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
  if (enc === "quoted-printable") {
    const text = body.toString("latin1").replace(/=\r?\n/g, "");
    const out: number[] = [];
    for (let i = 0; i < text.length; i++) {
      if (text[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
        out.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(text.charCodeAt(i) & 0xff);
    }
    return Buffer.from(out);
  }
  return body;
}

function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString("latin1");
  const delimiter = "--" + boundary;
  const parts: Buffer[] = [];
  let pos = 0;
  let start = -1;
  while (pos <= text.length) {
    const idx = text.indexOf(delimiter, pos);
    if (idx < 0) break;
    const atLineStart = idx === 0 || text[idx - 1] === "\n";
    if (!atLineStart) {
      pos = idx + delimiter.length;
      continue;
    }
    if (start >= 0) {
      let end = idx;
      if (text[end - 1] === "\n") end--;
      if (text[end - 1] === "\r") end--;
      parts.push(body.subarray(start, Math.max(start, end)));
    }
    const closing = text.startsWith("--", idx + delimiter.length);
    if (closing) return parts;
    const eol = text.indexOf("\n", idx);
    if (eol < 0) break;
    start = eol + 1;
    pos = start;
  }
  // Unterminated multipart: keep what was there, as lenient readers do.
  if (start >= 0 && start < text.length) parts.push(body.subarray(start));
  return parts;
}

export function parsePart(buf: Buffer, depth = 0, parentType = "text/plain"): MimePart {
  const { head, body } = splitHead(buf);
  const headers = splitHeaderBlock(head);
  const defaultType = parentType === "multipart/digest" ? "message/rfc822" : "text/plain";
  const ct = parseParams(headerValue(headers, "content-type") ?? defaultType);
  const mimeType = ct.value.includes("/") ? ct.value : "text/plain";
  const disp = headerValue(headers, "content-disposition");
  const dp = disp ? parseParams(disp) : undefined;
  const filename = dp?.params["filename"] ?? ct.params["name"] ?? "";
  const cid = headerValue(headers, "content-id");
  const part: MimePart = {
    headers,
    mimeType,
    params: ct.params,
    disposition: dp?.value,
    filename,
    contentId: cid?.replace(/^<|>$/g, ""),
    body: Buffer.alloc(0),
    children: [],
  };
  const boundary = ct.params["boundary"];
  if (mimeType.startsWith("multipart/") && boundary && depth < MAX_DEPTH) {
    part.children = splitMultipart(body, boundary).map((child) => parsePart(child, depth + 1, mimeType));
  } else {
    part.body = decodeTransfer(body, headerValue(headers, "content-transfer-encoding"));
  }
  return part;
}

export function partText(part: MimePart): string {
  return decodeCharset(part.body, part.params["charset"]);
}

function isAttachment(part: MimePart): boolean {
  if (part.children.length > 0) return false;
  if (part.disposition === "attachment") return true;
  if (part.filename) return true;
  return !part.mimeType.startsWith("text/") && !part.mimeType.startsWith("multipart/");
}

function walk(part: MimePart, visit: (p: MimePart) => void): void {
  visit(part);
  for (const child of part.children) walk(child, visit);
}

export function parseMessage(raw: Buffer): ParsedMessage {
  const root = parsePart(raw);
  const h = root.headers;
  let text: string | undefined;
  let html: string | undefined;
  const attachments: MimePart[] = [];
  walk(root, (p) => {
    if (p.children.length > 0) return;
    if (isAttachment(p)) {
      attachments.push(p);
      return;
    }
    if (p.mimeType === "text/html" && html === undefined) html = partText(p);
    else if (p.mimeType.startsWith("text/") && p.mimeType !== "text/html" && text === undefined) text = partText(p);
  });
  const dateHeader = headerValue(h, "date");
  const date = dateHeader ? Date.parse(dateHeader.replace(/\s*\([^)]*\)\s*$/, "")) : NaN;
  return {
    root,
    headers: h,
    subject: decodeWords(headerValue(h, "subject") ?? ""),
    from: parseAddressList(headerValue(h, "from")),
    sender: parseAddressList(headerValue(h, "sender")),
    to: parseAddressList(headerValue(h, "to")),
    cc: parseAddressList(headerValue(h, "cc")),
    bcc: parseAddressList(headerValue(h, "bcc")),
    replyTo: parseAddressList(headerValue(h, "reply-to")),
    messageId: parseMessageIds(headerValue(h, "message-id"))[0],
    inReplyTo: parseMessageIds(headerValue(h, "in-reply-to")),
    references: parseMessageIds(headerValue(h, "references")),
    date: Number.isNaN(date) ? undefined : date,
    text,
    html,
    attachments,
    size: raw.length,
  };
}

/** Plain text of the message for previews and search: text part first, else the HTML stripped. */
export function plainText(msg: ParsedMessage): string {
  if (msg.text !== undefined) return msg.text;
  if (msg.html !== undefined) return htmlToText(msg.html);
  return "";
}

export function htmlToText(html: string): string {
  return html
    .replace(/<(style|script|head)[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|tr|li|h\d)>/gi, "\n")
    .replace(/<[^>]+>/g, " ")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** The subject with reply/forward prefixes and list tags removed (RFC 5256 base subject, simplified). */
export function baseSubject(subject: string): string {
  let s = subject.trim();
  for (;;) {
    const next = s
      .replace(/^\[[^\]]*\]\s*/, "")
      .replace(/^(re|fw|fwd|aw|wg|sv|vs|antw|tr)(\[\d+\])?\s*:\s*/i, "")
      .trim();
    if (next === s) break;
    s = next;
  }
  return s.replace(/\s+/g, " ").toLowerCase();
}
