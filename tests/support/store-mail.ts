/**
 * Mail stored through the real message store (R2 and D1), as the sync would store it, for tests
 * that need conversations without a provider.
 */
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { ulid } from "ulid";
import * as schema from "../../worker/db/schema";
import { storeMessage } from "../../worker/sync/store-message";

const db = drizzle(env.DB, { schema });
const enc = new TextEncoder();

export interface Mail {
  id: string;
  subject: string;
  from?: string;
  to: string;
  body?: string;
  /** An HTML body instead of the text one. */
  html?: string;
  inReplyTo?: string;
  attachment?: boolean;
  at?: number;
}

/**
 * The account row a made-up account id needs (its number places its conversations in the search
 * index); nothing when it exists.
 */
export async function ensureAccount(accountId: string): Promise<void> {
  await db.insert(schema.accounts).values({ id: accountId, name: "Test", createdAt: Date.now() }).onConflictDoNothing();
}

/** Stores one message in a mailbox and returns its thread id. */
export async function deliver(accountId: string, mailboxId: string, m: Mail, outbound = false): Promise<string> {
  await ensureAccount(accountId);
  const boundary = "b1";
  const head = [
    `From: ${m.from ?? "Ana Lima <ana@customer.test>"}`,
    `To: ${m.to}`,
    `Subject: ${m.subject}`,
    `Date: Mon, 16 Nov 2026 10:00:00 +0000`,
    `Message-ID: <${m.id}>`,
    ...(m.inReplyTo ? [`In-Reply-To: <${m.inReplyTo}>`, `References: <${m.inReplyTo}>`] : []),
    "MIME-Version: 1.0",
  ];
  const body = m.attachment
    ? [
        `Content-Type: multipart/mixed; boundary="${boundary}"`,
        "",
        `--${boundary}`,
        m.html ? "Content-Type: text/html; charset=utf-8" : "Content-Type: text/plain; charset=utf-8",
        "",
        m.html ?? m.body ?? "Hello",
        `--${boundary}`,
        `Content-Type: application/pdf; name="quote.pdf"`,
        `Content-Disposition: attachment; filename="quote.pdf"`,
        "Content-Transfer-Encoding: base64",
        "",
        "JVBERi0xLjQK",
        `--${boundary}--`,
        "",
      ]
    : m.html
      ? ["Content-Type: text/html; charset=utf-8", "", m.html, ""]
      : ["Content-Type: text/plain; charset=utf-8", "", m.body ?? "Hello", ""];
  const r = await storeMessage(db, env.RAW_MAIL, {
    accountId,
    mailboxId,
    providerMessageId: ulid(),
    providerThreadId: null,
    providerThreadReliable: false,
    labels: [outbound ? "SENT" : "INBOX"],
    outbound,
    receivedAt: m.at ?? Date.now(),
    raw: enc.encode([...head, ...body].join("\r\n")),
  });
  if (!("threadId" in r)) throw new Error(`not stored: ${r.status}`);
  return r.threadId;
}
