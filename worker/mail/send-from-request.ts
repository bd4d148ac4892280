import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { createMailer, MailerUnavailableError, type OutgoingMail } from "./mailer";

export const MAIL_NOT_SENT = "We could not send the email right now; try again shortly";
export const INVITATION_NOT_SENT = "The invitation was saved but the email could not be sent; resend it shortly";

/** Sends Postroom's own mail for a request; a sending failure becomes a 503 that says what happened. */
export async function sendFromRequest(c: Context<AppEnv>, mail: OutgoingMail, whenUnavailable: string): Promise<void> {
  try {
    await createMailer(c.env, c.var.config.development, c.var.config.mailFrom).send(mail);
  } catch (err) {
    if (err instanceof MailerUnavailableError) throw new ApiError(503, "mail_unavailable", whenUnavailable);
    throw err;
  }
}
