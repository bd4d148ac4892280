/**
 * GET /api/inboxes/:inboxId/threads — the threads of one inbox the caller may use, newest activity
 * first, keyset-paginated on (last activity, thread id) so pages never skip or repeat a thread.
 */
import { and, asc, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { idSchema, threadListQuery, type MessageView, type ThreadSummaryView, type ThreadView } from "../contracts";
import { attachments, inboxAccess, mailboxes, messages, threadMailboxes, threads } from "../db/schema";
import { notFound } from "../errors";
import { requireSession } from "../middleware/session";
import { z } from "zod";
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

const threadParam = z.object({ threadId: idSchema });
const parseList = (json: string) => JSON.parse(json) as { name: string; address: string }[];

/**
 * GET /api/threads/:threadId — one conversation with every message, for someone who may use at least
 * one inbox it belongs to. Otherwise it answers exactly like a thread that does not exist.
 */
export const threadDetailRoutes = new Hono<AppEnv>()
  .use(requireSession)
  .get("/:threadId", validate("param", threadParam), async (c) => {
    const { accountId, userId, role } = c.var.principal;
    const { threadId } = c.req.valid("param");
    const thread = await c.var.db
      .select()
      .from(threads)
      .where(and(eq(threads.accountId, accountId), eq(threads.id, threadId)))
      .get();
    if (!thread) throw notFound("Conversation");
    const inboxRows = await c.var.db
      .select({ id: mailboxes.id, address: mailboxes.address, kind: mailboxes.kind })
      .from(threadMailboxes)
      .innerJoin(
        mailboxes,
        and(eq(mailboxes.accountId, threadMailboxes.accountId), eq(mailboxes.id, threadMailboxes.mailboxId)),
      )
      .where(and(eq(threadMailboxes.accountId, accountId), eq(threadMailboxes.threadId, threadId)))
      .all();
    let visible = inboxRows;
    if (role !== "owner" && role !== "admin") {
      const granted = new Set(
        (
          await c.var.db
            .select({ mailboxId: inboxAccess.mailboxId })
            .from(inboxAccess)
            .where(and(eq(inboxAccess.accountId, accountId), eq(inboxAccess.userId, userId)))
            .all()
        ).map((g) => g.mailboxId),
      );
      visible = inboxRows.filter((i) => granted.has(i.id));
    }
    if (visible.length === 0) throw notFound("Conversation");

    const rows = await c.var.db
      .select()
      .from(messages)
      .where(and(eq(messages.accountId, accountId), eq(messages.threadId, threadId)))
      .orderBy(asc(messages.receivedAt), asc(messages.id))
      .all();
    const files = rows.length
      ? await c.var.db
          .select()
          .from(attachments)
          .where(
            and(
              eq(attachments.accountId, accountId),
              inArray(attachments.messageId, rows.map((r) => r.id).slice(0, 90)),
            ),
          )
          .all()
      : [];
    const list: MessageView[] = rows.map((m) => ({
      id: m.id,
      from: m.fromAddress ? { name: m.fromName, address: m.fromAddress } : null,
      to: parseList(m.to),
      cc: parseList(m.cc),
      subject: m.subject,
      sentAt: m.sentAt,
      receivedAt: m.receivedAt,
      text: m.textBody,
      hasHtml: m.hasHtml,
      isAutomated: m.isAutomated,
      isBounce: m.isBounce,
      attachments: files
        .filter((f) => f.messageId === m.id)
        .map((f) => ({
          id: f.id,
          filename: f.filename,
          mimeType: f.mimeType,
          sizeBytes: f.sizeBytes,
          inline: f.inline,
        })),
    }));
    const view: ThreadView = { id: thread.id, subject: thread.subject, inboxes: visible, messages: list };
    return c.json(view);
  });
