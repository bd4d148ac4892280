/**
 * What the team does to a conversation besides answering it: status and snooze, assignment, tags,
 * internal notes with @mentions, per-user read state, and hiding it from Postroom (the mailbox keeps
 * it). Light users may write notes and keep their read state; changing the thread takes a member.
 */
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import {
  createNoteRequest,
  idSchema,
  setReadRequest,
  setTagsRequest,
  updateThreadRequest,
  type NoteView,
} from "../contracts";
import { accounts, notes, threadReads, threadTags, threads } from "../db/schema";
import { ApiError, forbidden } from "../errors";
import { auditInsert } from "../lib/audit";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import { validate } from "../lib/validate";
import { createMailer } from "../mail/mailer";
import { mentionMail } from "../mail/templates";
import { visibleThread } from "../threads/access";
import { notifyThread } from "../threads/live-notify";
import { effectiveStatus, mentionedIn, teammatesFor, threadCollaboration } from "../threads/collaboration";

const threadParam = z.object({ threadId: idSchema });
const CHANGERS = ["owner", "admin", "member"];

/** Mounted behind the session and origin checks of /api/threads (see app.ts). */
export const threadActionRoutes = new Hono<AppEnv>()
  .patch("/:threadId", validate("param", threadParam), validate("json", updateThreadRequest), async (c) => {
    const p = c.var.principal;
    if (!CHANGERS.includes(p.role)) throw forbidden("Your role cannot change conversations");
    const { thread, inboxes } = await visibleThread(c, c.req.valid("param").threadId);
    const body = c.req.valid("json");
    const set: Partial<typeof threads.$inferInsert> = {};
    if (body.status !== undefined) {
      if (body.status === "snoozed" && (body.snoozedUntil ?? 0) <= Date.now()) {
        throw new ApiError(400, "invalid_snooze", "A snooze must end in the future", [
          { path: "snoozedUntil", message: "must be in the future" },
        ]);
      }
      set.status = body.status;
      set.snoozedUntil = body.status === "snoozed" ? body.snoozedUntil! : null;
    }
    if (body.assigneeId !== undefined) {
      if (body.assigneeId !== null) {
        const team = await teammatesFor(
          c,
          inboxes.map((i) => i.id),
        );
        if (!team.some((u) => u.id === body.assigneeId)) {
          throw new ApiError(400, "unknown_assignee", "The assignee must be a teammate who can see this conversation", [
            { path: "assigneeId", message: "not a teammate with access to this conversation" },
          ]);
        }
      }
      set.assigneeId = body.assigneeId;
    }
    await c.var.db.batch([
      c.var.db
        .update(threads)
        .set(set)
        .where(and(eq(threads.accountId, p.accountId), eq(threads.id, thread.id))),
      auditInsert(c, {
        accountId: p.accountId,
        action: "thread.updated",
        actor: { userId: p.userId, email: p.email },
        target: { type: "thread", id: thread.id },
        details: {
          ...(body.status !== undefined ? { from: effectiveStatus(thread), status: body.status } : {}),
          ...(body.assigneeId !== undefined ? { assigneeId: body.assigneeId } : {}),
        },
      }),
    ]);
    const updated = { ...thread, ...set } as typeof thread;
    await notifyThread(
      c,
      inboxes.map((i) => i.id),
      thread.id,
      "updated",
    );
    return c.json(await threadCollaboration(c, updated));
  })
  .put("/:threadId/tags", validate("param", threadParam), validate("json", setTagsRequest), async (c) => {
    const p = c.var.principal;
    if (!CHANGERS.includes(p.role)) throw forbidden("Your role cannot change conversations");
    const { thread, inboxes } = await visibleThread(c, c.req.valid("param").threadId);
    const tags = [...new Set(c.req.valid("json").tags)];
    const now = Date.now();
    await c.var.db.batch([
      c.var.db.delete(threadTags).where(and(eq(threadTags.accountId, p.accountId), eq(threadTags.threadId, thread.id))),
      ...tags.map((tag) =>
        c.var.db.insert(threadTags).values({ accountId: p.accountId, threadId: thread.id, tag, createdAt: now }),
      ),
    ]);
    await notifyThread(
      c,
      inboxes.map((i) => i.id),
      thread.id,
      "updated",
    );
    return c.json({ tags: tags.sort() });
  })
  .post("/:threadId/notes", validate("param", threadParam), validate("json", createNoteRequest), async (c) => {
    const p = c.var.principal;
    const { thread, inboxes } = await visibleThread(c, c.req.valid("param").threadId);
    const { body } = c.req.valid("json");
    const team = await teammatesFor(
      c,
      inboxes.map((i) => i.id),
    );
    const mentions = mentionedIn(body, team);
    const note = { id: newId(), createdAt: Date.now() };
    // A note makes replies composed before it stale, like a new message does.
    await c.var.db.batch([
      c.var.db.insert(notes).values({
        id: note.id,
        accountId: p.accountId,
        threadId: thread.id,
        authorId: p.userId,
        body,
        mentions: JSON.stringify(mentions.map((m) => m.id)),
        createdAt: note.createdAt,
        threadVersion: sql`(select version + 1 from threads where account_id = ${p.accountId} and id = ${thread.id})`,
      }),
      c.var.db
        .update(threads)
        .set({ version: sql`${threads.version} + 1` })
        .where(and(eq(threads.accountId, p.accountId), eq(threads.id, thread.id))),
    ]);
    await notifyMentions(c, thread, mentions, body);
    await notifyThread(
      c,
      inboxes.map((i) => i.id),
      thread.id,
      "note",
    );
    const view: NoteView = {
      id: note.id,
      author: { id: p.userId, email: p.email, name: p.name },
      body,
      mentions,
      createdAt: note.createdAt,
    };
    return c.json({ note: view }, 201);
  })
  .put("/:threadId/read", validate("param", threadParam), validate("json", setReadRequest), async (c) => {
    const p = c.var.principal;
    const { thread } = await visibleThread(c, c.req.valid("param").threadId);
    const key = and(
      eq(threadReads.accountId, p.accountId),
      eq(threadReads.userId, p.userId),
      eq(threadReads.threadId, thread.id),
    );
    if (c.req.valid("json").read) {
      await c.var.db
        .insert(threadReads)
        .values({ accountId: p.accountId, userId: p.userId, threadId: thread.id, readAt: thread.lastMessageAt })
        .onConflictDoUpdate({
          target: [threadReads.accountId, threadReads.userId, threadReads.threadId],
          set: { readAt: thread.lastMessageAt },
        });
    } else {
      await c.var.db.delete(threadReads).where(key);
    }
    return c.json({ read: c.req.valid("json").read });
  })
  .post("/:threadId/hide", validate("param", threadParam), async (c) => setHidden(c, true))
  .delete("/:threadId/hide", validate("param", threadParam), async (c) => setHidden(c, false));

