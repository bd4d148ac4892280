/**
 * POST /api/threads/:threadId/reply — answers a conversation from one of its inboxes, through that
 * mailbox's own provider (Gmail messages.send with threadId; Graph sendMail), so the mail sits in the
 * mailbox's Sent folder and the recipient sees the shared address. The sent copy is stored at once
 * under the id the provider will sync it with (or its Message-ID), so it is never shown twice.
 */
import { and, desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { idSchema, sendReplyRequest } from "../contracts";
import { inboxAccess, mailboxes, messageSources, messages, threadMailboxes, threads } from "../db/schema";
import { ApiError, forbidden, notFound } from "../errors";
import { auditInsert } from "../lib/audit";
import { newId } from "../lib/ids";
import { base64url, composeMessage } from "../mail/compose";
import { threadCollaboration } from "../threads/collaboration";
import { notifyThread } from "../threads/live-notify";
import { threadMessages } from "../threads/messages";
import { readProviderConfig } from "../providers/config";
import { GmailClient } from "../providers/gmail";
import { GraphClient } from "../providers/graph";
import { validate } from "../lib/validate";
import { storeMessage } from "../sync/store-message";

const threadParam = z.object({ threadId: idSchema });

/** Mounted behind the session and origin checks of /api/threads (see app.ts). */
export const sendRoutes = new Hono<AppEnv>().post(
  "/:threadId/reply",
  validate("param", threadParam),
  validate("json", sendReplyRequest),
  async (c) => {
    const p = c.var.principal;
    // Light users read and write notes; they never send.
    if (!["owner", "admin", "member"].includes(p.role)) throw forbidden("Your role cannot send mail");
    const { threadId } = c.req.valid("param");
    const body = c.req.valid("json");

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
    if (mailbox.disconnectedAt !== null || mailbox.provider === "hosted") {
      throw new ApiError(409, "inbox_cannot_send", `${mailbox.address} is not connected, so it cannot send`);
    }

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
          ...(body.replyToMessageId ? [eq(messages.id, body.replyToMessageId)] : []),
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

    const lease = await c.env.MAILBOX.getByName(mailbox.id).leaseAccessToken();
    if (!lease.ok) {
      throw new ApiError(
        409,
        "inbox_unavailable",
        `${mailbox.address} cannot send right now (${lease.reason}); see Settings › Inbox connections`,
      );
    }
    const subject = body.subject ?? (/^re:/i.test(parent.subject) ? parent.subject : `Re: ${parent.subject}`);
    const domain = mailbox.address.slice(mailbox.address.indexOf("@") + 1);
    const rfcId = `${newId().toLowerCase()}@${domain}`;
    const parentRefs = JSON.parse(parent.references) as string[];
    const mime = composeMessage({
      from: mailbox.address,
      to: body.to,
      cc: body.cc,
      bcc: body.bcc,
      subject,
      text: body.text,
      messageId: rfcId,
      inReplyTo: parent.rfcMessageId,
      references: [...parentRefs, parent.rfcMessageId],
    });

    const apis = readProviderConfig(c.env);
    let providerMessageId: string;
    let providerThreadId: string | null = null;
    if (mailbox.provider === "gmail") {
      const source = await c.var.db
        .select({ t: messageSources.providerThreadId })
        .from(messageSources)
        .where(
          and(
            eq(messageSources.accountId, p.accountId),
            eq(messageSources.mailboxId, mailbox.id),
            eq(messageSources.messageId, parent.id),
          ),
        )
        .get();
      const sent = await new GmailClient(apis.google.gmailApiBase, lease.accessToken).send(
        base64url(mime),
        source?.t ?? undefined,
      );
      if (!sent.ok) throw new ApiError(502, "send_failed", `Gmail did not accept the message (${sent.kind})`);
      providerMessageId = sent.value.id;
      providerThreadId = sent.value.threadId;
    } else {
      const delegate = lease.grantEmail !== lease.address ? lease.address : null;
      const sent = await new GraphClient(apis.microsoft.graphApiBase, lease.accessToken, delegate).sendMime(mime);
      if (!sent.ok) throw new ApiError(502, "send_failed", `Microsoft did not accept the message (${sent.kind})`);
      // Graph returns no id for sendMail: the synced Sent Items copy links to this one by Message-ID.
      providerMessageId = `sent:${rfcId}`;
    }

    const stored = await storeMessage(c.var.db, c.env.RAW_MAIL, {
      accountId: p.accountId,
      mailboxId: mailbox.id,
      providerMessageId,
      providerThreadId,
      providerThreadReliable: mailbox.provider === "gmail",
      labels: ["SENT"],
      outbound: true,
      receivedAt: Date.now(),
      raw: new TextEncoder().encode(mime),
    });
    await auditInsert(c, {
      accountId: p.accountId,
      action: "message.sent",
      actor: { userId: p.userId, email: p.email },
      target: { type: "thread", id: threadId },
      details: { inboxId: mailbox.id, to: body.to.length, cc: body.cc.length, bcc: body.bcc.length },
    });
    if (stored.status === "skipped" || stored.status === "removed")
      throw new Error("a message Postroom composed could not be stored");
    await notifyThread(c, [mailbox.id], stored.threadId, "message");
    const after = await c.var.db
      .select({ version: threads.version })
      .from(threads)
      .where(and(eq(threads.accountId, p.accountId), eq(threads.id, stored.threadId)))
      .get();
    return c.json(
      { messageId: stored.messageId, threadId: stored.threadId, rfcMessageId: rfcId, version: after?.version ?? 0 },
      201,
    );
  },
);
