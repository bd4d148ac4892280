/**
 * D1 access through the Sessions API: each request starts from the bookmark the browser carried
 * back, so a read replica never serves a user data older than their own last write.
 */
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

export const BOOKMARK_COOKIE = "postroom_d1b";

export interface SessionDb {
  db: DrizzleD1Database<typeof schema>;
  bookmark: () => string | null;
}

export function openDb(d1: D1Database, bookmark: string | null | undefined): SessionDb {
  const session = d1.withSession(bookmark || "first-unconstrained");
  // drizzle only calls prepare() and batch(), which a D1DatabaseSession has; its type predates sessions.
  const db = drizzle(session as unknown as D1Database, { schema });
  return { db, bookmark: () => session.getBookmark() };
}
