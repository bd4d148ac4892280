/**
 * Sending from the shared address, through the mailbox's own provider (see mail/outgoing.ts):
 * POST /api/threads/:threadId/reply and /forward answer or pass on a conversation from one of its
 * inboxes; POST /api/inboxes/:inboxId/messages starts a new one. Recipients are kept exactly as
 * given; a reply or forward written against an older version of the thread is refused with 409 and
 * what arrived since.
 */
import { and, desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { forwardRequest, idSchema, MAX_MESSAGE_FILE_BYTES, newMessageRequest, sendReplyRequest } from "../contracts";
import { megabytes } from "../contracts/limits";
import { attachments, inboxAccess, mailboxes, messageSources, messages, threadMailboxes, threads } from "../db/schema";
import { ApiError, forbidden, notFound } from "../errors";
import { validate } from "../lib/validate";
import { assertCanSend, newRfcId, sendFromMailbox } from "../mail/outgoing";
import { usableIds } from "../mail/compose";
import { releaseUploads, safeContentType, safeFilename, takeUploads } from "../mail/uploads";
import { requireInboxAccess } from "../middleware/inbox-access";
import { threadCollaboration } from "../threads/collaboration";
import { threadMessages } from "../threads/messages";

const threadParam = z.object({ threadId: idSchema });

const uploader = (c: Context<AppEnv>) => ({ accountId: c.var.principal.accountId, userId: c.var.principal.userId });

/** Light users read and write notes; they never send. */
export function assertSender(c: Context<AppEnv>): void {
  if (!["owner", "admin", "member"].includes(c.var.principal.role)) throw forbidden("Your role cannot send mail");
}

/**
 * The inbox a reply or forward goes out from (one of the thread's, usable by the caller), the
 * thread, and the message answered; refuses a stale version with what is new.
 */
async function replyContext(
  c: Context<AppEnv>,
  threadId: string,
  body: { inboxId: string; messageId?: string | undefined; baseVersion?: number | undefined },
) {
  const p = c.var.principal;
  const mailbox = await c.var.db
    .select({ m: mailboxes })
    .from(threadMailboxes)
    .innerJoin(
      mailboxes,
      and(eq(mailboxes.accountId, threadMailboxes.accountId), eq(mailboxes.id, threadMailboxes.mailboxId)),
    )
    .where(
      and(
        eq(threadMailboxes.accountId, p.accountId),
        eq(threadMailboxes.threadId, threadId),
        eq(threadMailboxes.mailboxId, body.inboxId),
      ),
    )
    .get()
    .then((r) => r?.m);
  if (!mailbox) throw notFound("Conversation");
  if (p.role === "member") {
    const grant = await c.var.db
      .select({ u: inboxAccess.userId })
      .from(inboxAccess)
      .where(
        and(
          eq(inboxAccess.accountId, p.accountId),
          eq(inboxAccess.mailboxId, mailbox.id),
          eq(inboxAccess.userId, p.userId),
        ),
      )
      .get();
    if (!grant) throw notFound("Conversation");
  }
  assertCanSend(mailbox);
  const thread = await c.var.db
    .select()
    .from(threads)
    .where(and(eq(threads.accountId, p.accountId), eq(threads.id, threadId)))
    .get();
  const parent = await c.var.db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.accountId, p.accountId),
        eq(messages.threadId, threadId),
        ...(body.messageId ? [eq(messages.id, body.messageId)] : []),
      ),
    )
    .orderBy(desc(messages.receivedAt))
    .get();
  if (!thread || !parent) throw notFound("Message");
  if (body.baseVersion !== undefined && thread.version > body.baseVersion) {
    const [newMessages, collab] = await Promise.all([
      threadMessages(c, threadId, { afterVersion: body.baseVersion }),
      threadCollaboration(c, thread, { notesAfterVersion: body.baseVersion }),
    ]);
    throw new ApiError(
      409,
      "thread_changed",
      "New messages or notes arrived since this reply was started; review them, then send again",
      { version: thread.version, messages: newMessages, notes: collab.notes },
    );
  }
  // Gmail keeps the sent mail in the conversation when told its thread; Graph replies to the
  // mailbox's own copy of the message (a sendMail placeholder has no id Graph knows).
  const source = await c.var.db
    .select({ t: messageSources.providerThreadId, id: messageSources.providerMessageId })
    .from(messageSources)
    .where(
      and(
        eq(messageSources.accountId, p.accountId),
        eq(messageSources.mailboxId, mailbox.id),
        eq(messageSources.messageId, parent.id),
      ),
    )
    .get();
  return {
    mailbox,
    parent,
    gmailThreadId: mailbox.provider === "gmail" ? (source?.t ?? null) : null,
    graphMessageId: mailbox.provider === "graph" && source && !source.id.startsWith("sent:") ? source.id : null,
  };
}

const prefixed = (prefix: string, subject: string) =>
  new RegExp(`^${prefix}:`, "i").test(subject) ? subject : `${prefix}: ${subject}`;

