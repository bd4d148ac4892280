/**
 * The one idempotent path every synced (and later hosted) message takes into storage: raw MIME to
 * R2, then the message, its thread and its mailbox copy to D1. Running it twice for the same copy,
 * or for the same RFC message seen in two mailboxes, never stores anything twice.
 */
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import {
  attachments,
  messageRefs,
  messageSources,
  messages,
  removedCopies,
  skippedItems,
  threadMailboxes,
  threads,
} from "../db/schema";
import type * as schema from "../db/schema";
import { nextThreadSeq } from "../db/search-table";
import { newId } from "../lib/ids";
import { parseMail, type ParsedMail } from "../mail/parse";
import { searchIndexStatements } from "../search/index-message";

type Db = DrizzleD1Database<typeof schema>;

export interface IncomingCopy {
  accountId: string;
  mailboxId: string;
  providerMessageId: string;
  /** Gmail threadId or Graph conversationId, when the provider has one. */
  providerThreadId: string | null;
  /** Whether the provider's thread id can be trusted to group (Graph groups by subject alone without Thread-Index). */
  providerThreadReliable: boolean;
  labels: string[];
  outbound: boolean;
  /** When the provider accepted the message (Gmail internalDate, Graph receivedDateTime). */
  receivedAt: number;
  raw: Uint8Array;
}

export type StoreOutcome =
  | { status: "stored" | "linked" | "duplicate"; messageId: string; threadId: string }
  | { status: "skipped"; reason: string; detail: string }
  /** The mailbox removed this copy after the fetch began (see removed-copies.ts): not stored. */
  | { status: "removed" };

export const rawKey = (c: Pick<IncomingCopy, "accountId" | "mailboxId" | "providerMessageId">) =>
  `raw/${c.accountId}/${c.mailboxId}/${encodeURIComponent(c.providerMessageId)}.eml`;

export async function storeMessage(db: Db, bucket: R2Bucket, copy: IncomingCopy): Promise<StoreOutcome> {
  const known = await db
    .select({ messageId: messageSources.messageId, threadId: messages.threadId })
    .from(messageSources)
    .innerJoin(
      messages,
      and(eq(messages.accountId, messageSources.accountId), eq(messages.id, messageSources.messageId)),
    )
    .where(
      and(
        eq(messageSources.accountId, copy.accountId),
        eq(messageSources.mailboxId, copy.mailboxId),
        eq(messageSources.providerMessageId, copy.providerMessageId),
      ),
    )
    .get();
  if (known) return { status: "duplicate", ...known };
  const removed = await db
    .select({ at: removedCopies.removedAt })
    .from(removedCopies)
    .where(
      and(
        eq(removedCopies.accountId, copy.accountId),
        eq(removedCopies.mailboxId, copy.mailboxId),
        eq(removedCopies.providerMessageId, copy.providerMessageId),
      ),
    )
    .get();
  if (removed) return { status: "removed" };

  const parsed = await parseMail(copy.raw);
  if (!parsed.ok) {
    await recordSkipped(db, copy, parsed.reason, parsed.detail);
    return { status: "skipped", reason: parsed.reason, detail: parsed.detail };
  }
  const mail = parsed.mail;
  const rfcId = mail.messageId ?? `synthetic.${copy.mailboxId}.${copy.providerMessageId}@postroom.invalid`;

  const existing = await messageByRfcId(db, copy.accountId, rfcId);
  if (existing) {
    // A first attempt that stopped between storing the message and indexing it is finished here.
    if (existing.searchRowid === null) await db.batch(searchStatements(db, copy, existing.id, existing.threadId, mail));
    await linkCopy(db, copy, existing.id, existing.threadId);
    return { status: "linked", messageId: existing.id, threadId: existing.threadId };
  }

  const key = rawKey(copy);
  await bucket.put(key, copy.raw, { httpMetadata: { contentType: "message/rfc822" } });

  const found = await findThread(db, copy, mail, rfcId);
  const threadId = found ?? newId();
  const messageId = newId();
  const now = Date.now();
  const insertMessage = db
    .insert(messages)
    .values({
      id: messageId,
      accountId: copy.accountId,
      threadId,
      rfcMessageId: rfcId,
      inReplyTo: mail.inReplyTo,
      references: JSON.stringify(mail.references),
      subject: mail.subject,
      fromName: mail.from?.name ?? "",
      fromAddress: mail.from?.address ?? "",
      to: JSON.stringify(mail.to),
      cc: JSON.stringify(mail.cc),
      replyTo: JSON.stringify(mail.replyTo),
      sentAt: mail.sentAt,
      receivedAt: copy.receivedAt,
      snippet: mail.snippet,
      textBody: mail.text,
      hasHtml: mail.html !== null,
      sizeBytes: copy.raw.byteLength,
      rawKey: key,
      isAutomated: mail.isAutomated,
      isBounce: mail.isBounce,
      attachmentCount: mail.attachments.length,
      createdAt: now,
    })
    .onConflictDoNothing();
  if (found) {
    await insertMessage;
  } else {
    // One transaction: a new thread never exists without its first message.
    await db.batch([
      db.insert(threads).values({
        id: threadId,
        accountId: copy.accountId,
        subject: mail.subject,
        lastMessageAt: copy.receivedAt,
        createdAt: now,
        // Written in the same statement, so two new threads can never take the same number.
        seq: nextThreadSeq(copy.accountId),
      }),
      insertMessage,
    ]);
  }

  // Another writer may have stored the same RFC message a moment earlier: then ours is a copy of it.
  const winner = await messageByRfcId(db, copy.accountId, rfcId);
  if (!winner) throw new Error("message vanished after insert");
  if (winner.id !== messageId) {
    if (!found)
      await db
        .delete(threads)
        .where(and(eq(threads.accountId, copy.accountId), eq(threads.id, threadId), eq(threads.messageCount, 0)));
    await linkCopy(db, copy, winner.id, winner.threadId);
    return { status: "linked", messageId: winner.id, threadId: winner.threadId };
  }

  await storeAttachments(db, bucket, copy.accountId, messageId, mail);
  const [, , bumped] = await db.batch([
    ...searchStatements(db, copy, messageId, threadId, mail),
    // A new message makes replies composed before it stale; one from outside reopens a closed or
    // snoozed conversation.
    db
      .update(threads)
      .set({
        version: sql`${threads.version} + 1`,
        ...(copy.outbound
          ? {}
          : {
              status: sql`case when ${threads.status} in ('closed', 'snoozed') then 'open' else ${threads.status} end`,
              snoozedUntil: sql`case when ${threads.status} in ('closed', 'snoozed') then null else ${threads.snoozedUntil} end`,
            }),
      })
      .where(and(eq(threads.accountId, copy.accountId), eq(threads.id, threadId)))
      .returning({ version: threads.version }),
  ]);
  const version = bumped[0]?.version;
  if (version !== undefined) {
    await db
      .update(messages)
      .set({ threadVersion: version })
      .where(and(eq(messages.accountId, copy.accountId), eq(messages.id, messageId)));
  }
  const refIds = [...new Set([...mail.references, ...(mail.inReplyTo ? [mail.inReplyTo] : [])])];
  const [firstRef, ...moreRefs] = refIds.map((refId) =>
    db.insert(messageRefs).values({ accountId: copy.accountId, refId, messageId }).onConflictDoNothing(),
  );
  if (firstRef) await db.batch([firstRef, ...moreRefs]);
  await linkCopy(db, copy, messageId, threadId);
  return { status: "stored", messageId, threadId };
}

