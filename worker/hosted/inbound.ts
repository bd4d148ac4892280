/**
 * The Worker's email() handler: mail for hosted addresses, delivered by Cloudflare Email Routing (a
 * catch-all rule on the hosted domain). Unknown and released addresses, and mail over the size
 * limit, are refused with setReject (a permanent SMTP failure with the reason) before anything is
 * read. Accepted mail takes the same idempotent path as synced mail (raw MIME to R2, the message
 * and its thread to D1, threaded by In-Reply-To and References, a closed thread reopened), and open
 * views refresh through the inbox's MailboxDO. Anything unexpected is thrown on purpose: the sender
 * gets a temporary failure and retries, and the retry is stored once.
 */
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../db/schema";
import { hostedAddresses, mailboxes } from "../db/schema";
import { log } from "../lib/log";
import { normalizeMessageId } from "../mail/message-id";
import { storeMessage } from "../sync/store-message";
import { hostedDomain, hostedRecipient } from "./address";

/** Cloudflare Email Routing's own inbound maximum; anything larger never reaches the parser. */
export const HOSTED_MAX_INBOUND_BYTES = 25 * 1024 * 1024;

export const REJECT = {
  disabled: "550 5.1.1 This domain does not accept mail: hosted addresses are not enabled",
  unknown: "550 5.1.1 Unknown recipient: no inbox has this address",
  released: "550 5.1.1 Recipient no longer exists: this address was released",
  tooLarge: `552 5.3.4 Message too large: the limit is ${HOSTED_MAX_INBOUND_BYTES / 1024 / 1024} MiB`,
} as const;

type InboundMessage = Pick<ForwardableEmailMessage, "from" | "to" | "headers" | "raw" | "rawSize" | "setReject">;

export type InboundOutcome =
  | { status: "rejected"; reason: keyof typeof REJECT }
  | { status: "stored" | "linked" | "duplicate"; mailboxId: string; threadId: string }
  | { status: "skipped"; mailboxId: string; reason: string }
  | { status: "removed"; mailboxId: string };

export async function handleHostedEmail(message: InboundMessage, env: Env): Promise<InboundOutcome> {
  const reject = async (reason: keyof typeof REJECT): Promise<InboundOutcome> => {
    log.info("hosted_mail_rejected", { reason, size: message.rawSize });
    // Awaited although typed void: where the message is an RPC stub (wrangler dev's local email
    // endpoint), the call is asynchronous and must land before the handler returns.
    await message.setReject(REJECT[reason]);
    return { status: "rejected", reason };
  };
  const domain = hostedDomain(env);
  if (!domain) return reject("disabled");
  const address = hostedRecipient(message.to, domain);
  if (!address) return reject("unknown");
  if (message.rawSize > HOSTED_MAX_INBOUND_BYTES) return reject("tooLarge");

  const db = drizzle(env.DB, { schema });
  const target = await db
    .select({
      accountId: hostedAddresses.accountId,
      mailboxId: hostedAddresses.mailboxId,
      released: hostedAddresses.releasedAt,
    })
    .from(hostedAddresses)
    .where(eq(hostedAddresses.address, address))
    .get();
  if (!target) return reject("unknown");
  const inbox = await db
    .select({ disconnectedAt: mailboxes.disconnectedAt })
    .from(mailboxes)
    .where(and(eq(mailboxes.accountId, target.accountId), eq(mailboxes.id, target.mailboxId)))
    .get();
  // A released address stays reserved: mail for its old owners is refused, never handed to new ones.
  if (target.released !== null || !inbox || inbox.disconnectedAt !== null) return reject("released");

  const raw = await readCapped(message.raw, HOSTED_MAX_INBOUND_BYTES);
  // The declared size is the platform's; the bytes are what counts.
  if (!raw) return reject("tooLarge");

  // Idempotency key of the copy: the Message-ID (a redelivery carries the same one), or the bytes.
  const messageId = normalizeMessageId(message.headers.get("message-id"));
  const providerMessageId = messageId ? `mid:${messageId}` : `sha256:${await digestHex(raw)}`;
  const outcome = await storeMessage(db, env.RAW_MAIL, {
    accountId: target.accountId,
    mailboxId: target.mailboxId,
    providerMessageId: providerMessageId.slice(0, 1000),
    providerThreadId: null,
    providerThreadReliable: false,
    labels: ["INBOX"],
    outbound: false,
    receivedAt: Date.now(),
    raw,
  });
  const mailbox = env.MAILBOX.getByName(target.mailboxId);
  if (outcome.status === "stored" || outcome.status === "linked") {
    await mailbox.hostedReceived([outcome.threadId]).catch((err: unknown) =>
      log.warn("live_notify_failed", {
        inboxId: target.mailboxId,
        error: err instanceof Error ? err.name : "unknown",
      }),
    );
  }
  if (outcome.status === "skipped") return { status: "skipped", mailboxId: target.mailboxId, reason: outcome.reason };
  if (outcome.status === "removed") return { status: "removed", mailboxId: target.mailboxId };
  return { status: outcome.status, mailboxId: target.mailboxId, threadId: outcome.threadId };
}

async function digestHex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The whole stream, or null as soon as it passes `max` bytes (the rest is never buffered). */
async function readCapped(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
