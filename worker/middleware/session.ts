import { and, eq, gt, isNull } from "drizzle-orm";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import type { Role } from "../contracts";
import { sessions, users } from "../db/schema";
import { ApiError, forbidden } from "../errors";
import { sha256Hex } from "../lib/crypto";
import { SESSION_COOKIE } from "../lib/sessions";

/** Touching last_seen_at on every request would turn every read into a write; once a minute is plenty. */
const LAST_SEEN_GRANULARITY_MS = 60_000;

/**
 * Resolves the signed-in person from the session cookie. The account comes only from here (or,
 * later, from a verified embed token): no route ever takes a tenant id from the request.
 */
export const requireSession = createMiddleware<AppEnv>(async (c, next) => {
  const raw = getCookie(c, SESSION_COOKIE);
  if (!raw || raw.length > 100) throw new ApiError(401, "unauthenticated", "Sign in to continue");
  const idHash = await sha256Hex(raw);
  const now = Date.now();
  const row = await c.var.db
    .select({
      userId: users.id,
      accountId: users.accountId,
      email: users.email,
      name: users.name,
      role: users.role,
      lastSeenAt: sessions.lastSeenAt,
    })
    .from(sessions)
    .innerJoin(users, and(eq(users.id, sessions.userId), eq(users.accountId, sessions.accountId)))
    .where(
      and(
        eq(sessions.idHash, idHash),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, now),
        isNull(users.removedAt),
      ),
    )
    .get();
  if (!row) throw new ApiError(401, "unauthenticated", "Your session has ended; sign in again");
  if (row.role === "contributor") {
    throw forbidden("Your address contributes a mailbox to this account but has no access to the app");
  }
  if (now - row.lastSeenAt > LAST_SEEN_GRANULARITY_MS) {
    await c.var.db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.idHash, idHash));
  }
  c.set("principal", {
    sessionIdHash: idHash,
    userId: row.userId,
    accountId: row.accountId,
    email: row.email,
    name: row.name,
    role: row.role,
  });
  await next();
});

/** Lets a route through only for the listed roles. */
export const requireRole = (...roles: Role[]) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!roles.includes(c.var.principal.role)) throw forbidden();
    await next();
  });

export const ADMIN_ROLES: Role[] = ["owner", "admin"];
export const APP_ROLES: Role[] = ["owner", "admin", "member", "light"];
