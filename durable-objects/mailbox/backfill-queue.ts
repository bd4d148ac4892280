/** Puts provider message ids on the backfill queue: one shape and one batch size for every provider. */
import type { QueueMessage } from "../../worker/queue/messages";

/** Ids per queue message: small enough to finish well inside a consumer invocation. */
export const BACKFILL_BATCH = 25;
/** Queue.sendBatch takes at most 100 messages. */
const SEND_BATCH_MAX = 100;

export async function enqueueBackfill(
  queue: Queue,
  who: { accountId: string; mailboxId: string },
  ids: string[],
): Promise<void> {
  const messages: MessageSendRequest<QueueMessage>[] = [];
  for (let i = 0; i < ids.length; i += BACKFILL_BATCH) {
    messages.push({
      body: {
        kind: "backfill.batch",
        accountId: who.accountId,
        mailboxId: who.mailboxId,
        providerIds: ids.slice(i, i + BACKFILL_BATCH),
      },
    });
  }
  for (let i = 0; i < messages.length; i += SEND_BATCH_MAX)
    await queue.sendBatch(messages.slice(i, i + SEND_BATCH_MAX));
}
