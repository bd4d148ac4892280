/**
 * Development-only pages. The whole sub-app answers 404, like an unknown route, unless the
 * configuration says development, so a production deployment exposes none of it.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { html, raw } from "hono/html";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { DEV_OUTBOX_PREFIX, type DevOutboxEntry } from "../mail/mailer";

const developmentOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.var.config.development) throw new ApiError(404, "route_not_found", "No such route");
  await next();
});

async function readOutbox(bucket: R2Bucket, limit = 50): Promise<DevOutboxEntry[]> {
  const listed = await bucket.list({ prefix: DEV_OUTBOX_PREFIX, limit });
  const entries = await Promise.all(listed.objects.map(async (o) => (await bucket.get(o.key))?.json<DevOutboxEntry>()));
  return entries.filter((e): e is DevOutboxEntry => e !== undefined);
}

const linkify = (text: string) =>
  text.split(/(https?:\/\/\S+)/).map((part, i) => (i % 2 === 1 ? html`<a href="${part}">${part}</a>` : html`${part}`));

export const devRoutes = new Hono<AppEnv>()
  .use(developmentOnly)
  .get("/outbox.json", async (c) => c.json({ messages: await readOutbox(c.env.RAW_MAIL) }))
  .get("/outbox", async (c) => {
    const messages = await readOutbox(c.env.RAW_MAIL);
    const page = html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>Development outbox · Postroom</title>
          <style>
            ${raw(`body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
            article{border:1px solid #d0d7de;border-radius:8px;padding:1rem;margin:1rem 0}
            pre{white-space:pre-wrap;word-break:break-all;font:inherit}.meta{color:#57606a;font-size:.9rem}`)}
          </style>
        </head>
        <body>
          <h1>Development outbox</h1>
          <p class="meta">
            Mail Postroom sent while running in development, newest first. This page does not exist in production.
          </p>
          ${messages.length === 0 ? html`<p>No mail yet. Ask for a sign-in link on the <a href="/">sign-in page</a>.</p>` : ""}
          ${messages.map(
            (m) =>
              html`<article>
                <h2>${m.subject}</h2>
                <p class="meta">
                  ${m.from ? html`From ${m.from} · ` : ""}To ${m.to} · ${new Date(m.sentAt).toISOString()}
                </p>
                <pre>${linkify(m.text)}</pre>
              </article>`,
          )}
        </body>
      </html>`;
    return c.html(page);
  });
