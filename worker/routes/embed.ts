/**
 * The embedded inbox's API (/api/embed), used by the widget inside partner sites. A partner's signed
 * embed token is exchanged for an in-memory bearer token (POST /session); everything else takes that
 * bearer and sees exactly one inbox of one account, optionally only the conversations with one contact.
 * Replies go out through the mailbox like any other and record who wrote them via which partner.
 */
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { idSchema } from "../contracts";
import {
  embedNoteRequest,
  embedReplyRequest,
  embedSessionRequest,
  embedThreadListQuery,
  type EmbedMessageView,
  type EmbedNoteView,
  type EmbedSessionView,
  type EmbedThreadSummary,
  type EmbedThreadView,
} from "../contracts/embed";
import { mailboxes, messageSources, messages, notes, threadMailboxes, threads, users } from "../db/schema";
import { embedCors } from "../embed/cors";
import { assertEmbedOrigin, assertEmbedPermission, requireEmbedSession, startEmbedSession } from "../embed/session";
import { verifyEmbedToken } from "../embed/verify-token";
import { ApiError, notFound } from "../errors";
import { auditInsert } from "../lib/audit";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import { validate } from "../lib/validate";
import { newRfcId, sendFromMailbox } from "../mail/outgoing";
import { listThreads } from "../threads/list";
import { notifyThread } from "../threads/live-notify";
import { participantClause } from "../threads/participant";
import { threadMessages } from "../threads/messages";

const threadParam = z.object({ threadId: idSchema });

/** The session's inbox. */
async function embedMailbox(c: Context<AppEnv>) {
  const e = c.var.embed;
  const mailbox = await c.var.db
    .select()
    .from(mailboxes)
    .where(and(eq(mailboxes.accountId, e.accountId), eq(mailboxes.id, e.mailboxId)))
    .get();
  if (!mailbox) throw notFound("Inbox");
  return mailbox;
}

/** A conversation of the session's inbox (and with its contact, when it has one); 404 otherwise. */
async function embedThread(c: Context<AppEnv>, threadId: string) {
  const e = c.var.embed;
  const thread = await c.var.db
    .select({ t: threads })
    .from(threads)
    .innerJoin(
      threadMailboxes,
      and(
        eq(threadMailboxes.accountId, threads.accountId),
        eq(threadMailboxes.threadId, threads.id),
        eq(threadMailboxes.mailboxId, e.mailboxId),
      ),
    )
    .where(and(eq(threads.accountId, e.accountId), eq(threads.id, threadId)))
    .get()
    .then((r) => r?.t);
  if (!thread || thread.hiddenAt !== null) throw notFound("Conversation");
  if (e.contact) {
    const withContact = await c.env.DB.prepare(`SELECT 1 AS ok WHERE ${participantClause("?1", "?2", "?3")}`)
      .bind(e.accountId, thread.id, e.contact.toLowerCase())
      .first();
    if (!withContact) throw notFound("Conversation");
  }
  return thread;
}

async function embedNotes(c: Context<AppEnv>, threadId: string): Promise<EmbedNoteView[]> {
  const e = c.var.embed;
  const rows = await c.var.db
    .select({ n: notes, authorName: users.name, authorEmail: users.email })
    .from(notes)
    .leftJoin(users, and(eq(users.accountId, notes.accountId), eq(users.id, notes.authorId)))
    .where(and(eq(notes.accountId, e.accountId), eq(notes.threadId, threadId)))
    .orderBy(asc(notes.createdAt), asc(notes.id))
    .all();
  return rows.map((r) => ({
    id: r.n.id,
    author: r.n.viaUserName ?? (r.authorName || r.authorEmail || "A teammate"),
    body: r.n.body,
    createdAt: r.n.createdAt,
  }));
}

