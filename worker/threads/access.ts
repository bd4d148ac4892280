/**
 * Which inboxes, and so which threads, a caller may use. Owners and admins reach every inbox of
 * their account; members and light users the inboxes they were given. A thread is visible when at
 * least one of its inboxes is; otherwise it answers exactly like a thread that does not exist.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { MailboxKind } from "../contracts";
import { inboxAccess, mailboxes, threadMailboxes, threads } from "../db/schema";
import { notFound } from "../errors";

export interface InboxRef {
  id: string;
  address: string;
  kind: MailboxKind;
}

/** Joins a mailbox row to the caller's grant to it, when there is one. */
export const grantOf = (userId: string) =>
  and(
    eq(inboxAccess.accountId, mailboxes.accountId),
    eq(inboxAccess.mailboxId, mailboxes.id),
    eq(inboxAccess.userId, userId),
  );

export async function usableInboxes(c: Context<AppEnv>): Promise<InboxRef[]> {
  const { accountId, userId, role } = c.var.principal;
  const everyInbox = role === "owner" || role === "admin";
  // One query either way: the account's inboxes, narrowed to the caller's grants unless they see all.
  const rows = await c.var.db
    .select({
      id: mailboxes.id,
      address: mailboxes.address,
      kind: mailboxes.kind,
      granted: sql<number>`${inboxAccess.userId} is not null`,
    })
    .from(mailboxes)
    .leftJoin(inboxAccess, grantOf(userId))
    .where(eq(mailboxes.accountId, accountId))
    .all();
  return rows.filter((r) => everyInbox || r.granted).map(({ id, address, kind }) => ({ id, address, kind }));
}

export type ThreadRow = typeof threads.$inferSelect;

/** The thread and the caller's inboxes it belongs to; 404 when there is none (or it is hidden and `hidden` is not allowed). */
export async function visibleThread(
  c: Context<AppEnv>,
  threadId: string,
  options: { includeHidden?: boolean } = {},
): Promise<{ thread: ThreadRow; inboxes: InboxRef[] }> {
  const { accountId } = c.var.principal;
  const thread = await c.var.db
    .select()
    .from(threads)
    .where(and(eq(threads.accountId, accountId), eq(threads.id, threadId)))
    .get();
  if (!thread || (thread.hiddenAt !== null && !options.includeHidden)) throw notFound("Conversation");
  const usable = await usableInboxes(c);
  if (usable.length === 0) throw notFound("Conversation");
  const linked = new Set(
    (
      await c.var.db
        .select({ mailboxId: threadMailboxes.mailboxId })
        .from(threadMailboxes)
        .where(
          and(
            eq(threadMailboxes.accountId, accountId),
            eq(threadMailboxes.threadId, threadId),
            // One bound parameter however many inboxes the caller has.
            sql`${threadMailboxes.mailboxId} in (select value from json_each(${JSON.stringify(usable.map((u) => u.id))}))`,
          ),
        )
        .all()
    ).map((r) => r.mailboxId),
  );
  const inboxes = usable.filter((u) => linked.has(u.id));
  if (inboxes.length === 0) throw notFound("Conversation");
  return { thread, inboxes };
}