/** Mounted behind the session and origin checks of /api/threads (see app.ts). */
export const sendRoutes = new Hono<AppEnv>()
  .post("/:threadId/reply", validate("param", threadParam), validate("json", sendReplyRequest), async (c) => {
    assertSender(c);
    const { threadId } = c.req.valid("param");
    const body = c.req.valid("json");
    const { mailbox, parent, gmailThreadId, graphMessageId } = await replyContext(c, threadId, {
      inboxId: body.inboxId,
      messageId: body.replyToMessageId,
      baseVersion: body.baseVersion,
    });
    const files = await takeUploads(c.env.RAW_MAIL, uploader(c), body.uploadIds);
    const sent = await sendFromMailbox(
      c,
      mailbox,
      {
        to: body.to,
        cc: body.cc,
        bcc: body.bcc,
        subject: body.subject ?? prefixed("Re", parent.subject),
        text: body.text,
        messageId: newRfcId(mailbox),
        inReplyTo: usableIds([parent.rfcMessageId])[0] ?? null,
        references: usableIds([...(JSON.parse(parent.references) as string[]), parent.rfcMessageId]),
        attachments: files,
      },
      { gmailThreadId, graphReplyToId: graphMessageId, action: "message.sent" },
    );
    await releaseUploads(c.env.RAW_MAIL, uploader(c), body.uploadIds);
    return c.json(sent, 201);
  })
  .post("/:threadId/forward", validate("param", threadParam), validate("json", forwardRequest), async (c) => {
    assertSender(c);
    const p = c.var.principal;
    const { threadId } = c.req.valid("param");
    const body = c.req.valid("json");
    const { mailbox, parent, gmailThreadId } = await replyContext(c, threadId, body);
    const files = await c.var.db
      .select()
      .from(attachments)
      .where(and(eq(attachments.accountId, p.accountId), eq(attachments.messageId, parent.id)))
      .all();
    const carried: { filename: string; contentType: string; data: Uint8Array }[] = [];
    let total = 0;
    for (const f of files.filter((f) => !f.inline)) {
      const object = await c.env.RAW_MAIL.get(f.r2Key);
      if (!object) continue;
      const data = new Uint8Array(await object.arrayBuffer());
      total += data.byteLength;
      if (total > MAX_MESSAGE_FILE_BYTES) {
        throw new ApiError(
          413,
          "attachments_too_large",
          `The attachments are too large to forward from Postroom (more than ${megabytes(MAX_MESSAGE_FILE_BYTES)} together)`,
        );
      }
      // The name and type come from the received mail: made safe before they go into a part header.
      carried.push({
        filename: safeFilename(f.filename || "attachment"),
        contentType: safeContentType(f.mimeType),
        data,
      });
    }
    carried.push(
      ...(await takeUploads(c.env.RAW_MAIL, uploader(c), body.uploadIds, { bytes: total, files: carried.length })),
    );
    const from = parent.fromName ? `${parent.fromName} <${parent.fromAddress}>` : parent.fromAddress;
    const to = (JSON.parse(parent.to) as { name: string; address: string }[]).map((a) => a.address).join(", ");
    const quoted = [
      "---------- Forwarded message ----------",
      `From: ${from}`,
      `Date: ${new Date(parent.sentAt ?? parent.receivedAt).toUTCString()}`,
      `Subject: ${parent.subject}`,
      `To: ${to}`,
      "",
      parent.textBody,
    ].join("\n");
    const sent = await sendFromMailbox(
      c,
      mailbox,
      {
        to: body.to,
        cc: body.cc,
        bcc: body.bcc,
        subject: prefixed("Fwd", parent.subject),
        text: body.text ? `${body.text}\n\n${quoted}` : quoted,
        messageId: newRfcId(mailbox),
        inReplyTo: usableIds([parent.rfcMessageId])[0] ?? null,
        references: usableIds([...(JSON.parse(parent.references) as string[]), parent.rfcMessageId]),
        attachments: carried,
      },
      { gmailThreadId, action: "message.forwarded" },
    );
    await releaseUploads(c.env.RAW_MAIL, uploader(c), body.uploadIds);
    return c.json(sent, 201);
  });

/** POST /api/inboxes/:inboxId/messages — a new conversation from the inbox's address. */
export const newMessageRoutes = new Hono<AppEnv>().post(
  "/:inboxId/messages",
  requireInboxAccess,
  validate("json", newMessageRequest),
  async (c) => {
    assertSender(c);
    const body = c.req.valid("json");
    const mailbox = await c.var.db
      .select()
      .from(mailboxes)
      .where(and(eq(mailboxes.accountId, c.var.principal.accountId), eq(mailboxes.id, c.req.param("inboxId"))))
      .get();
    if (!mailbox) throw notFound("Inbox");
    const files = await takeUploads(c.env.RAW_MAIL, uploader(c), body.uploadIds);
    const sent = await sendFromMailbox(
      c,
      mailbox,
      {
        to: body.to,
        cc: body.cc,
        bcc: body.bcc,
        subject: body.subject,
        text: body.text,
        messageId: newRfcId(mailbox),
        inReplyTo: null,
        references: [],
        attachments: files,
      },
      { gmailThreadId: null, action: "message.sent" },
    );
    await releaseUploads(c.env.RAW_MAIL, uploader(c), body.uploadIds);
    return c.json(sent, 201);
  },
);
