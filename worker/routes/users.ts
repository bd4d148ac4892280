import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import { changeRoleRequest, idSchema, type UserView } from "../contracts";
import { inboxAccess, users } from "../db/schema";
import { ApiError, forbidden, notFound } from "../errors";
import { auditInsert } from "../lib/audit";
import { canChangeRole, canRemove } from "../lib/role-policy";
import { revokeUserSessions } from "../lib/sessions";
import { validate } from "../lib/validate";
import { originCheck } from "../middleware/origin-check";
import { ADMIN_ROLES, APP_ROLES, requireRole, requireSession } from "../middleware/session";
import { z } from "zod";

const userParam = z.object({ userId: idSchema });

const lastOwner = () =>
  new ApiError(409, "last_owner", "An account needs at least one owner: make someone else an owner first");

async function findUser(c: Context<AppEnv>, userId: string) {
  const user = await c.var.db
    .select()
    .from(users)
    .where(and(eq(users.accountId, c.var.principal.accountId), eq(users.id, userId), isNull(users.removedAt)))
    .get();
  if (!user) throw notFound("User");
  return user;
}

/**
 * Part of the WHERE clause of any change that could take away an owner: the check and the change are
 * one statement, so two owners demoting each other at once cannot leave the account without one.
 */
const keepsAnOwner = (accountId: string) =>
  sql`(${users.role} != 'owner' or (select count(*) from users o where o.account_id = ${accountId} and o.role = 'owner' and o.removed_at is null) > 1)`;

export const toUserView = (u: typeof users.$inferSelect): UserView => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  createdAt: u.createdAt,
  lastSignInAt: u.lastSignInAt,
});

export const userRoutes = new Hono<AppEnv>()
  .use(requireSession, originCheck)
  .get("/", requireRole(...APP_ROLES), async (c) => {
    const rows = await c.var.db
      .select()
      .from(users)
      .where(and(eq(users.accountId, c.var.principal.accountId), isNull(users.removedAt)))
      .orderBy(asc(users.email))
      .all();
    return c.json({ users: rows.map(toUserView) });
  })
  .patch(
    "/:userId",
    requireRole(...ADMIN_ROLES),
    validate("param", userParam),
    validate("json", changeRoleRequest),
    async (c) => {
      const { userId } = c.req.valid("param");
      const { role } = c.req.valid("json");
      const p = c.var.principal;
      const target = await findUser(c, userId);
      if (!canChangeRole(p.role, target.role, role))
        throw forbidden("Only an owner can grant or change the owner role");
      if (target.role === role) return c.json({ user: toUserView(target) });
      const row = await c.var.db
        .update(users)
        .set({ role })
        .where(
          and(
            eq(users.accountId, p.accountId),
            eq(users.id, userId),
            isNull(users.removedAt),
            keepsAnOwner(p.accountId),
          ),
        )
        .returning()
        .get();
      if (!row) throw lastOwner();
      await auditInsert(c, {
        accountId: p.accountId,
        action: "user.role_changed",
        actor: { userId: p.userId, email: p.email },
        target: { type: "user", id: userId },
        details: { email: target.email, from: target.role, to: role },
      });
      return c.json({ user: toUserView(row) });
    },
  )
  .delete("/:userId", requireRole(...ADMIN_ROLES), validate("param", userParam), async (c) => {
    const { userId } = c.req.valid("param");
    const p = c.var.principal;
    const target = await findUser(c, userId);
    if (!canRemove(p.role, target.role)) throw forbidden("Only an owner can remove an owner");
    const removed = await c.var.db
      .update(users)
      .set({ removedAt: Date.now() })
      .where(
        and(eq(users.accountId, p.accountId), eq(users.id, userId), isNull(users.removedAt), keepsAnOwner(p.accountId)),
      )
      .returning({ id: users.id })
      .get();
    if (!removed) throw lastOwner();
    await c.var.db.batch([
      c.var.db.delete(inboxAccess).where(and(eq(inboxAccess.accountId, p.accountId), eq(inboxAccess.userId, userId))),
      auditInsert(c, {
        accountId: p.accountId,
        action: "user.removed",
        actor: { userId: p.userId, email: p.email },
        target: { type: "user", id: userId },
        details: { email: target.email, role: target.role },
      }),
    ]);
    await revokeUserSessions(c, p.accountId, userId);
    return c.body(null, 204);
  });