function searchStatements(db: Db, copy: IncomingCopy, messageId: string, threadId: string, mail: ParsedMail) {
  return searchIndexStatements(db, {
    accountId: copy.accountId,
    messageId,
    threadId,
    subject: mail.subject,
    participants: participantsText(mail),
    body: mail.text,
  });
}

/** "Name <address>" of every sender and recipient, for search. */
function participantsText(mail: ParsedMail): string {
  const all = [...(mail.from ? [mail.from] : []), ...mail.to, ...mail.cc];
  return all.map((p) => (p.name ? `${p.name} <${p.address}>` : p.address)).join(", ");
}

function messageByRfcId(db: Db, accountId: string, rfcId: string) {
  return db
    .select({ id: messages.id, threadId: messages.threadId, searchRowid: messages.searchRowid })
    .from(messages)
    .where(and(eq(messages.accountId, accountId), eq(messages.rfcMessageId, rfcId)))
    .get();
}

/**
 * Which existing thread a new message joins: its parents (References / In-Reply-To), then its
 * children that arrived first, then the provider's own thread id within the same mailbox.
 */
async function findThread(db: Db, copy: IncomingCopy, mail: ParsedMail, rfcId: string): Promise<string | null> {
  const parents = [...mail.references, ...(mail.inReplyTo ? [mail.inReplyTo] : [])].slice(-50);
  if (parents.length > 0) {
    const rows = await db
      .select({ threadId: messages.threadId, rfc: messages.rfcMessageId })
      .from(messages)
      .where(and(eq(messages.accountId, copy.accountId), inArray(messages.rfcMessageId, parents)))
      .all();
    // The nearest parent wins: the last reference that is known.
    for (const id of [...parents].reverse()) {
      const hit = rows.find((r) => r.rfc === id);
      if (hit) return hit.threadId;
    }
  }
  const child = await db
    .select({ threadId: messages.threadId })
    .from(messageRefs)
    .innerJoin(messages, and(eq(messages.accountId, messageRefs.accountId), eq(messages.id, messageRefs.messageId)))
    .where(and(eq(messageRefs.accountId, copy.accountId), eq(messageRefs.refId, rfcId)))
    .get();
  if (child) return child.threadId;
  const trustProvider = copy.providerThreadReliable || parents.length > 0 || mail.headers.has("thread-index");
  if (copy.providerThreadId && trustProvider) {
    const sibling = await db
      .select({ threadId: messages.threadId })
      .from(messageSources)
      .innerJoin(
        messages,
        and(eq(messages.accountId, messageSources.accountId), eq(messages.id, messageSources.messageId)),
      )
      .where(
        and(
          eq(messageSources.accountId, copy.accountId),
          eq(messageSources.mailboxId, copy.mailboxId),
          eq(messageSources.providerThreadId, copy.providerThreadId),
        ),
      )
      .orderBy(desc(messages.receivedAt))
      .get();
    if (sibling) return sibling.threadId;
  }
  return null;
}

