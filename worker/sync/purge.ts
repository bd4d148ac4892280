/**
 * Removes one mailbox's mail when an admin disconnects it and chooses to delete its conversations.
 * Messages and threads that another inbox of the account also holds stay (they are that inbox's mail
 * too); everything only this mailbox held goes, with its raw MIME and attachments in R2.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type * as schema from "../db/schema";
import {
  attachments,
  messageRefs,
  messageSources,
  messages,
  skippedItems,
  threadMailboxes,
  threads,
} from "../db/schema";

type Db = DrizzleD1Database<typeof schema>;
/** D1 allows 100 bound parameters per statement. */
const CHUNK = 50;

const chunks = <T>(list: T[]) =>
  Array.from({ length: Math.ceil(list.length / CHUNK) }, (_, i) => list.slice(i * CHUNK, (i + 1) * CHUNK));

export async function purgeMailboxMail(
  db: Db,
  bucket: R2Bucket,
  accountId: string,
  mailboxId: string,
): Promise<{ messages: number }> {
  const held = await db
    .select({ messageId: messageSources.messageId })
    .from(messageSources)
    .where(and(eq(messageSources.accountId, accountId), eq(messageSources.mailboxId, mailboxId)))
    .all();
  const touchedThreads = await db
    .select({ threadId: threadMailboxes.threadId })
    .from(threadMailboxes)
    .where(and(eq(threadMailboxes.accountId, accountId), eq(threadMailboxes.mailboxId, mailboxId)))
    .all();
  await db.batch([
    db
      .delete(messageSources)
      .where(and(eq(messageSources.accountId, accountId), eq(messageSources.mailboxId, mailboxId))),
    db
      .delete(threadMailboxes)
      .where(and(eq(threadMailboxes.accountId, accountId), eq(threadMailboxes.mailboxId, mailboxId))),
    db.delete(skippedItems).where(and(eq(skippedItems.accountId, accountId), eq(skippedItems.mailboxId, mailboxId))),
  ]);

  let removed = 0;
  for (const ids of chunks([...new Set(held.map((h) => h.messageId))])) {
    // Only messages no other inbox holds a copy of.
    const orphans = await db
      .select({ id: messages.id, rawKey: messages.rawKey })
      .from(messages)
      .where(
        and(
          eq(messages.accountId, accountId),
          inArray(messages.id, ids),
          sql`not exists (select 1 from message_sources s where s.account_id = ${accountId} and s.message_id = ${messages.id})`,
        ),
      )
      .all();
    if (orphans.length === 0) continue;
    const orphanIds = orphans.map((o) => o.id);
    const files = await db
      .select({ key: attachments.r2Key })
      .from(attachments)
      .where(and(eq(attachments.accountId, accountId), inArray(attachments.messageId, orphanIds)))
      .all();
    await bucket.delete([...orphans.map((o) => o.rawKey), ...files.map((f) => f.key)]);
    await db.batch([
      db
        .delete(attachments)
        .where(and(eq(attachments.accountId, accountId), inArray(attachments.messageId, orphanIds))),
      db
        .delete(messageRefs)
        .where(and(eq(messageRefs.accountId, accountId), inArray(messageRefs.messageId, orphanIds))),
      db.delete(messages).where(and(eq(messages.accountId, accountId), inArray(messages.id, orphanIds))),
    ]);
    removed += orphans.length;
  }

  for (const ids of chunks(touchedThreads.map((t) => t.threadId))) {
    await db.batch([
      db
        .delete(threads)
        .where(
          and(
            eq(threads.accountId, accountId),
            inArray(threads.id, ids),
            sql`not exists (select 1 from messages m where m.account_id = ${accountId} and m.thread_id = ${threads.id})`,
          ),
        ),
      db
        .update(threads)
        .set({
          messageCount: sql`(select count(*) from messages m where m.account_id = ${accountId} and m.thread_id = ${threads.id})`,
        })
        .where(and(eq(threads.accountId, accountId), inArray(threads.id, ids))),
    ]);
  }
  return { messages: removed };
}
