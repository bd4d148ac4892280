/**
 * A full listing of the mailbox (first backfill, or a recovery after the cursor expired) shows what
 * is there, but not what went away meanwhile: history and deltas would have said so, and they are
 * what expired. So every id a listing sees is recorded here, and when the listing is complete, the
 * stored copies it did not see are candidates for removal. Each candidate is checked with the
 * provider before it goes (the listing may have raced with a move), so a late or partial listing
 * can cost a request, never a message.
 */
import type { SyncIdentity } from "./gmail-sync";

/** Stored copies examined per D1 query. */
const PAGE = 500;

export class ListingReconciler {
  constructor(private readonly sql: SqlStorage) {}

  /** A listing begins: copies stored before now and not seen by it will be checked. */
  start(): void {
    this.sql.exec(`DELETE FROM listed_ids`);
    this.sql.exec(`UPDATE sync_state SET reconcile_since = ? WHERE id = 1`, Date.now());
  }

  pending(): boolean {
    const row = this.sql
      .exec<{ since: number | null }>(`SELECT reconcile_since AS since FROM sync_state WHERE id = 1`)
      .toArray()[0];
    return row?.since != null;
  }

  record(ids: readonly string[]): void {
    for (const id of ids) this.sql.exec(`INSERT OR IGNORE INTO listed_ids (id) VALUES (?)`, id);
  }

  /** Records ids and returns those this listing had not seen yet (a full listing after a capped round repeats many). */
  firstSeen(ids: readonly string[]): string[] {
    const fresh: string[] = [];
    for (const id of ids) {
      if (this.sql.exec(`INSERT OR IGNORE INTO listed_ids (id) VALUES (?)`, id).rowsWritten > 0) fresh.push(id);
    }
    return fresh;
  }

  /** Stored copies of this mailbox that the listing did not see (sent placeholders aside). */
  async candidates(db: D1Database, who: SyncIdentity): Promise<string[]> {
    const since = this.sql
      .exec<{ since: number | null }>(`SELECT reconcile_since AS since FROM sync_state WHERE id = 1`)
      .toArray()[0]?.since;
    if (since == null) return [];
    const listed = new Set(
      this.sql
        .exec<{ id: string }>(`SELECT id FROM listed_ids`)
        .toArray()
        .map((r) => r.id),
    );
    const out: string[] = [];
    let after = "";
    for (;;) {
      const rows = await db
        .prepare(
          `SELECT provider_message_id AS id FROM message_sources
           WHERE account_id = ? AND mailbox_id = ? AND created_at < ? AND provider_message_id > ?
             AND provider_message_id NOT LIKE 'sent:%'
           ORDER BY provider_message_id LIMIT ?`,
        )
        .bind(who.accountId, who.mailboxId, since, after, PAGE)
        .all<{ id: string }>();
      for (const r of rows.results) if (!listed.has(r.id)) out.push(r.id);
      if (rows.results.length < PAGE) break;
      after = rows.results[rows.results.length - 1]!.id;
    }
    return out;
  }

  finish(): void {
    this.sql.exec(`DELETE FROM listed_ids`);
    this.sql.exec(`UPDATE sync_state SET reconcile_since = NULL WHERE id = 1`);
  }
}