async function setHidden(c: Parameters<typeof visibleThread>[0], hidden: boolean) {
  const p = c.var.principal;
  if (!CHANGERS.includes(p.role)) throw forbidden("Your role cannot change conversations");
  const threadId = (c.req.param() as { threadId: string }).threadId;
  const { thread, inboxes } = await visibleThread(c, threadId, { includeHidden: true });
  await c.var.db.batch([
    c.var.db
      .update(threads)
      .set({ hiddenAt: hidden ? (thread.hiddenAt ?? Date.now()) : null })
      .where(and(eq(threads.accountId, p.accountId), eq(threads.id, thread.id))),
    auditInsert(c, {
      accountId: p.accountId,
      action: hidden ? "thread.hidden" : "thread.unhidden",
      actor: { userId: p.userId, email: p.email },
      target: { type: "thread", id: thread.id },
    }),
  ]);
  await notifyThread(
    c,
    inboxes.map((i) => i.id),
    thread.id,
    "updated",
  );
  return c.json({ hidden });
}

/** Emails each mentioned teammate (not the author). A mail that cannot go out is logged; the note stands. */
async function notifyMentions(
  c: Parameters<typeof visibleThread>[0],
  thread: { id: string; subject: string },
  mentions: { id: string; email: string }[],
  body: string,
) {
  const p = c.var.principal;
  const targets = mentions.filter((m) => m.id !== p.userId);
  if (targets.length === 0) return;
  const account = await c.var.db
    .select({ name: accounts.name })
    .from(accounts)
    .where(eq(accounts.id, p.accountId))
    .get();
  const mailer = createMailer(c.env, c.var.config.development, c.var.config.mailFrom);
  const url = `${c.var.config.appOrigin}/threads/${thread.id}`;
  for (const t of targets) {
    try {
      await mailer.send(
        mentionMail({
          to: t.email,
          author: p.name || p.email,
          accountName: account?.name ?? "Postroom",
          subject: thread.subject,
          excerpt: body.slice(0, 500),
          url,
        }),
      );
    } catch (err) {
      log.warn("mention_mail_failed", { threadId: thread.id, error: err instanceof Error ? err.name : "unknown" });
    }
  }
}