export const embedRoutes = new Hono<AppEnv>()
  .use(embedCors)
  .post("/session", validate("json", embedSessionRequest), async (c) => {
    const verdict = await verifyEmbedToken(c, c.req.valid("json").token);
    if (!verdict.ok) {
      log.warn("embed_token_refused", { reason: verdict.reason });
      throw new ApiError(401, "invalid_embed_token", "The embed token was not accepted");
    }
    assertEmbedOrigin(c, verdict.origins);
    const accessToken = await startEmbedSession(c, verdict);
    c.set("embed", {
      accountId: verdict.partner.accountId,
      partnerId: verdict.partner.id,
      partnerName: verdict.partner.name,
      origins: verdict.origins,
      mailboxId: verdict.mailbox.id,
      userId: verdict.userId,
      userName: verdict.userName,
      permissions: verdict.permissions,
      contact: verdict.contact,
    });
    await auditInsert(c, {
      accountId: verdict.partner.accountId,
      action: "embed.session_started",
      target: { type: "partner", id: verdict.partner.id },
      details: { inboxId: verdict.mailbox.id, partnerUserId: verdict.userId, permissions: verdict.permissions },
    });
    const view: EmbedSessionView = {
      accessToken,
      expiresAt: verdict.expiresAt,
      partner: { id: verdict.partner.id, name: verdict.partner.name },
      inbox: { address: verdict.mailbox.address, name: verdict.mailbox.displayName },
      user: { id: verdict.userId, name: verdict.userName },
      permissions: verdict.permissions,
      contact: verdict.contact,
    };
    return c.json(view, 201);
  })
  .get("/threads", requireEmbedSession, validate("query", embedThreadListQuery), async (c) => {
    const e = c.var.embed;
    const q = c.req.valid("query");
    const list = await listThreads(
      c.env.DB,
      { accountId: e.accountId, userId: "", email: "" },
      {
        inboxIds: [e.mailboxId],
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
        ...(e.contact ? { participant: e.contact } : {}),
      },
    );
    // Partner users see the conversation, not the team's workings (assignees, tags, read state).
    const threadsOut: EmbedThreadSummary[] = list.threads.map((t) => ({
      id: t.id,
      subject: t.subject,
      snippet: t.snippet,
      lastMessageAt: t.lastMessageAt,
      messageCount: t.messageCount,
      from: t.from,
    }));
    return c.json({ threads: threadsOut, nextCursor: list.nextCursor });
  })
  .get("/threads/:threadId", requireEmbedSession, validate("param", threadParam), async (c) => {
    const e = c.var.embed;
    const thread = await embedThread(c, c.req.valid("param").threadId);
    const list = await threadMessages(c, thread.id, { accountId: e.accountId });
    const view: EmbedThreadView = {
      id: thread.id,
      subject: thread.subject,
      version: thread.version,
      messages: list.map((m): EmbedMessageView => ({
        id: m.id,
        from: m.from,
        to: m.to,
        receivedAt: m.receivedAt,
        text: m.text,
        hasHtml: m.hasHtml,
        sentVia: m.sentVia,
      })),
      notes: e.permissions.includes("notes") ? await embedNotes(c, thread.id) : null,
    };
    await auditInsert(c, {
      accountId: e.accountId,
      action: "thread.viewed",
      target: { type: "thread", id: thread.id },
      details: { viaPartnerId: e.partnerId, viaUserId: e.userId },
    });
    return c.json(view);
  })
  .post(
    "/threads/:threadId/reply",
    requireEmbedSession,
    validate("param", threadParam),
    validate("json", embedReplyRequest),
    async (c) => {
      const e = c.var.embed;
      assertEmbedOrigin(c, e.origins);
      assertEmbedPermission(c, "reply");
      const body = c.req.valid("json");
      const thread = await embedThread(c, c.req.valid("param").threadId);
      if (body.baseVersion !== undefined && thread.version > body.baseVersion) {
        throw new ApiError(
          409,
          "thread_changed",
          "New messages arrived since this reply was started; read them, then send again",
          {
            version: thread.version,
          },
        );
      }
      const mailbox = await embedMailbox(c);
      const own = mailbox.address.toLowerCase();
      const all = await c.var.db
        .select()
        .from(messages)
        .where(and(eq(messages.accountId, e.accountId), eq(messages.threadId, thread.id)))
        .orderBy(desc(messages.receivedAt))
        .all();
      const parent = all.find((m) => m.fromAddress.toLowerCase() !== own) ?? all[0];
      if (!parent) throw notFound("Message");
      // The answer goes to whoever wrote last from outside (their Reply-To first), as in any mail client.
      const replyTo = JSON.parse(parent.replyTo) as { address: string }[];
      const sentTo = JSON.parse(parent.to) as { address: string }[];
      const recipient =
        parent.fromAddress.toLowerCase() !== own
          ? (replyTo[0]?.address ?? parent.fromAddress)
          : sentTo.find((t) => t.address.toLowerCase() !== own)?.address;
      if (!recipient)
        throw new ApiError(409, "no_recipient", "This conversation has nobody outside the inbox to answer");
      const source =
        mailbox.provider === "gmail"
          ? await c.var.db
              .select({ t: messageSources.providerThreadId })
              .from(messageSources)
              .where(
                and(
                  eq(messageSources.accountId, e.accountId),
                  eq(messageSources.mailboxId, mailbox.id),
                  eq(messageSources.messageId, parent.id),
                ),
              )
              .get()
          : undefined;
      const sent = await sendFromMailbox(
        c,
        mailbox,
        {
          to: [recipient.toLowerCase()],
          cc: [],
          bcc: [],
          subject: /^re:/i.test(parent.subject) ? parent.subject : `Re: ${parent.subject}`,
          text: body.text,
          messageId: newRfcId(mailbox),
          inReplyTo: parent.rfcMessageId,
          references: [...(JSON.parse(parent.references) as string[]), parent.rfcMessageId],
        },
        {
          gmailThreadId: source?.t ?? null,
          action: "message.sent",
          actor: {
            accountId: e.accountId,
            userId: null,
            email: null,
            via: { partnerId: e.partnerId, userId: e.userId, userName: e.userName },
          },
        },
      );
      return c.json(sent, 201);
    },
  )
  .post(
    "/threads/:threadId/notes",
    requireEmbedSession,
    validate("param", threadParam),
    validate("json", embedNoteRequest),
    async (c) => {
      const e = c.var.embed;
      assertEmbedOrigin(c, e.origins);
      assertEmbedPermission(c, "notes");
      const thread = await embedThread(c, c.req.valid("param").threadId);
      const note = { id: newId(), createdAt: Date.now(), body: c.req.valid("json").body };
      // A note makes replies composed before it stale, as it does in the app.
      await c.var.db.batch([
        c.var.db.insert(notes).values({
          id: note.id,
          accountId: e.accountId,
          threadId: thread.id,
          authorId: "",
          body: note.body,
          createdAt: note.createdAt,
          threadVersion: sql`(select version + 1 from threads where account_id = ${e.accountId} and id = ${thread.id})`,
          viaPartnerId: e.partnerId,
          viaUserId: e.userId,
          viaUserName: e.userName,
        }),
        c.var.db
          .update(threads)
          .set({ version: sql`${threads.version} + 1` })
          .where(and(eq(threads.accountId, e.accountId), eq(threads.id, thread.id))),
        auditInsert(c, {
          accountId: e.accountId,
          action: "note.created",
          target: { type: "thread", id: thread.id },
          details: { viaPartnerId: e.partnerId, viaUserId: e.userId },
        }),
      ]);
      await notifyThread(c, [e.mailboxId], thread.id, "note");
      const view: EmbedNoteView = { id: note.id, author: e.userName, body: note.body, createdAt: note.createdAt };
      return c.json({ note: view }, 201);
    },
  );
