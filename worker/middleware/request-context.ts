import { getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { readConfig } from "../config";
import { BOOKMARK_COOKIE, openDb } from "../db/client";

/**
 * Resolves the per-request values every route uses: configuration, the caller's address, and a D1
 * session that continues from the bookmark the browser carried back (read-your-writes on replicas).
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const config = readConfig(c.env as unknown as Record<string, unknown>);
  c.set("config", config);
  c.set("clientIp", c.req.header("cf-connecting-ip") ?? null);
  c.set("userAgent", c.req.header("user-agent")?.slice(0, 300) ?? null);
  const { db, bookmark } = openDb(c.env.DB, getCookie(c, BOOKMARK_COOKIE));
  c.set("db", db);
  await next();
  const latest = bookmark();
  if (latest) {
    setCookie(c, BOOKMARK_COOKIE, latest, {
      path: "/",
      httpOnly: true,
      secure: true,
      sameSite: "Lax",
      maxAge: 60 * 60 * 24,
    });
  }
});