/** Records the mailbox's copy and refreshes the thread's figures from its messages (so a retry cannot skew them). */
async function linkCopy(db: Db, copy: IncomingCopy, messageId: string, threadId: string): Promise<void> {
  const a = copy.accountId;
  await db.batch([
    // A placeholder for mail we sent (Graph's sendMail returns no id) gives way to the synced copy.
    db
      .delete(messageSources)
      .where(
        and(
          eq(messageSources.accountId, a),
          eq(messageSources.mailboxId, copy.mailboxId),
          eq(messageSources.messageId, messageId),
          sql`${messageSources.providerMessageId} like 'sent:%'`,
          sql`${messageSources.providerMessageId} != ${copy.providerMessageId}`,
        ),
      ),
    db
      .insert(messageSources)
      .values({
        accountId: a,
        mailboxId: copy.mailboxId,
        providerMessageId: copy.providerMessageId,
        messageId,
        providerThreadId: copy.providerThreadId,
        labels: JSON.stringify(copy.labels),
        outbound: copy.outbound,
        receivedAt: copy.receivedAt,
        createdAt: Date.now(),
      })
      .onConflictDoNothing(),
    db
      .insert(threadMailboxes)
      .values({ accountId: a, threadId, mailboxId: copy.mailboxId, lastMessageAt: copy.receivedAt })
      .onConflictDoUpdate({
        target: [threadMailboxes.accountId, threadMailboxes.threadId, threadMailboxes.mailboxId],
        set: { lastMessageAt: sql`max(${threadMailboxes.lastMessageAt}, excluded.last_message_at)` },
      }),
    db
      .update(threads)
      .set({
        messageCount: sql`(select count(*) from messages m where m.account_id = ${a} and m.thread_id = ${threadId})`,
        lastMessageAt: sql`coalesce((select max(m.received_at) from messages m where m.account_id = ${a} and m.thread_id = ${threadId}), ${threads.lastMessageAt})`,
        snippet: sql`coalesce((select m.snippet from messages m where m.account_id = ${a} and m.thread_id = ${threadId} order by m.received_at desc limit 1), '')`,
      })
      .where(and(eq(threads.accountId, a), eq(threads.id, threadId))),
  ]);
}

async function storeAttachments(db: Db, bucket: R2Bucket, accountId: string, messageId: string, mail: ParsedMail) {
  for (const [i, att] of mail.attachments.entries()) {
    const key = `att/${accountId}/${messageId}/${i}`;
    await bucket.put(key, att.content, {
      httpMetadata: { contentType: att.mimeType, contentDisposition: "attachment" },
    });
    await db
      .insert(attachments)
      .values({
        id: `${messageId}-${i}`,
        accountId,
        messageId,
        filename: att.filename,
        mimeType: att.mimeType,
        sizeBytes: att.content.byteLength,
        contentId: att.contentId,
        inline: att.inline,
        r2Key: key,
      })
      .onConflictDoNothing();
  }
}

export async function recordSkipped(
  db: Db,
  copy: Pick<IncomingCopy, "accountId" | "mailboxId" | "providerMessageId">,
  reason: string,
  detail: string,
): Promise<void> {
  await db
    .insert(skippedItems)
    .values({
      accountId: copy.accountId,
      mailboxId: copy.mailboxId,
      providerMessageId: copy.providerMessageId,
      reason,
      detail: detail.slice(0, 500),
      createdAt: Date.now(),
    })
    .onConflictDoUpdate({
      target: [skippedItems.accountId, skippedItems.mailboxId, skippedItems.providerMessageId],
      set: { reason, detail: detail.slice(0, 500) },
    });
}
