/**
 * Postroom's own outgoing mail (sign-in links, invites, later mentions) goes through one Mailer.
 * Production sends with the Cloudflare Email Sending binding; development additionally keeps every
 * message in a development-only outbox so a newcomer can click the link without a mail server.
 */
import { log } from "../lib/log";

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
}

export class MailerUnavailableError extends Error {
  constructor(readonly reason: string) {
    super("mail could not be sent");
    this.name = "MailerUnavailableError";
  }
}

/** Sends through the `send_email` binding (structured form: the platform builds the MIME). */
export class EmailBindingMailer implements Mailer {
  constructor(
    private readonly binding: SendEmail,
    private readonly from: string,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    try {
      await this.binding.send({
        from: parseFrom(this.from),
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        // RFC 3834: our mail is automatic, so auto-responders must not answer it.
        headers: { "Auto-Submitted": "auto-generated" },
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      log.warn("mail_send_failed", { code: typeof code === "string" ? code : "unknown", error: err });
      throw new MailerUnavailableError(typeof code === "string" ? code : "send_failed");
    }
  }
}

export const DEV_OUTBOX_PREFIX = "dev-outbox/";

export interface DevOutboxEntry extends OutgoingMail {
  id: string;
  sentAt: number;
  delivered: boolean;
  /** Set for mail sent from an inbox's address (hosted addresses); Postroom's own mail has MAIL_FROM. */
  from?: string;
  /** The custom headers handed to the binding (a hosted reply's In-Reply-To and References). */
  headers?: Record<string, string>;
}

/** Development only: keeps a copy of a sent message in R2 under dev-outbox/ (never D1). */
export async function recordInDevOutbox(
  bucket: R2Bucket,
  mail: OutgoingMail & Pick<DevOutboxEntry, "from" | "headers">,
  delivered: boolean,
): Promise<void> {
  const sentAt = Date.now();
  // Reverse-time keys make the newest message list first.
  const id = `${String(9_999_999_999_999 - sentAt).padStart(13, "0")}-${crypto.randomUUID()}`;
  const entry: DevOutboxEntry = { ...mail, id, sentAt, delivered };
  await bucket.put(DEV_OUTBOX_PREFIX + id, JSON.stringify(entry), {
    httpMetadata: { contentType: "application/json" },
  });
}

/**
 * Development only: records every message in R2 under dev-outbox/ (never D1, where a link would sit
 * beside production data), then tries the real binding; local delivery failing is not fatal here.
 */
export class DevOutboxMailer implements Mailer {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly inner: Mailer,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    let delivered = true;
    try {
      await this.inner.send(mail);
    } catch {
      delivered = false;
    }
    await recordInDevOutbox(this.bucket, mail, delivered);
  }
}

export function parseFrom(from: string): string | { email: string; name: string } {
  const m = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(from);
  return m ? { name: m[1] ?? "", email: m[2] ?? "" } : from;
}

export function createMailer(env: Env, development: boolean, from: string): Mailer {
  const binding = new EmailBindingMailer(env.EMAIL, from);
  return development ? new DevOutboxMailer(env.RAW_MAIL, binding) : binding;
}
