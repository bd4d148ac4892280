import { DurableObject } from "cloudflare:workers";
import type { HealthReason } from "../../worker/contracts";
import { GrantKeeper, type ConnectInput, type GrantHealth, type LeaseResult } from "./grant-keeper";
import { MAILBOX_STORAGE_MIGRATIONS, migrateStorage } from "./storage-migrations";

export interface MailboxDescription {
  schemaVersion: number;
  mailboxId: string | null;
  connected: boolean;
}

/**
 * One object per connected mailbox, addressed by the mailbox's opaque id: the single writer of its
 * grant (sealed tokens, refresh, health) and, with the sync engine, of its cursor. The refresh token
 * never leaves this object: callers get short-lived access-token leases.
 */
export class MailboxDO extends DurableObject<Env> {
  #schemaVersion = 0;
  #grants: GrantKeeper;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#grants = new GrantKeeper(ctx, env);
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
    return {
      schemaVersion: this.#schemaVersion,
      mailboxId: this.#meta("mailbox_id"),
      connected: this.#grants.connected(),
    };
  }

  /** Stores a new grant (first connect or reconnect in place) and reports the mailbox Good. */
  async storeGrant(input: ConnectInput): Promise<{ ok: true } | { ok: false; error: "mailbox_mismatch" }> {
    const attached = await this.attach(input.mailboxId);
    if (!attached.ok) return attached;
    await this.#grants.connect(input);
    return { ok: true };
  }

  /** A short-lived access token for a provider call, refreshing it first when it is near expiry. */
  async leaseAccessToken(): Promise<LeaseResult> {
    return this.#grants.lease();
  }

  async health(): Promise<GrantHealth | null> {
    return this.#grants.health();
  }

  /** A provider call with a leased token failed in a way that says something about the grant. */
  async reportProviderFailure(reason: HealthReason, detail: string): Promise<void> {
    await this.#grants.reportFailure(reason, detail);
  }

  /** Revokes the grant at the provider and forgets everything this object stored. */
  async disconnect(): Promise<{ ok: true }> {
    await this.#grants.revoke();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // The object may be asked again (for example describe()); give it an empty, current schema.
    this.#schemaVersion = migrateStorage(this.ctx.storage, MAILBOX_STORAGE_MIGRATIONS);
    return { ok: true };
  }

  override async alarm(): Promise<void> {
    await this.#grants.onAlarm();
  }

  #meta(key: string): string | null {
    const rows = this.ctx.storage.sql
      .exec<{ value: string }>(`SELECT value FROM mailbox_meta WHERE key = ?`, key)
      .toArray();
    return rows[0]?.value ?? null;
  }
}
