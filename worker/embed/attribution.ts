/** Names of the partners that replies and notes were written through, for showing them in a thread. */
import { and, eq, inArray } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { SentVia } from "../contracts";
import type * as schema from "../db/schema";
import { embedPartners } from "../db/schema";

export async function partnerNames(
  db: DrizzleD1Database<typeof schema>,
  accountId: string,
  ids: (string | null)[],
): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select({ id: embedPartners.id, name: embedPartners.name })
    .from(embedPartners)
    .where(and(eq(embedPartners.accountId, accountId), inArray(embedPartners.id, wanted.slice(0, 90))))
    .all();
  return new Map(rows.map((r) => [r.id, r.name]));
}

export function sentVia(names: Map<string, string>, partnerId: string | null, userName: string | null): SentVia | null {
  if (partnerId === null || userName === null) return null;
  return { partnerId, partnerName: names.get(partnerId) ?? "a removed partner site", userName };
}
