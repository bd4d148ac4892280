/**
 * Processes one backfill batch: leases a token and quota permits from the mailbox's DO (the refresh
 * token never leaves it), fetches each message not stored yet, and stores it. Throttling and outages
 * send the message back to the queue with a delay; the rest of the batch is never lost.
 */
import { and, eq, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { BackfillLease, MailboxDO } from "../../durable-objects/mailbox/MailboxDO";
import { fetchAndStoreGmail } from "../../durable-objects/mailbox/gmail-sync";
import { fetchAndStoreGraph } from "../../durable-objects/mailbox/graph-sync";
import * as schema from "../db/schema";
import { messageSources } from "../db/schema";
import { log } from "../lib/log";
import { GmailClient } from "../providers/gmail";
import { GraphClient } from "../providers/graph";
import type { QueueMessage } from "../queue/messages";

/** Gmail charges 20 units for messages.get under the current quota model. */
export const GMAIL_GET_UNITS = 20;
/** Waiting longer than this inside a consumer wastes its invocation; hand the batch back instead. */
const MAX_INLINE_WAIT_MS = 5_000;

export class RetryLater extends Error {
  constructor(readonly delaySeconds: number) {
    super(`retry in ${delaySeconds}s`);
    this.name = "RetryLater";
  }
}

type BackfillBatch = Extract<QueueMessage, { kind: "backfill.batch" }>;

export async function handleBackfillBatch(msg: BackfillBatch, env: Env): Promise<void> {
  const stub = env.MAILBOX.getByName(msg.mailboxId);
  const lease = await stub.backfillLease(msg.accountId, msg.mailboxId);
  if (!lease.ok) {
    if (lease.reason === "not_this_mailbox") {
      // Forged or stale: the message names an account this mailbox does not belong to.
      log.warn("backfill_refused", { mailboxId: msg.mailboxId });
      return;
    }
    // The grant is broken: the DO restarts the backfill after a reconnect, so nothing is lost by stopping here.
    await stub.backfillInterrupted();
    return;
  }
  if (lease.provider === "microsoft") return handleGraphBatch(msg, env, lease);

  const known = await knownIds(env, msg);
  const gmail = new GmailClient(lease.apiBase, lease.accessToken);
  const who = { accountId: msg.accountId, mailboxId: msg.mailboxId };
  const touched: string[] = [];
  for (const id of msg.providerIds) {
    if (known.has(id)) continue;
    const { waitMs } = await stub.acquirePermits(GMAIL_GET_UNITS);
    if (waitMs > MAX_INLINE_WAIT_MS) throw new RetryLater(Math.ceil(waitMs / 1000));
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    const result = await fetchAndStoreGmail(env, gmail, who, id, lease.scope);
    if (!result.ok) {
      const f = result.failure;
      if (f.kind === "rate_limited") {
        await stub.throttled(f.retryAfterMs);
        throw new RetryLater(Math.ceil((f.retryAfterMs ?? 10_000) / 1000));
      }
      if (f.kind === "auth") {
        // The access token was refused: drop it so the next lease refreshes (and learns whether the grant still stands).
        await stub.accessTokenRejected();
        throw new RetryLater(5);
      }
      throw new Error(`gmail ${f.kind} (${f.status})`);
    }
    if (result.threadId) touched.push(result.threadId);
  }
  // Open views of the inbox refresh; the batch is done either way.
  if (touched.length > 0) await stub.threadsChanged(touched, "message").catch(() => undefined);
  await stub.reportBackfill(msg.providerIds.length);
}

async function knownIds(env: Env, msg: BackfillBatch): Promise<Set<string>> {
  const db = drizzle(env.DB, { schema });
  return new Set(
    (
      await db
        .select({ id: messageSources.providerMessageId })
        .from(messageSources)
        .where(
          and(
            eq(messageSources.accountId, msg.accountId),
            eq(messageSources.mailboxId, msg.mailboxId),
            inArray(messageSources.providerMessageId, msg.providerIds),
          ),
        )
        .all()
    ).map((r) => r.id),
  );
}

/** A message resource read and its MIME: two requests under one permit. */
const GRAPH_REQUESTS_PER_MESSAGE = 2;

/**
 * The Graph side: each message takes one of the mailbox's Graph permits (Graph allows 4 requests in
 * flight per mailbox, and the DO's own sync uses the same pool), so consumers never cause the 429s
 * they would then have to wait out.
 */
async function handleGraphBatch(
  msg: BackfillBatch,
  env: Env,
  lease: Extract<BackfillLease, { provider: "microsoft" }>,
): Promise<void> {
  const stub = env.MAILBOX.getByName(msg.mailboxId);
  const known = await knownIds(env, msg);
  const graph = new GraphClient(lease.apiBase, lease.accessToken, lease.mailbox);
  const who = { accountId: msg.accountId, mailboxId: msg.mailboxId };
  const touched: string[] = [];
  for (const id of msg.providerIds) {
    if (known.has(id)) continue;
    const permitId = await graphPermit(stub);
    let result: Awaited<ReturnType<typeof fetchAndStoreGraph>>;
    try {
      result = await fetchAndStoreGraph(env, graph, who, id, lease.folders);
    } finally {
      await stub.releaseGraphPermit(permitId);
    }
    if (!result.ok) {
      const f = result.failure;
      if (f.kind === "rate_limited") {
        await stub.throttled(f.retryAfterMs);
        throw new RetryLater(Math.ceil((f.retryAfterMs ?? 10_000) / 1000));
      }
      if (f.kind === "auth") {
        await stub.accessTokenRejected();
        throw new RetryLater(5);
      }
      throw new Error(`graph ${f.kind} (${f.status})`);
    }
    if (result.threadId) touched.push(result.threadId);
  }
  if (touched.length > 0) await stub.threadsChanged(touched, "message").catch(() => undefined);
  await stub.reportBackfill(msg.providerIds.length);
}

async function graphPermit(stub: DurableObjectStub<MailboxDO>): Promise<string> {
  for (let waited = 0; ;) {
    const p = await stub.graphPermit(GRAPH_REQUESTS_PER_MESSAGE);
    if (p.ok) return p.permitId;
    if (waited + p.waitMs > MAX_INLINE_WAIT_MS) throw new RetryLater(Math.max(1, Math.ceil(p.waitMs / 1000)));
    await new Promise((r) => setTimeout(r, p.waitMs));
    waited += p.waitMs;
  }
}
