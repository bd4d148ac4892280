import { DurableObject } from "cloudflare:workers";
import { MAILBOX_STORAGE_MIGRATIONS, migrateStorage } from "./storage-migrations";

export interface MailboxDescription {
  schemaVersion: number;
  mailboxId: string | null;
}

/**
 * One object per connected mailbox, addressed by the mailbox's opaque id: the single writer of its
 * sync state. The connect and sync features add the token vault, the cursor and the alarms; this
 * base owns the storage schema they build on.
 */
export class MailboxDO extends DurableObject<Env> {
  #schemaVersion = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.#schemaVersion = migrateStorage(ctx.storage, MAILBOX_STORAGE_MIGRATIONS);
    });
  }

  /** Binds this object to its mailbox the first time it is used; later calls must name the same one. */
  async attach(mailboxId: string): Promise<{ ok: true } | { ok: false; error: "mailbox_mismatch" }> {
    const current = this.#meta("mailbox_id");
    if (current === null) {
      this.ctx.storage.sql.exec(`INSERT INTO mailbox_meta (key, value) VALUES ('mailbox_id', ?)`, mailboxId);
      return { ok: true };
    }
    return current === mailboxId ? { ok: true } : { ok: false, error: "mailbox_mismatch" };
  }

  async describe(): Promise<MailboxDescription> {
    return { schemaVersion: this.#schemaVersion, mailboxId: this.#meta("mailbox_id") };
  }

  #meta(key: string): string | null {
    const rows = this.ctx.storage.sql
      .exec<{ value: string }>(`SELECT value FROM mailbox_meta WHERE key = ?`, key)
      .toArray();
    return rows[0]?.value ?? null;
  }
}
