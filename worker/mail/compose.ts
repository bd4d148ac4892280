/**
 * Builds the RFC 5322 message Postroom sends from a mailbox, with mimetext. Threading headers follow
 * RFC 5322 §3.6.4: In-Reply-To names the parent, References is the parent's References plus the
 * parent. Every header value was validated (no CR/LF/NUL) before it reaches here.
 */
import { createMimeMessage } from "mimetext/browser";

/** Providers cap header sizes; keep the root and the most recent ids when a chain is long. */
const MAX_REFERENCES = 20;

export interface Outgoing {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  /** Files to attach (forwarding), as they were stored. */
  attachments?: { filename: string; contentType: string; data: Uint8Array }[];
}

/** Ids copied from received mail are the sender's text: one that could break a header line is left out. */
export const usableIds = (ids: readonly (string | null)[]): string[] =>
  ids.filter((id): id is string => id !== null && id.length > 0 && !UNSAFE.test(id) && !/[<>\s]/.test(id));

const UNSAFE = /[\r\n\0]/;

/** The last line of defence: request values were validated, stored ones filtered; a slip here is a bug. */
function assertHeaderSafe(o: Outgoing): void {
  const values = [o.from, ...o.to, ...o.cc, ...o.bcc, o.subject, o.messageId, o.inReplyTo ?? "", ...o.references];
  for (const a of o.attachments ?? []) values.push(a.filename, a.contentType);
  if (values.some((v) => UNSAFE.test(v)))
    throw new Error("a header value of an outgoing message has a line break or NUL");
}

export function trimReferences(ids: string[]): string[] {
  if (ids.length <= MAX_REFERENCES) return ids;
  return [ids[0]!, ...ids.slice(ids.length - (MAX_REFERENCES - 1))];
}

export function composeMessage(o: Outgoing): string {
  assertHeaderSafe(o);
  const msg = createMimeMessage();
  msg.setSender(o.from);
  msg.setRecipients(o.to);
  if (o.cc.length) msg.setCc(o.cc);
  if (o.bcc.length) msg.setBcc(o.bcc);
  msg.setSubject(o.subject);
  msg.setHeader("Message-ID", `<${o.messageId}>`);
  if (o.inReplyTo) msg.setHeader("In-Reply-To", `<${o.inReplyTo}>`);
  if (o.references.length)
    msg.setHeader(
      "References",
      trimReferences(o.references)
        .map((r) => `<${r}>`)
        .join(" "),
    );
  msg.addMessage({ contentType: "text/plain", data: o.text });
  for (const a of o.attachments ?? []) {
    msg.addAttachment({ filename: a.filename, contentType: a.contentType, data: toBase64(a.data) });
  }
  return msg.asRaw();
}

function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export const base64url = (s: string) => {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};
