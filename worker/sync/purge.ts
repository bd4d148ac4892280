/**
 * Removes a mailbox's copies of messages: all of them when an admin disconnects the mailbox and
 * chooses to delete its conversations, or some of them when the mailbox itself deleted them (or moved
 * them to spam or trash). Messages and threads that another inbox of the account also holds stay
 * (they are that inbox's mail too); everything only this mailbox held goes, with its raw MIME and
 * attachments in R2, and the threads it touched are brought up to date.
 */
import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "../db/schema";
import {
  attachments,
  messageRefs,
  messageSources,
  messages,
  notes,
  removedCopies,
  skippedItems,
  threadMailboxes,
  threadReads,
  threadTags,
  threads,
} from "../db/schema";
import { messageSearch } from "../db/search-table";

type Db = DrizzleD1Database<typeof schema>;
/** D1 allows 100 bound parameters per statement. */
const CHUNK = 50;

const chunks = <T>(list: T[], size = CHUNK) =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/** Every copy the mailbox held, its skipped items too (disconnect with "delete conversations"). */
export async function purgeMailboxMail(
  db: Db,
  bucket: R2Bucket,
  accountId: string,
  mailboxId: string,
): Promise<{ messages: number }> {
  const mine = and(eq(messageSources.accountId, accountId), eq(messageSources.mailboxId, mailboxId))!;
  const removed = await removeCopies(db, bucket, accountId, mailboxId, mine);
  await db.batch([
    db.delete(skippedItems).where(and(eq(skippedItems.accountId, accountId), eq(skippedItems.mailboxId, mailboxId))),
    db.delete(removedCopies).where(and(eq(removedCopies.accountId, accountId), eq(removedCopies.mailboxId, mailboxId))),
  ]);
  return removed;
}

/** The copies the mailbox no longer has (deleted there, or moved to spam or trash), by provider id. */
export async function removeMailboxCopies(
  db: Db,
  bucket: R2Bucket,
  accountId: string,
  mailboxId: string,
  providerMessageIds: string[],
): Promise<{ messages: number; copies: number }> {
  // First, so that a fetch already under way cannot store a copy this removal misses.
  const now = Date.now();
  for (const ids of chunks([...new Set(providerMessageIds)], 20)) {
    await db
      .insert(removedCopies)
      .values(ids.map((providerMessageId) => ({ accountId, mailboxId, providerMessageId, removedAt: now })))
      .onConflictDoUpdate({
        target: [removedCopies.accountId, removedCopies.mailboxId, removedCopies.providerMessageId],
        set: { removedAt: now },
      });
  }
  let removedMessages = 0;
  let copies = 0;
  for (const ids of chunks([...new Set(providerMessageIds)])) {
    const which = and(
      eq(messageSources.accountId, accountId),
      eq(messageSources.mailboxId, mailboxId),
      inArray(messageSources.providerMessageId, ids),
    )!;
    const r = await removeCopies(db, bucket, accountId, mailboxId, which);
    removedMessages += r.messages;
    copies += r.copies;
  }
  return { messages: removedMessages, copies };
}

async function removeCopies(
  db: Db,
  bucket: R2Bucket,
  accountId: string,
  mailboxId: string,
  which: SQL,
): Promise<{ messages: number; copies: number }> {
  const held = await db
    .select({ messageId: messageSources.messageId, threadId: messages.threadId })
    .from(messageSources)
    .leftJoin(
      messages,
      and(eq(messages.accountId, messageSources.accountId), eq(messages.id, messageSources.messageId)),
    )
    .where(which)
    .all();
  if (held.length === 0) return { messages: 0, copies: 0 };
  await db.delete(messageSources).where(which);

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
      // Before the messages: their rows name the search rows to remove.
      db.delete(messageSearch).where(
        inArray(
          messageSearch.rowid,
          db
            .select({ rowid: messages.searchRowid })
            .from(messages)
            .where(and(eq(messages.accountId, accountId), inArray(messages.id, orphanIds))),
        ),
      ),
      db.delete(messages).where(and(eq(messages.accountId, accountId), inArray(messages.id, orphanIds))),
    ]);
    removed += orphans.length;
  }

  const touched = [...new Set(held.map((h) => h.threadId).filter((t): t is string => t !== null))];
  for (const ids of chunks(touched)) await refreshThreads(db, accountId, mailboxId, ids);
  return { messages: removed, copies: held.length };
}

/** After copies went away: the mailbox's link to each thread, and each thread's counts, time and snippet. */
async function refreshThreads(db: Db, accountId: string, mailboxId: string, ids: string[]): Promise<void> {
  const mailboxStillHolds = sql`exists (select 1 from message_sources s join messages m on m.account_id = s.account_id and m.id = s.message_id
    where s.account_id = ${accountId} and s.mailbox_id = ${mailboxId} and m.thread_id = ${threadMailboxes.threadId})`;
  await db.batch([
    db
      .delete(threadMailboxes)
      .where(
        and(
          eq(threadMailboxes.accountId, accountId),
          eq(threadMailboxes.mailboxId, mailboxId),
          inArray(threadMailboxes.threadId, ids),
          sql`not ${mailboxStillHolds}`,
        ),
      ),
    db
      .update(threadMailboxes)
      .set({
        lastMessageAt: sql`(select max(s.received_at) from message_sources s join messages m on m.account_id = s.account_id and m.id = s.message_id
          where s.account_id = ${accountId} and s.mailbox_id = ${mailboxId} and m.thread_id = ${threadMailboxes.threadId})`,
      })
      .where(
        and(
          eq(threadMailboxes.accountId, accountId),
          eq(threadMailboxes.mailboxId, mailboxId),
          inArray(threadMailboxes.threadId, ids),
        ),
      ),
    db
      .delete(threads)
      .where(
        and(
          eq(threads.accountId, accountId),
          inArray(threads.id, ids),
          sql`not exists (select 1 from messages m where m.account_id = ${accountId} and m.thread_id = ${threads.id})`,
        ),
      ),
    // What the team said about a conversation that no longer exists goes with it.
    ...[notes, threadTags, threadReads].map((t) =>
      db
        .delete(t)
        .where(
          and(
            eq(t.accountId, accountId),
            inArray(t.threadId, ids),
            sql`not exists (select 1 from threads x where x.account_id = ${accountId} and x.id = ${t.threadId})`,
          ),
        ),
    ),
    db
      .update(threads)
      .set({
        messageCount: sql`(select count(*) from messages m where m.account_id = ${accountId} and m.thread_id = ${threads.id})`,
        lastMessageAt: sql`coalesce((select max(m.received_at) from messages m where m.account_id = ${accountId} and m.thread_id = ${threads.id}), ${threads.lastMessageAt})`,
        snippet: sql`coalesce((select m.snippet from messages m where m.account_id = ${accountId} and m.thread_id = ${threads.id} order by m.received_at desc limit 1), '')`,
      })
      .where(and(eq(threads.accountId, accountId), inArray(threads.id, ids))),
  ]);
}

/** What sync calls when the mailbox no longer has some copies: nothing happens for an empty list. */
export async function forgetGoneCopies(
  env: Pick<Env, "DB" | "RAW_MAIL">,
  who: { accountId: string; mailboxId: string },
  providerMessageIds: string[],
): Promise<void> {
  if (providerMessageIds.length === 0) return;
  await removeMailboxCopies(
    drizzle(env.DB, { schema }),
    env.RAW_MAIL,
    who.accountId,
    who.mailboxId,
    providerMessageIds,
  );
}
