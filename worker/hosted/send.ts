/**
 * Sending from a hosted address through Cloudflare Email Sending (the EMAIL binding, structured
 * form). The platform writes the MIME and its own Message-ID; Postroom sets From, the recipients,
 * the subject, the text and the threading headers, within the documented limits: In-Reply-To and
 * References are the only non-X headers set, each at most 2,048 bytes, References keeping its root.
 * The stored sent copy carries the Message-ID the platform reports, so answers to it thread.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { mailboxes } from "../db/schema";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { composeMessage, trimReferences, type Outgoing } from "../mail/compose";
import { recordInDevOutbox } from "../mail/mailer";
import { normalizeMessageId } from "../mail/message-id";
import { hostedDomain } from "./address";

type Mailbox = typeof mailboxes.$inferSelect;

/** Cloudflare Email Sending: at most 50 recipients (to, cc and bcc together) per message. */
export const MAX_HOSTED_RECIPIENTS = 50;
/** Cloudflare Email Sending: each custom header value at most 2,048 bytes. */
export const MAX_HEADER_BYTES = 2048;

/** Recipient problems are about this message, not about the address's ability to send. */
const RECIPIENT_CODES = new Set(["E_RECIPIENT_NOT_ALLOWED", "E_RECIPIENT_SUPPRESSED", "E_TOO_MANY_RECIPIENTS"]);

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

/** `<root> <…> <parent>` within the header limit: the root stays, the oldest of the rest go first. */
export function referencesHeader(ids: string[]): string | null {
  const kept = trimReferences(ids);
  const render = (list: string[]) => list.map((id) => `<${id}>`).join(" ");
  while (kept.length > 1 && bytes(render(kept)) > MAX_HEADER_BYTES) kept.splice(1, 1);
  const value = render(kept);
  return kept.length > 0 && bytes(value) <= MAX_HEADER_BYTES ? value : null;
}

export interface HostedDelivery {
  providerMessageId: string;
  providerThreadId: null;
  /** The sent copy as Postroom stores it. */
  mime: string;
  rfcMessageId: string;
}

export async function sendHosted(
  c: Context<AppEnv>,
  mailbox: Mailbox,
  message: Omit<Outgoing, "from">,
): Promise<HostedDelivery> {
  const domain = hostedDomain(c.env);
  if (!domain || !mailbox.address.endsWith(`@${domain}`)) {
    throw new ApiError(
      409,
      "hosted_disabled",
      `Hosted addresses are not enabled on this server, so ${mailbox.address} cannot send`,
    );
  }
  const total = message.to.length + message.cc.length + message.bcc.length;
  if (total > MAX_HOSTED_RECIPIENTS) {
    throw new ApiError(
      400,
      "too_many_recipients",
      `A message can go to at most ${MAX_HOSTED_RECIPIENTS} recipients (to, cc and bcc together)`,
    );
  }
  const headers: Record<string, string> = {};
  if (message.inReplyTo) headers["In-Reply-To"] = `<${message.inReplyTo}>`;
  const references = referencesHeader(message.references);
  if (references) headers["References"] = references;

  const outbox = c.env.MAILBOX.getByName(mailbox.id);
  let platformId: string;
  try {
    const result = await c.env.EMAIL.send({
      from: mailbox.displayName ? { email: mailbox.address, name: mailbox.displayName } : mailbox.address,
      to: message.to,
      ...(message.cc.length ? { cc: message.cc } : {}),
      ...(message.bcc.length ? { bcc: message.bcc } : {}),
      subject: message.subject,
      text: message.text,
      headers,
      ...(message.attachments?.length
        ? {
            attachments: message.attachments.map((a) => ({
              content: a.data,
              filename: a.filename,
              type: a.contentType,
              disposition: "attachment" as const,
            })),
          }
        : {}),
    });
    platformId = result.messageId;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason = typeof code === "string" ? code : "send_failed";
    log.warn("hosted_send_failed", { inboxId: mailbox.id, code: reason, error: err });
    if (c.var.config.development) await recordDevCopy(c, mailbox, message, headers, false);
    if (RECIPIENT_CODES.has(reason)) {
      throw new ApiError(422, "recipient_refused", `Cloudflare Email Sending refused a recipient (${reason})`);
    }
    await outbox.hostedSendResult({ ok: false, detail: `Cloudflare Email Sending answered ${reason}.` });
    throw new ApiError(502, "send_failed", `Cloudflare Email Sending did not accept the message (${reason})`);
  }
  await outbox.hostedSendResult({ ok: true });
  if (c.var.config.development) await recordDevCopy(c, mailbox, message, headers, true);
  const rfcMessageId = normalizeMessageId(platformId) ?? message.messageId;
  return {
    providerMessageId: `hosted-sent:${rfcMessageId}`,
    providerThreadId: null,
    mime: composeMessage({ ...message, from: mailbox.address, messageId: rfcMessageId }),
    rfcMessageId,
  };
}

/** In development the message also shows in the outbox (/dev/outbox), like Postroom's own mail. */
async function recordDevCopy(
  c: Context<AppEnv>,
  mailbox: Mailbox,
  message: Omit<Outgoing, "from">,
  headers: Record<string, string>,
  delivered: boolean,
): Promise<void> {
  await recordInDevOutbox(
    c.env.RAW_MAIL,
    {
      from: mailbox.address,
      to: [...message.to, ...message.cc, ...message.bcc].join(", "),
      subject: message.subject,
      text: message.text,
      html: "",
      headers,
    },
    delivered,
  );
}
