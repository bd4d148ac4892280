/**
 * A conversation as an mbox file (the mboxrd variant: a "From " separator line before each message,
 * and any body line that starts with "From " after optional ">"s gets one more ">", so readers can
 * split and unescape it exactly). Messages are their raw MIME from R2; internal notes become plain
 * text messages marked `X-Postroom-Note: yes`, in time order with the mail, so an export keeps what
 * the team said about the conversation without it ever looking like mail that was sent.
 */
import { and, asc, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { messages, notes, users } from "../db/schema";
import { composeMessage } from "../mail/compose";
import type { ThreadRow } from "./access";

interface Entry {
  at: number;
  sender: string;
  bytes: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("latin1");

/** `asctime` form, as mbox separator lines use it: "Mon Nov 16 10:00:00 2026". */
function asctime(ms: number): string {
  const d = new Date(ms);
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()];
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()];
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, " ")} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** The separator's address is one token: anything that could break the line becomes "-". */
const separatorAddress = (a: string) => a.replace(/[\s\0]/g, "") || "MAILER-DAEMON";

/** mboxrd quoting, done on bytes read as latin1 so every byte of any charset survives unchanged. */
function quoted(bytes: Uint8Array): string {
  const text = decoder.decode(bytes).replace(/\r\n/g, "\n");
  return text.replace(/^(>*From )/gm, ">$1");
}

function latin1Bytes(s: string): ArrayBuffer {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out.buffer;
}

export async function exportThreadMbox(c: Context<AppEnv>, thread: ThreadRow): Promise<ArrayBuffer> {
  const accountId = c.var.principal.accountId;
  const [mail, noteRows] = await Promise.all([
    c.var.db
      .select({ rawKey: messages.rawKey, fromAddress: messages.fromAddress, receivedAt: messages.receivedAt })
      .from(messages)
      .where(and(eq(messages.accountId, accountId), eq(messages.threadId, thread.id)))
      .orderBy(asc(messages.receivedAt), asc(messages.id))
      .all(),
    c.var.db
      .select({ id: notes.id, body: notes.body, createdAt: notes.createdAt, email: users.email })
      .from(notes)
      .innerJoin(users, and(eq(users.accountId, notes.accountId), eq(users.id, notes.authorId)))
      .where(and(eq(notes.accountId, accountId), eq(notes.threadId, thread.id)))
      .orderBy(asc(notes.createdAt), asc(notes.id))
      .all(),
  ]);
  const entries: Entry[] = [];
  for (const m of mail) {
    const object = await c.env.RAW_MAIL.get(m.rawKey);
    if (!object) continue;
    entries.push({ at: m.receivedAt, sender: m.fromAddress, bytes: new Uint8Array(await object.arrayBuffer()) });
  }
  for (const n of noteRows) {
    const mime = composeMessage({
      from: n.email,
      to: [n.email],
      cc: [],
      bcc: [],
      subject: `Internal note: ${thread.subject.replace(/[\r\n\0]/g, " ")}`,
      text: n.body,
      messageId: `${n.id.toLowerCase()}@notes.postroom.invalid`,
      inReplyTo: null,
      references: [],
    });
    const marked = mime.replace(/^/, "X-Postroom-Note: yes\r\n");
    entries.push({ at: n.createdAt, sender: n.email, bytes: encoder.encode(marked) });
  }
  entries.sort((a, b) => a.at - b.at);
  const parts = entries.map((e) => {
    const body = quoted(e.bytes);
    return `From ${separatorAddress(e.sender)} ${asctime(e.at)}\n${body}${body.endsWith("\n") ? "" : "\n"}\n`;
  });
  return latin1Bytes(parts.join(""));
}

/** A download name from the subject: letters, digits and a few marks only, never empty. */
export function exportFilename(subject: string): string {
  const base = subject
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9 ._-]+/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^\.+/, "")
    .slice(0, 80)
    .trim();
  return `${base || "conversation"}.mbox`;
}
