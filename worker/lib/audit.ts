import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { auditEvents } from "../db/schema";
import { newId } from "./ids";

export interface AuditEntry {
  accountId: string;
  action: string;
  actor?: { userId: string; email: string } | null;
  target?: { type: string; id: string };
  details?: Record<string, unknown>;
}

/** The insert for one audit entry, to batch with the change it records so both land or neither. */
export function auditInsert(c: Context<AppEnv>, entry: AuditEntry) {
  return c.var.db.insert(auditEvents).values({
    id: newId(),
    accountId: entry.accountId,
    actorUserId: entry.actor?.userId ?? null,
    actorEmail: entry.actor?.email ?? null,
    action: entry.action,
    targetType: entry.target?.type ?? null,
    targetId: entry.target?.id ?? null,
    details: JSON.stringify(entry.details ?? {}),
    ip: c.var.clientIp,
    userAgent: c.var.userAgent,
    createdAt: Date.now(),
  });
}
