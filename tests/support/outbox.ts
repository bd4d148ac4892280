import { env } from "cloudflare:workers";
import type { DevOutboxEntry } from "../../worker/mail/mailer";
import { DEV_OUTBOX_PREFIX } from "../../worker/mail/mailer";

/** Every message the development outbox holds for one address, newest first. */
export async function mailTo(address: string): Promise<DevOutboxEntry[]> {
  const listed = await env.RAW_MAIL.list({ prefix: DEV_OUTBOX_PREFIX, limit: 1000 });
  const all = await Promise.all(
    listed.objects.map(async (o) => (await env.RAW_MAIL.get(o.key))!.json<DevOutboxEntry>()),
  );
  return all.filter((m) => m.to === address.toLowerCase());
}

/** The token in the newest emailed link of the given path (`/auth/verify` or `/auth/invite`). */
export async function latestToken(address: string, path: string): Promise<string> {
  const messages = await mailTo(address);
  for (const m of messages) {
    const match = new RegExp(`${path.replace(/\//g, "\\/")}#token=([A-Za-z0-9_-]+)`).exec(m.text);
    if (match) return match[1]!;
  }
  throw new Error(`no ${path} link was mailed to ${address}`);
}
