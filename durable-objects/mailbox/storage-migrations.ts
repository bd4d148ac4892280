/**
 * The MailboxDO's own SQLite schema: a migration stream separate from D1's. Append only; each entry
 * runs once, in order, inside the constructor's blockConcurrencyWhile.
 */
export const MAILBOX_STORAGE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE mailbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // The provider grant: tokens sealed by the token vault, never in plain text.
  `CREATE TABLE grant_state (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     account_id TEXT NOT NULL,
     mailbox_id TEXT NOT NULL,
     provider TEXT NOT NULL,
     address TEXT NOT NULL,
     grant_email TEXT NOT NULL,
     kind TEXT NOT NULL,
     refresh_sealed TEXT NOT NULL,
     access_sealed TEXT,
     access_expires_at INTEGER,
     scopes TEXT NOT NULL,
     health TEXT NOT NULL,
     health_reason TEXT,
     health_detail TEXT,
     health_changed_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   )`,
  // Sync: one row. The cursor is the Gmail historyId or the Graph deltaLinks (JSON).
  `CREATE TABLE sync_state (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     phase TEXT NOT NULL,
     cursor TEXT,
     window_days INTEGER,
     backfill_after INTEGER,
     backfill_page_token TEXT,
     backfill_enumerated INTEGER NOT NULL DEFAULT 0,
     backfill_total INTEGER NOT NULL DEFAULT 0,
     backfill_done INTEGER NOT NULL DEFAULT 0,
     backfill_started_at INTEGER,
     watch_expires_at INTEGER,
     last_sync_at INTEGER,
     last_error TEXT,
     hint_pending INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER NOT NULL
   )`,
  // Graph keeps one delta cursor per folder: the whole deltaLink once a round is done, the nextLink
  // while one is under way. sync_state.cursor only marks that the folder list has been taken.
  `CREATE TABLE graph_folders (
     id TEXT PRIMARY KEY,
     label TEXT NOT NULL,
     excluded INTEGER NOT NULL DEFAULT 0,
     delta_link TEXT,
     next_link TEXT,
     round_after INTEGER,
     synced_at INTEGER,
     created_at INTEGER NOT NULL
   )`,
  // The Graph change-notification subscription. Only a hash of its clientState is kept: enough to
  // check a notification, useless to forge one.
  `CREATE TABLE graph_subscription (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     subscription_id TEXT,
     client_state_hash TEXT,
     renew_at INTEGER,
     reauthorize INTEGER NOT NULL DEFAULT 0,
     retry_at INTEGER,
     failures INTEGER NOT NULL DEFAULT 0,
     updated_at INTEGER NOT NULL
   )`,
  // When the backfill last moved, for the watchdog that restarts a stalled one.
  `ALTER TABLE sync_state ADD COLUMN backfill_progress_at INTEGER`,
  // A full listing under way records what it sees; copies it never saw are checked for removal.
  `ALTER TABLE sync_state ADD COLUMN reconcile_since INTEGER`,
  `CREATE TABLE listed_ids (id TEXT PRIMARY KEY)`,
  // A date-filtered delta round stops at Graph's cap: a folder that reaches it is listed in full too.
  `ALTER TABLE graph_folders ADD COLUMN round_count INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE graph_folders ADD COLUMN listing INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE graph_folders ADD COLUMN list_link TEXT`,
  // Which folders sync covers, and a relist asked for by a settings change (run by the sync loop).
  `ALTER TABLE sync_state ADD COLUMN scope TEXT NOT NULL DEFAULT 'all'`,
  `ALTER TABLE sync_state ADD COLUMN relist_requested INTEGER NOT NULL DEFAULT 0`,
  // A hosted address (no provider grant): its health and when mail last came in and went out.
  `CREATE TABLE hosted_state (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     account_id TEXT NOT NULL,
     mailbox_id TEXT NOT NULL,
     address TEXT NOT NULL,
     health TEXT NOT NULL,
     health_reason TEXT,
     health_detail TEXT,
     health_changed_at INTEGER NOT NULL,
     last_received_at INTEGER,
     last_sent_at INTEGER,
     created_at INTEGER NOT NULL
   )`,
];

/** Applies the pending migrations; `PRAGMA user_version` is unavailable in DO storage, so a table tracks them. */
export function migrateStorage(storage: DurableObjectStorage, migrations: readonly string[]): number {
  return storage.transactionSync(() => {
    storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
    );
    const row = storage.sql.exec<{ v: number | null }>(`SELECT MAX(version) AS v FROM _migrations`).one();
    const applied = row.v ?? 0;
    for (let version = applied + 1; version <= migrations.length; version++) {
      storage.sql.exec(migrations[version - 1]!);
      storage.sql.exec(`INSERT INTO _migrations (version, applied_at) VALUES (?, ?)`, version, Date.now());
    }
    return migrations.length;
  });
}
