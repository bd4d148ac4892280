/**
 * Reading conversations: the thread list of one inbox (GET /api/inboxes/:inboxId/threads), of every
 * inbox the caller may use or of what is assigned to them (GET /api/threads), and one conversation
 * with its messages, notes, status, assignee and tags (GET /api/threads/:threadId).
 */
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { allThreadsQuery, idSchema, threadListQuery, type ThreadView } from "../contracts";
import { threadReads } from "../db/schema";
import { auditInsert } from "../lib/audit";
import { validate } from "../lib/validate";
import { requireInboxAccess } from "../middleware/inbox-access";
import { usableInboxes, visibleThread } from "../threads/access";
import { teammatesFor, threadCollaboration } from "../threads/collaboration";
import { threadMessages } from "../threads/messages";
import { listThreads } from "../threads/list";

export const threadRoutes = new Hono<AppEnv>().get(
  "/:inboxId/threads",
  requireInboxAccess,
  validate("query", threadListQuery),
  async (c) => {
    const p = c.var.principal;
    const q = c.req.valid("query");
    const inbox = c.var.inbox;
    return c.json(await listThreads(c.env.DB, p, { ...listFilters(q), inboxIds: [inbox.id], inboxNames: [inbox] }));
  },
);

/** The list filters from a validated query, as the list module takes them. */
function listFilters(q: z.infer<typeof threadListQuery>) {
  return {
    limit: q.limit,
    ...(q.cursor ? { cursor: q.cursor } : {}),
    ...(q.status ? { status: q.status } : {}),
    ...(q.assignee ? { assignee: q.assignee } : {}),
    ...(q.tag ? { tag: q.tag } : {}),
    ...(q.unread ? { unread: q.unread === "true" } : {}),
    ...(q.q ? { q: q.q } : {}),
  };
}

const threadParam = z.object({ threadId: idSchema });

/**
 * GET /api/threads/:threadId — one conversation with every message, for someone who may use at least
 * one inbox it belongs to. Otherwise it answers exactly like a thread that does not exist.
 */
/** Mounted behind the session and origin checks of /api/threads (see app.ts). */
export const threadDetailRoutes = new Hono<AppEnv>()
  /** GET /api/threads — every inbox the caller may use ("all"), or what is assigned to them. */
  .get("/", validate("query", allThreadsQuery), async (c) => {
    const p = c.var.principal;
    const q = c.req.valid("query");
    const inboxes = await usableInboxes(c);
    const filters = listFilters(q);
    return c.json(
      await listThreads(c.env.DB, p, {
        ...filters,
        ...(q.view === "assigned" ? { assignee: "me" } : {}),
        inboxIds: inboxes.map((i) => i.id),
        inboxNames: inboxes,
      }),
    );
  })
  .get("/:threadId", validate("param", threadParam), async (c) => {
    const { accountId, userId, email } = c.var.principal;
    const { threadId } = c.req.valid("param");
    const { thread, inboxes: visible } = await visibleThread(c, threadId, { includeHidden: true });
    const list = await threadMessages(c, threadId);
    const [collab, teammates] = await Promise.all([
      threadCollaboration(c, thread),
      teammatesFor(
        c,
        visible.map((i) => i.id),
      ),
    ]);
    const view: ThreadView = {
      id: thread.id,
      subject: thread.subject,
      inboxes: visible,
      messages: list,
      ...collab,
      teammates,
    };
    await c.var.db.batch([
      // Opening a conversation reads it, and viewing mail is audited.
      c.var.db
        .insert(threadReads)
        .values({ accountId, userId, threadId, readAt: thread.lastMessageAt })
        .onConflictDoUpdate({
          target: [threadReads.accountId, threadReads.userId, threadReads.threadId],
          set: { readAt: sql`max(${threadReads.readAt}, excluded.read_at)` },
        }),
      auditInsert(c, {
        accountId,
        action: "thread.viewed",
        actor: { userId, email },
        target: { type: "thread", id: threadId },
      }),
    ]);
    return c.json(view);
  });
