/**
 * GET /api/inboxes/:inboxId/threads — the threads of one inbox the caller may use, newest activity
 * first, keyset-paginated on (last activity, thread id) so pages never skip or repeat a thread.
 */
import { and, desc, eq, lt, or, sql } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { threadListQuery, type ThreadSummaryView } from "../contracts";
import { threadMailboxes, threads } from "../db/schema";
import { validate } from "../lib/validate";
import { requireInboxAccess } from "../middleware/inbox-access";

export const threadRoutes = new Hono<AppEnv>().get(
  "/:inboxId/threads",
  requireInboxAccess,
  validate("query", threadListQuery),
  async (c) => {
    const { accountId } = c.var.principal;
    const inboxId = c.req.param("inboxId");
    const { cursor, limit } = c.req.valid("query");
    const filters = [eq(threadMailboxes.accountId, accountId), eq(threadMailboxes.mailboxId, inboxId)];
    if (cursor) {
      const [ms, id] = cursor.split(".") as [string, string];
      const at = Number(ms);
      filters.push(
        or(
          lt(threadMailboxes.lastMessageAt, at),
          and(eq(threadMailboxes.lastMessageAt, at), lt(threadMailboxes.threadId, id)),
        )!,
      );
    }
    const rows = await c.var.db
      .select({
        id: threads.id,
        subject: threads.subject,
        snippet: threads.snippet,
        messageCount: threads.messageCount,
        lastMessageAt: threadMailboxes.lastMessageAt,
        fromName: sql<
          string | null
        >`(select m.from_name from messages m where m.account_id = ${accountId} and m.thread_id = ${threads.id} order by m.received_at desc limit 1)`,
        fromAddress: sql<
          string | null
        >`(select m.from_address from messages m where m.account_id = ${accountId} and m.thread_id = ${threads.id} order by m.received_at desc limit 1)`,
      })
      .from(threadMailboxes)
      .innerJoin(
        threads,
        and(eq(threads.accountId, threadMailboxes.accountId), eq(threads.id, threadMailboxes.threadId)),
      )
      .where(and(...filters))
      .orderBy(desc(threadMailboxes.lastMessageAt), desc(threadMailboxes.threadId))
      .limit(limit)
      .all();
    const list: ThreadSummaryView[] = rows.map((r) => ({
      id: r.id,
      subject: r.subject,
      snippet: r.snippet,
      lastMessageAt: r.lastMessageAt,
      messageCount: r.messageCount,
      from: r.fromAddress ? { name: r.fromName ?? "", address: r.fromAddress } : null,
    }));
    const last = rows.at(-1);
    return c.json({
      threads: list,
      nextCursor: rows.length === limit && last ? `${last.lastMessageAt}.${last.id}` : null,
    });
  },
);
