/** The MailboxDO's sync row: phase, provider cursor, backfill progress and deadlines. */

export type SyncPhase = "idle" | "backfilling" | "live" | "recovering" | "failing";

export interface SyncRow {
  phase: SyncPhase;
  cursor: string | null;
  window_days: number | null;
  backfill_after: number | null;
  backfill_page_token: string | null;
  backfill_enumerated: number;
  backfill_total: number;
  backfill_done: number;
  backfill_started_at: number | null;
  watch_expires_at: number | null;
  last_sync_at: number | null;
  last_error: string | null;
  hint_pending: number;
  backfill_progress_at: number | null;
  /** "all" folders but spam/junk and trash, or "inbox_sent" only. */
  scope: "all" | "inbox_sent";
  relist_requested: number;
}

export class SyncStateStore {
  constructor(private readonly sql: SqlStorage) {}

  get(): SyncRow | null {
    const rows = this.sql.exec(`SELECT * FROM sync_state WHERE id = 1`).toArray();
    return (rows[0] as unknown as SyncRow | undefined) ?? null;
  }

  /** Creates the row on first use. */
  ensure(): SyncRow {
    const row = this.get();
    if (row) return row;
    this.sql.exec(`INSERT INTO sync_state (id, phase, updated_at) VALUES (1, 'idle', ?)`, Date.now());
    return this.get()!;
  }

  update(fields: Partial<SyncRow>): SyncRow {
    this.ensure();
    const entries = Object.entries(fields);
    if (entries.length > 0) {
      const sets = entries.map(([k]) => `${k} = ?`).join(", ");
      this.sql.exec(
        `UPDATE sync_state SET ${sets}, updated_at = ? WHERE id = 1`,
        ...entries.map(([, v]) => v as SqlStorageValue),
        Date.now(),
      );
    }
    return this.get()!;
  }
}
