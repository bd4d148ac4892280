/**
 * Sending from a connected mailbox through its own provider (Gmail messages.send, into the thread
 * when there is one; Graph createReply and send for a reply, sendMail with the MIME otherwise), then storing the sent copy at once under the id
 * the provider will sync it with (or its Message-ID), so it is shown immediately and never twice.
 */
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { mailboxes, messages, threads } from "../db/schema";
import { ApiError } from "../errors";
import { auditInsert } from "../lib/audit";
import { newId } from "../lib/ids";
import { readProviderConfig } from "../providers/config";
import { GmailClient } from "../providers/gmail";
import { GraphClient } from "../providers/graph";
import { storeMessage } from "../sync/store-message";
import { notifyThread } from "../threads/live-notify";
import { sendHosted } from "../hosted/send";
import { base64url, composeMessage, type Outgoing } from "./compose";
import { sendGraphReply } from "./graph-reply";

type Mailbox = typeof mailboxes.$inferSelect;

export interface Sent {
  messageId: string;
  threadId: string;
  rfcMessageId: string;
  /** The thread's version after this message (for the next reply's stale check). */
  version: number;
}

/** Refuses early when the mailbox cannot send at all (disconnected). */
export function assertCanSend(mailbox: Mailbox): void {
  if (mailbox.disconnectedAt !== null) {
    throw new ApiError(409, "inbox_cannot_send", `${mailbox.address} is not connected, so it cannot send`);
  }
}

/** A Message-ID on the mailbox's own domain. */
export const newRfcId = (mailbox: Mailbox) =>
  `${newId().toLowerCase()}@${mailbox.address.slice(mailbox.address.indexOf("@") + 1)}`;

/**
 * Who sends: a signed-in user (the default, from the session), or a partner site's user writing in
 * the embedded inbox, recorded on the message so the thread shows who replied via which partner.
 */
export interface SendActor {
  accountId: string;
  userId: string | null;
  email: string | null;
  via?: { partnerId: string; userId: string; userName: string };
}

export async function sendFromMailbox(
  c: Context<AppEnv>,
  mailbox: Mailbox,
  message: Omit<Outgoing, "from">,
  options: {
    gmailThreadId: string | null;
    /** Graph: the answered message's immutable id in this mailbox; the reply then goes through createReply. */
    graphReplyToId?: string | null;
    action: string;
    actor?: SendActor;
  },
): Promise<Sent> {
  const p: SendActor = options.actor ?? {
    accountId: c.var.principal.accountId,
    userId: c.var.principal.userId,
    email: c.var.principal.email,
  };
  assertCanSend(mailbox);
  if (mailbox.provider === "hosted") {
    const hosted = await sendHosted(c, mailbox, message);
    return recordSent(c, mailbox, p, { ...message, messageId: hosted.rfcMessageId }, options, hosted);
  }
  const lease = await c.env.MAILBOX.getByName(mailbox.id).leaseAccessToken();
  if (!lease.ok) {
    throw new ApiError(
      409,
      "inbox_unavailable",
      `${mailbox.address} cannot send right now (${lease.reason}); see Settings › Inbox connections`,
    );
  }
  let mime = composeMessage({ ...message, from: mailbox.address });
  let rfcMessageId = message.messageId;
  const apis = readProviderConfig(c.env);
  let providerMessageId: string;
  let providerThreadId: string | null = null;
  if (mailbox.provider === "gmail") {
    const sent = await new GmailClient(apis.google.gmailApiBase, lease.accessToken).send(
      base64url(mime),
      options.gmailThreadId ?? undefined,
    );
    if (!sent.ok) throw new ApiError(502, "send_failed", `Gmail did not accept the message (${sent.kind})`);
    providerMessageId = sent.value.id;
    providerThreadId = sent.value.threadId;
  } else if (options.graphReplyToId) {
    const delegate = lease.grantEmail !== lease.address ? lease.address : null;
    const graph = new GraphClient(apis.microsoft.graphApiBase, lease.accessToken, delegate);
    const sent = await sendGraphReply(graph, options.graphReplyToId, message);
    if (!sent.ok) throw new ApiError(502, "send_failed", `Microsoft did not accept the message (${sent.kind})`);
    // The stored copy carries the Message-ID Exchange gave the reply, under the id the sync will see.
    rfcMessageId = sent.value.rfcMessageId;
    mime = composeMessage({ ...message, messageId: rfcMessageId, from: mailbox.address });
    providerMessageId = sent.value.id;
    providerThreadId = sent.value.conversationId;
  } else {
    const delegate = lease.grantEmail !== lease.address ? lease.address : null;
    const sent = await new GraphClient(apis.microsoft.graphApiBase, lease.accessToken, delegate).sendMime(mime);
    if (!sent.ok) throw new ApiError(502, "send_failed", `Microsoft did not accept the message (${sent.kind})`);
    // Graph returns no id for sendMail: the synced Sent Items copy links to this one by Message-ID.
    providerMessageId = `sent:${message.messageId}`;
  }
  return recordSent(c, mailbox, p, { ...message, messageId: rfcMessageId }, options, {
    providerMessageId,
    providerThreadId,
    mime,
  });
}

/** Stores the sent copy at once (shown immediately, never twice), audits it and refreshes open views. */
async function recordSent(
  c: Context<AppEnv>,
  mailbox: Mailbox,
  p: SendActor,
  message: Omit<Outgoing, "from">,
  options: { action: string },
  delivered: { providerMessageId: string; providerThreadId: string | null; mime: string },
): Promise<Sent> {
  const { providerMessageId, providerThreadId, mime } = delivered;
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
  if (stored.status === "skipped" || stored.status === "removed") {
    throw new Error("a message Postroom composed could not be stored");
  }
  if (p.via) {
    await c.var.db
      .update(messages)
      .set({ sentViaPartnerId: p.via.partnerId, sentViaUserId: p.via.userId, sentViaUserName: p.via.userName })
      .where(and(eq(messages.accountId, p.accountId), eq(messages.id, stored.messageId)));
  }
  await auditInsert(c, {
    accountId: p.accountId,
    action: options.action,
    actor: p.userId !== null && p.email !== null ? { userId: p.userId, email: p.email } : null,
    target: { type: "thread", id: stored.threadId },
    details: {
      ...(p.via ? { viaPartnerId: p.via.partnerId, viaUserId: p.via.userId } : {}),
      inboxId: mailbox.id,
      to: message.to.length,
      cc: message.cc.length,
      bcc: message.bcc.length,
      attachments: message.attachments?.length ?? 0,
    },
  });
  await notifyThread(c, [mailbox.id], stored.threadId, "message");
  const after = await c.var.db
    .select({ version: threads.version })
    .from(threads)
    .where(and(eq(threads.accountId, p.accountId), eq(threads.id, stored.threadId)))
    .get();
  return {
    messageId: stored.messageId,
    threadId: stored.threadId,
    rfcMessageId: message.messageId,
    version: after?.version ?? 0,
  };
}
