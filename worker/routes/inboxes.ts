/** Inboxes the caller may use, and (for admins) who else may use each one. */
import { and, asc, eq, inArray, isNull, ne } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { setInboxAccessRequest, type InboxListItem, type InboxView } from "../contracts";
import { inboxAccess, mailboxes, users } from "../db/schema";
import { ApiError } from "../errors";
import { auditInsert } from "../lib/audit";
import { validate } from "../lib/validate";
import { requireInboxAccess } from "../middleware/inbox-access";
import { originCheck } from "../middleware/origin-check";
import { ADMIN_ROLES, requireRole, requireSession } from "../middleware/session";
import { grantOf } from "../threads/access";
import { newMessageRoutes } from "./send";
import { threadRoutes } from "./threads";

const toInboxView = (m: typeof mailboxes.$inferSelect): InboxView => ({
  id: m.id,
  address: m.address,
  displayName: m.displayName,
  provider: m.provider,
  kind: m.kind,
});

export const inboxRoutes = new Hono<AppEnv>()
  .use(requireSession, originCheck)
  .route("/", threadRoutes)
  .route("/", newMessageRoutes)
  .get("/", async (c) => {
    const { accountId, userId, role } = c.var.principal;
    const rows =
      role === "owner" || role === "admin"
        ? await c.var.db
            .select()
            .from(mailboxes)
            .where(eq(mailboxes.accountId, accountId))
            .orderBy(asc(mailboxes.address))
            .all()
        : (
            await c.var.db
              .select({ m: mailboxes })
              .from(mailboxes)
              .innerJoin(inboxAccess, grantOf(userId))
              .where(eq(mailboxes.accountId, accountId))
              .orderBy(asc(mailboxes.address))
              .all()
          ).map((r) => r.m);
    // One grouped count for every inbox: open threads with activity since this user last read them.
    const counts = await c.env.DB.prepare(
      `SELECT tm.mailbox_id AS id, count(*) AS n FROM thread_mailboxes tm
       JOIN threads t ON t.account_id = tm.account_id AND t.id = tm.thread_id
       WHERE tm.account_id = ?1 AND t.hidden_at IS NULL
         AND (CASE WHEN t.status = 'snoozed' AND t.snoozed_until <= ?3 THEN 'open' ELSE t.status END) = 'open'
         AND NOT EXISTS (SELECT 1 FROM thread_reads r WHERE r.account_id = t.account_id AND r.user_id = ?2
           AND r.thread_id = t.id AND r.read_at >= t.last_message_at)
       GROUP BY tm.mailbox_id`,
    )
      .bind(accountId, userId, Date.now())
      .all<{ id: string; n: number }>();
    const unread = new Map(counts.results.map((r) => [r.id, r.n]));
    const inboxes: InboxListItem[] = rows.map((m) => ({
      ...toInboxView(m),
      health: m.health,
      unread: unread.get(m.id) ?? 0,
    }));
    return c.json({ inboxes });
  })
  /**
   * GET /api/inboxes/:inboxId/live — the inbox's live channel (WebSocket): thread changes, and who
   * is viewing or replying where. Browsers send cookies on cross-site WebSocket handshakes, so the
   * Origin must be the app's own.
   */
  .get("/:inboxId/live", requireInboxAccess, async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "upgrade_required", "This endpoint speaks WebSocket only");
    }
    if (c.req.header("origin") !== c.var.config.appOrigin) {
      throw new ApiError(403, "bad_origin", "WebSocket connections are accepted from the app's own pages only");
    }
    const p = c.var.principal;
    return c.env.MAILBOX.getByName(c.req.param("inboxId")).fetch(
      new Request("https://mailbox.internal/live", {
        headers: { upgrade: "websocket", "x-user-id": p.userId, "x-user-name": p.name || p.email },
      }),
    );
  })
  .get("/:inboxId", requireInboxAccess, async (c) => {
    const row = await c.var.db
      .select()
      .from(mailboxes)
      .where(and(eq(mailboxes.accountId, c.var.principal.accountId), eq(mailboxes.id, c.req.param("inboxId"))))
      .get();
    // requireInboxAccess has already proven the row exists in this account.
    return c.json({ inbox: toInboxView(row!) });
  })
  .get("/:inboxId/access", requireRole(...ADMIN_ROLES), requireInboxAccess, async (c) => {
    const rows = await c.var.db
      .select({ userId: inboxAccess.userId })
      .from(inboxAccess)
      .where(
        and(eq(inboxAccess.accountId, c.var.principal.accountId), eq(inboxAccess.mailboxId, c.req.param("inboxId"))),
      )
      .all();
    return c.json({ userIds: rows.map((r) => r.userId) });
  })
  .put(
    "/:inboxId/access",
    requireRole(...ADMIN_ROLES),
    requireInboxAccess,
    validate("json", setInboxAccessRequest),
    async (c) => {
      const p = c.var.principal;
      const mailboxId = c.req.param("inboxId");
      const userIds = [...new Set(c.req.valid("json").userIds)];
      if (userIds.length > 0) {
        const known = await c.var.db
          .select({ id: users.id })
          .from(users)
          .where(
            and(
              eq(users.accountId, p.accountId),
              inArray(users.id, userIds),
              isNull(users.removedAt),
              ne(users.role, "contributor"),
            ),
          )
          .all();
        const knownIds = new Set(known.map((u) => u.id));
        const unknown = userIds.filter((id) => !knownIds.has(id));
        if (unknown.length > 0) {
          throw new ApiError(400, "unknown_users", "Some users are not members of this account", { userIds: unknown });
        }
      }
      const now = Date.now();
      await c.var.db.batch([
        c.var.db
          .delete(inboxAccess)
          .where(and(eq(inboxAccess.accountId, p.accountId), eq(inboxAccess.mailboxId, mailboxId))),
        ...userIds.map((userId) =>
          c.var.db.insert(inboxAccess).values({ accountId: p.accountId, mailboxId, userId, createdAt: now }),
        ),
        auditInsert(c, {
          accountId: p.accountId,
          action: "inbox.access_changed",
          actor: { userId: p.userId, email: p.email },
          target: { type: "inbox", id: mailboxId },
          details: { userIds },
        }),
      ]);
      return c.json({ userIds });
    },
  );
