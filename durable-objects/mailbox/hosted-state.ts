/**
 * The state of a hosted address inside its MailboxDO. There is no provider grant to keep: health
 * follows what the address itself does. Good while mail comes in and sending works; a send the
 * platform refuses makes it Degraded with the reason, and the next accepted send makes it Good.
 */
import type { HealthReason } from "../../worker/contracts";
import type { GrantHealth, Health } from "./grant-keeper";

interface HostedRow {
  account_id: string;
  mailbox_id: string;
  address: string;
  health: Health;
  health_reason: HealthReason | null;
  health_detail: string | null;
  health_changed_at: number;
  last_received_at: number | null;
  last_sent_at: number | null;
  created_at: number;
}

export class HostedState {
  constructor(
    private readonly sql: SqlStorage,
    private readonly db: D1Database,
  ) {}

  row(): HostedRow | null {
    const rows = this.sql
      .exec<HostedRow & Record<string, SqlStorageValue>>(`SELECT * FROM hosted_state WHERE id = 1`)
      .toArray();
    return (rows[0] as HostedRow | undefined) ?? null;
  }

  /** Idempotent: a second call for the same address changes nothing. */
  create(input: { accountId: string; mailboxId: string; address: string }): void {
    const now = Date.now();
    this.sql.exec(
      `INSERT OR IGNORE INTO hosted_state (id, account_id, mailbox_id, address, health, health_changed_at, created_at)
       VALUES (1, ?, ?, ?, 'good', ?, ?)`,
      input.accountId,
      input.mailboxId,
      input.address,
      now,
      now,
    );
  }

  health(): GrantHealth | null {
    const row = this.row();
    return row
      ? { health: row.health, reason: row.health_reason, detail: row.health_detail, changedAt: row.health_changed_at }
      : null;
  }

  received(): void {
    this.sql.exec(`UPDATE hosted_state SET last_received_at = ? WHERE id = 1`, Date.now());
  }

  async sent(): Promise<void> {
    this.sql.exec(`UPDATE hosted_state SET last_sent_at = ? WHERE id = 1`, Date.now());
    if (this.row()?.health_reason === "send_failed") await this.#setHealth("good", null, null);
  }

  async sendFailed(detail: string): Promise<void> {
    await this.#setHealth("degraded", "send_failed", detail);
  }

  /** Copied to D1 for the lists, as the grant keeper does for connected mailboxes. */
  async #setHealth(health: Health, reason: HealthReason | null, detail: string | null): Promise<void> {
    const row = this.row();
    if (!row || (row.health === health && row.health_reason === reason && row.health_detail === detail)) return;
    const now = Date.now();
    this.sql.exec(
      `UPDATE hosted_state SET health = ?, health_reason = ?, health_detail = ?, health_changed_at = ? WHERE id = 1`,
      health,
      reason,
      detail,
      now,
    );
    await this.db
      .prepare(
        `UPDATE mailboxes SET health = ?, health_reason = ?, health_detail = ?, health_changed_at = ?
         WHERE account_id = ? AND id = ?`,
      )
      .bind(health, reason, detail, now, row.account_id, row.mailbox_id)
      .run();
  }
}
