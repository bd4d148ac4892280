/**
 * Development-only pages. The whole sub-app answers 404, like an unknown route, unless the
 * configuration says development, so a production deployment exposes none of it.
 */
import { and, eq, inArray } from "drizzle-orm";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { html, raw } from "hono/html";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { threadListQuery } from "../contracts";
import { users } from "../db/schema";
import { seedThreads } from "../dev/seed-threads";
import { ApiError } from "../errors";
import { validate } from "../lib/validate";
import { DEV_OUTBOX_PREFIX, type DevOutboxEntry } from "../mail/mailer";
import { requireInboxAccess } from "../middleware/inbox-access";
import { originCheck } from "../middleware/origin-check";
import { ADMIN_ROLES, requireRole, requireSession } from "../middleware/session";
import { countSearchSegments } from "../search/index-maintenance";
import { usableInboxes } from "../threads/access";
import { listThreadsAndWay, type ListedPage } from "../threads/list";

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

const seedRequest = z
  .object({
    start: z.number().int().min(0).max(10_000_000),
    threads: z.number().int().min(1).max(5_000),
    messagesPerThread: z.number().int().min(1).max(50),
  })
  .strict();

const planQuery = threadListQuery
  .extend({
    view: z.enum(["inbox", "all", "assigned"]).default("inbox"),
    /** Also run the statement this many times and report D1's own execution time for each run. */
    runs: z.coerce.number().int().min(0).max(200).default(0),
  })
  .strict();

/** Load-measurement helpers (npm run bench): a caller's own inbox only, like every inbox route. */
const benchRoutes = new Hono<AppEnv>()
  .use(requireSession, originCheck)
  /** How many provider notifications the inbox's MailboxDO received: delivery counted where it lands. */
  .get("/:inboxId/notifications", requireInboxAccess, async (c) =>
    c.json({ received: await c.env.MAILBOX.getByName(c.req.param("inboxId")).notificationsReceived() }),
  )
  /** Bulk conversations for list and search measurements, assigned among the account's app users. */
  .post("/:inboxId/seed", requireRole(...ADMIN_ROLES), requireInboxAccess, validate("json", seedRequest), async (c) => {
    const body = c.req.valid("json");
    const { accountId } = c.var.principal;
    const team = await c.var.db
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.accountId, accountId), inArray(users.role, ["owner", "admin", "member", "light"])))
      .all();
    const seeded = await seedThreads(c.env.DB, {
      accountId,
      mailboxId: c.req.param("inboxId"),
      userIds: team.map((u) => u.id),
      now: Date.now(),
      ...body,
    });
    return c.json(seeded, 201);
  })
  /** EXPLAIN QUERY PLAN of the exact statement the thread list runs for these filters. */
  .get("/:inboxId/plan", requireInboxAccess, validate("query", planQuery), async (c) => {
    const { view, cursor, status, assignee, tag, unread, q, limit, runs } = c.req.valid("query");
    const inboxes = await usableInboxes(c);
    const inboxId = c.req.param("inboxId");
    const listed = view === "inbox" ? inboxes.filter((i) => i.id === inboxId) : inboxes;
    const request = {
      limit,
      inboxIds: listed.map((i) => i.id),
      inboxNames: listed,
      ...(cursor ? { cursor } : {}),
      ...(status ? { status } : {}),
      ...(view === "assigned" ? { assignee: "me" } : assignee ? { assignee } : {}),
      ...(tag ? { tag } : {}),
      ...(unread ? { unread: unread === "true" } : {}),
      ...(q ? { q } : {}),
    };
    // Each timed run is the whole list as a request runs it (the prefix's words, every statement);
    // the plan shown is the last run's statement, the one that made its page.
    const durations: number[] = [];
    let last: ListedPage | null = null;
    for (let i = 0; i < Math.max(1, runs); i++) {
      let total = 0;
      last = await listThreadsAndWay(c.env.DB, c.var.principal, request, { onStatement: (ms) => (total += ms) });
      if (i < runs) durations.push(total);
    }
    const way = last?.way ?? null;
    const query = last?.statement;
    if (!query) return c.json({ sql: null, way, plan: [], durations: [] });
    const plan = await c.env.DB.prepare(`EXPLAIN QUERY PLAN ${query.text}`)
      .bind(...query.values)
      .all<{ id: number; parent: number; detail: string }>();
    return c.json({
      sql: query.text,
      way,
      plan: plan.results.map((r) => ({ id: r.id, parent: r.parent, detail: r.detail })),
      durations,
    });
  });

export const devRoutes = new Hono<AppEnv>()
  .use(developmentOnly)
  /** A route that does nothing on the same runtime: the baseline webhook ingestion is compared with. */
  .post("/bench/bare", (c) => c.body(null, 200))
  /** How many segments the full-text index has (the scheduled merge brings them down to one). */
  .get("/bench/search-index", requireSession, async (c) => c.json({ segments: await countSearchSegments(c.env.DB) }))
  .route("/bench/inboxes", benchRoutes)
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
                ${Object.entries(m.headers ?? {}).map(([name, value]) => html`<p class="meta">${name}: ${value}</p>`)}
                <pre>${linkify(m.text)}</pre>
              </article>`,
          )}
        </body>
      </html>`;
    return c.html(page);
  });
