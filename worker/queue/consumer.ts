import { drizzle } from "drizzle-orm/d1";
import { deadLetters } from "../db/schema";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import { handleBackfillBatch, RetryLater } from "../sync/backfill-consumer";
import { recordSkipped } from "../sync/store-message";
import * as schema from "../db/schema";
import { backfillBatchMessage, queueMessage, type QueueMessage } from "./messages";

/** What each kind of queue message does; the sync engine registers the backfill handler here. */
export type QueueHandlers = {
  [K in QueueMessage["kind"]]?: (msg: Extract<QueueMessage, { kind: K }>, env: Env) => Promise<void>;
};

export const queueHandlers: QueueHandlers = { "backfill.batch": handleBackfillBatch };

/**
 * Per-message ack/retry: one failing message never holds back the rest of its batch. Messages that
 * cannot be parsed, or that nothing handles yet, are retried until the queue moves them to the
 * dead-letter queue, where they stay inspectable instead of being dropped.
 */
export async function handleQueueBatch(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
  if (batch.queue.endsWith("-dlq")) return keepDeadLetters(batch, env);
  for (const message of batch.messages) {
    const parsed = queueMessage.safeParse(message.body);
    if (!parsed.success) {
      log.warn("queue_message_invalid", { queue: batch.queue, id: message.id, issues: parsed.error.issues.length });
      message.retry();
      continue;
    }
    const handler = queueHandlers[parsed.data.kind];
    if (!handler) {
      message.retry();
      continue;
    }
    try {
      await handler(parsed.data, env);
      message.ack();
    } catch (err) {
      if (err instanceof RetryLater) {
        message.retry({ delaySeconds: err.delaySeconds });
        continue;
      }
      log.warn("queue_message_failed", { queue: batch.queue, id: message.id, attempts: message.attempts, error: err });
      message.retry({ delaySeconds: Math.min(300, 2 ** message.attempts + Math.floor(Math.random() * 5)) });
    }
  }
}

/** Dead letters are written to D1 (idempotently, by queue message id) before they are acked. */
async function keepDeadLetters(batch: MessageBatch, env: Env): Promise<void> {
  const db = drizzle(env.DB);
  for (const message of batch.messages) {
    const body = message.body as { accountId?: unknown } | null;
    const accountId = body && typeof body.accountId === "string" ? body.accountId : null;
    await db
      .insert(deadLetters)
      .values({
        id: newId(),
        accountId,
        queue: batch.queue,
        messageId: message.id,
        body: JSON.stringify(message.body ?? null).slice(0, 16_000),
        attempts: message.attempts,
        createdAt: Date.now(),
      })
      .onConflictDoNothing();
    // A backfill batch that exhausted its retries: its messages are reported on the mailbox as
    // skipped, and the mailbox's progress still moves so the backfill can finish.
    const backfill = backfillBatchMessage.safeParse(message.body);
    if (backfill.success) {
      const b = backfill.data;
      const sdb = drizzle(env.DB, { schema });
      for (const providerMessageId of b.providerIds) {
        await recordSkipped(
          sdb,
          { accountId: b.accountId, mailboxId: b.mailboxId, providerMessageId },
          "fetch_failed",
          "gave up after repeated failures",
        );
      }
      await env.MAILBOX.getByName(b.mailboxId).reportBackfill(b.providerIds.length);
    }
    log.warn("queue_dead_letter", { queue: batch.queue, id: message.id, attempts: message.attempts });
    message.ack();
  }
}
