/** Which provider ids a mailbox has not stored yet: what a listing still needs to fetch. */
import type { SyncIdentity } from "./gmail-sync";

/** D1 allows 100 bound parameters per statement. */
const CHUNK = 90;

export async function notStoredYet(db: D1Database, who: SyncIdentity, ids: readonly string[]): Promise<string[]> {
  const known = new Set<string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    const rows = await db
      .prepare(
        `SELECT provider_message_id AS id FROM message_sources
         WHERE account_id = ? AND mailbox_id = ? AND provider_message_id IN (${part.map(() => "?").join(",")})`,
      )
      .bind(who.accountId, who.mailboxId, ...part)
      .all<{ id: string }>();
    for (const r of rows.results) known.add(r.id);
  }
  return ids.filter((id) => !known.has(id));
}

/** The ids the mailbox has stored copies of. */
export async function storedOnly(db: D1Database, who: SyncIdentity, ids: readonly string[]): Promise<string[]> {
  const missing = new Set(await notStoredYet(db, who, ids));
  return ids.filter((id) => !missing.has(id));
}
