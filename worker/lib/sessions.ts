/**
 * Browser sessions: an opaque random id in an HttpOnly cookie, its SHA-256 in D1. Revoking a row
 * ends the session everywhere at once, which a self-contained token could not do.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";
import { sessions, users } from "../db/schema";
import { randomToken, sha256Hex } from "./crypto";

/** `__Host-` pins the cookie to this exact host, over HTTPS, for every path. */
export const SESSION_COOKIE = "__Host-postroom_session";
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export async function startSession(c: Context<AppEnv>, user: { id: string; accountId: string }): Promise<void> {
  const id = randomToken();
  const now = Date.now();
  await c.var.db.batch([
    c.var.db.insert(sessions).values({
      idHash: await sha256Hex(id),
      accountId: user.accountId,
      userId: user.id,
      createdAt: now,
      expiresAt: now + SESSION_TTL_MS,
      lastSeenAt: now,
      ip: c.var.clientIp,
      userAgent: c.var.userAgent,
    }),
    c.var.db
      .update(users)
      .set({ lastSignInAt: now })
      .where(and(eq(users.accountId, user.accountId), eq(users.id, user.id))),
  ]);
  setCookie(c, SESSION_COOKIE, id, {
    path: "/",
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    maxAge: SESSION_TTL_MS / 1000,
  });
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true });
}

/** Revokes every live session of one user of one account (sign out everywhere, removal). */
export async function revokeUserSessions(c: Context<AppEnv>, accountId: string, userId: string): Promise<void> {
  await c.var.db
    .update(sessions)
    .set({ revokedAt: Date.now() })
    .where(and(eq(sessions.accountId, accountId), eq(sessions.userId, userId), isNull(sessions.revokedAt)));
}
