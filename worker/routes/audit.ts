import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { auditQuery, type AuditEventView } from "../contracts";
import { auditEvents } from "../db/schema";
import { validate } from "../lib/validate";
import { ADMIN_ROLES, requireRole, requireSession } from "../middleware/session";

export const auditRoutes = new Hono<AppEnv>()
  .use(requireSession, requireRole(...ADMIN_ROLES))
  .get("/", validate("query", auditQuery), async (c) => {
    const q = c.req.valid("query");
    const filters: SQL[] = [eq(auditEvents.accountId, c.var.principal.accountId)];
    if (q.action) filters.push(eq(auditEvents.action, q.action));
    if (q.actorUserId) filters.push(eq(auditEvents.actorUserId, q.actorUserId));
    if (q.before) {
      // Keyset on (created_at, id): events sharing a millisecond are neither skipped nor repeated.
      const [ms, id] = q.before.split(".") as [string, string];
      const at = Number(ms);
      filters.push(or(lt(auditEvents.createdAt, at), and(eq(auditEvents.createdAt, at), lt(auditEvents.id, id)))!);
    }
    const rows = await c.var.db
      .select()
      .from(auditEvents)
      .where(and(...filters))
      .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
      .limit(q.limit)
      .all();
    const events: AuditEventView[] = rows.map((r) => ({
      id: r.id,
      action: r.action,
      actorUserId: r.actorUserId,
      actorEmail: r.actorEmail,
      targetType: r.targetType,
      targetId: r.targetId,
      details: JSON.parse(r.details) as Record<string, unknown>,
      ip: r.ip,
      userAgent: r.userAgent,
      createdAt: r.createdAt,
    }));
    const last = rows.at(-1);
    return c.json({ events, nextBefore: rows.length === q.limit && last ? `${last.createdAt}.${last.id}` : null });
  });
