/**
 * The token lifecycle of one mailbox: sealed storage, one refresh at a time, refresh ahead of
 * expiry from the alarm, and honest health. A rotated refresh token is persisted before the new
 * access token is handed out, so a crash can never leave us holding only a spent token.
 */
import type { HealthReason } from "../../worker/contracts";
import { readConfig } from "../../worker/config";
import { log } from "../../worker/lib/log";
import { createMailer } from "../../worker/mail/mailer";
import { healthChangeMail } from "../../worker/mail/templates";
import { readProviderConfig } from "../../worker/providers/config";
import { GoogleOAuth } from "../../worker/providers/google-oauth";
import { MicrosoftOAuth } from "../../worker/providers/microsoft-oauth";
import type { OAuthProvider, TokenFailure } from "../../worker/providers/oauth-types";
import { TokenVault } from "./token-vault";

/** Refresh this long before the access token expires, so no caller ever holds a dying token. */
export const REFRESH_AHEAD_MS = 5 * 60 * 1000;
/** A lease must stay valid at least this long to be worth handing out. */
const MIN_LEASE_MS = 60 * 1000;

export type Health = "good" | "degraded" | "failing";

export interface GrantHealth {
  health: Health;
  reason: HealthReason | null;
  detail: string | null;
  changedAt: number;
}

export interface ConnectInput {
  accountId: string;
  mailboxId: string;
  provider: "google" | "microsoft";
  address: string;
  grantEmail: string;
  kind: "shared" | "personal";
  refreshToken: string;
  accessToken: string;
  accessExpiresAt: number;
  scopes: string[];
}

export type LeaseResult =
  | {
      ok: true;
      accessToken: string;
      expiresAt: number;
      address: string;
      grantEmail: string;
      provider: "google" | "microsoft";
    }
  | { ok: false; reason: HealthReason | "not_connected"; detail: string };

interface GrantRow {
  account_id: string;
  mailbox_id: string;
  provider: "google" | "microsoft";
  address: string;
  grant_email: string;
  kind: string;
  refresh_sealed: string;
  access_sealed: string | null;
  access_expires_at: number | null;
  scopes: string;
  health: Health;
  health_reason: HealthReason | null;
  health_detail: string | null;
  health_changed_at: number;
}

/** Failures that only a person can repair; everything else is transient. */
const GRANT_FAILURES: ReadonlySet<string> = new Set([
  "invalid_grant",
  "mfa_required",
  "consent_revoked",
  "missing_scope",
]);

export const HEALTH_SENTENCES: Record<HealthReason, string> = {
  invalid_grant: "The mailbox's password was changed or its access was revoked. Send a reconnect link to its owner.",
  mfa_required: "The account now requires multi-factor authentication. Its owner must reconnect it.",
  consent_revoked: "The permission given to Postroom was removed. Its owner must reconnect and allow access.",
  missing_scope: "A permission Postroom needs is missing. Its owner must reconnect and allow every permission.",
  provider_unavailable: "The provider is not answering; Postroom keeps retrying.",
  push_lapsed:
    "Live updates from the provider stopped; Postroom is checking for new mail on a timer until they resume.",
  rate_limited: "The provider is slowing Postroom down; syncing continues at a lower rate.",
  send_failed: "Cloudflare Email Sending did not accept the last message; receiving still works.",
};

export class GrantKeeper {
  #refreshing: Promise<LeaseResult> | null = null;
  /** Capped exponential backoff for transient refresh failures (kept in memory; an eviction restarts it). */
  #transientFailures = 0;
  #retryAt: number | null = null;
  #vault: Promise<TokenVault> | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    /** The MailboxDO multiplexes every deadline onto its one alarm; tell it when ours moves. */
    private readonly onDeadlineChanged: () => Promise<void>,
  ) {}

  /** When this grant next needs attention: a refresh ahead of expiry, or a retry after a transient failure. */
  nextDeadline(): number | null {
    const row = this.#row();
    if (!row) return null;
    if (row.health_reason && GRANT_FAILURES.has(row.health_reason)) return null;
    if (row.health !== "good") return this.#retryAt ?? Date.now() + 60_000;
    return row.access_expires_at ? row.access_expires_at - REFRESH_AHEAD_MS : Date.now();
  }

  connected(): boolean {
    return this.#row() !== null;
  }

  dropAccessToken(): void {
    this.ctx.storage.sql.exec(`UPDATE grant_state SET access_sealed = NULL, access_expires_at = NULL WHERE id = 1`);
  }

  /** Whose grant this is: the account and mailbox it is bound to, and the provider. */
  binding(): { accountId: string; mailboxId: string; provider: "google" | "microsoft" } | null {
    const row = this.#row();
    return row ? { accountId: row.account_id, mailboxId: row.mailbox_id, provider: row.provider } : null;
  }

  health(): GrantHealth | null {
    const row = this.#row();
    return row
      ? { health: row.health, reason: row.health_reason, detail: row.health_detail, changedAt: row.health_changed_at }
      : null;
  }

  async connect(input: ConnectInput): Promise<void> {
    const vault = await this.#openVault();
    const binding = { accountId: input.accountId, mailboxId: input.mailboxId };
    const now = Date.now();
    const previous = this.#row();
    this.ctx.storage.sql.exec(
      `INSERT OR REPLACE INTO grant_state (id, account_id, mailbox_id, provider, address, grant_email, kind,
         refresh_sealed, access_sealed, access_expires_at, scopes, health, health_reason, health_detail,
         health_changed_at, updated_at)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'good', NULL, NULL, ?, ?)`,
      input.accountId,
      input.mailboxId,
      input.provider,
      input.address,
      input.grantEmail,
      input.kind,
      await vault.seal(input.refreshToken, binding),
      await vault.seal(input.accessToken, binding),
      input.accessExpiresAt,
      input.scopes.join(" "),
      now,
      now,
    );
    await this.#scheduleRefresh(input.accessExpiresAt);
    await this.#publishHealth(previous?.health ?? null, { health: "good", reason: null, detail: null, changedAt: now });
  }

  lease(): Promise<LeaseResult> {
    const row = this.#row();
    if (!row) return Promise.resolve({ ok: false, reason: "not_connected", detail: "This mailbox is not connected" });
    if (row.health === "failing" && row.health_reason && GRANT_FAILURES.has(row.health_reason)) {
      // A grant a person must repair is not retried on every call; reconnecting clears it.
      return Promise.resolve({ ok: false, reason: row.health_reason, detail: row.health_detail ?? "" });
    }
    if (row.access_sealed && row.access_expires_at && row.access_expires_at - Date.now() > MIN_LEASE_MS) {
      return this.#leaseFrom(row);
    }
    return this.#refreshOnce();
  }

  /** Concurrent callers share the one refresh in flight instead of each spending the refresh token. */
  #refreshOnce(): Promise<LeaseResult> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<LeaseResult> {
    const row = this.#row();
    if (!row) return { ok: false, reason: "not_connected", detail: "This mailbox is not connected" };
    const vault = await this.#openVault();
    const binding = { accountId: row.account_id, mailboxId: row.mailbox_id };
    const opened = await vault.open(row.refresh_sealed, binding);
    if (!opened.ok) {
      // Fail closed: a token we cannot authenticate is never sent anywhere.
      log.error("grant_unreadable", { mailboxId: row.mailbox_id, error: opened.error });
      await this.#setHealth(
        "failing",
        "invalid_grant",
        this.#whose(row, "The stored sign-in could not be read. Send a reconnect link to its owner."),
      );
      return { ok: false, reason: "invalid_grant", detail: "stored grant unreadable" };
    }
    const outcome = await this.#provider(row.provider).refresh(opened.plaintext);
    if (!outcome.ok) return this.#onRefreshFailure(outcome);

    const t = outcome.tokens;
    const now = Date.now();
    // Rotation (Microsoft always, Google sometimes): persist the new refresh token first.
    const refreshSealed =
      t.refreshToken !== null || opened.reencrypt
        ? await vault.seal(t.refreshToken ?? opened.plaintext, binding)
        : row.refresh_sealed;
    this.ctx.storage.sql.exec(
      `UPDATE grant_state SET refresh_sealed = ?, access_sealed = ?, access_expires_at = ?, updated_at = ? WHERE id = 1`,
      refreshSealed,
      await vault.seal(t.accessToken, binding),
      t.expiresAt,
      now,
    );
    this.#transientFailures = 0;
    this.#retryAt = null;
    await this.#scheduleRefresh(t.expiresAt);
    if (row.health !== "good") await this.#setHealth("good", null, null);
    return {
      ok: true,
      accessToken: t.accessToken,
      expiresAt: t.expiresAt,
      address: row.address,
      grantEmail: row.grant_email,
      provider: row.provider,
    };
  }

  async #onRefreshFailure(failure: TokenFailure): Promise<LeaseResult> {
    const reason: HealthReason = failure.reason === "request" ? "invalid_grant" : failure.reason;
    const grantBroken = GRANT_FAILURES.has(reason) || failure.reason === "request";
    log.warn("grant_refresh_failed", { reason, providerCode: failure.providerCode });
    await this.#setHealth(grantBroken ? "failing" : "degraded", reason, this.#sentence(reason));
    // Transient failures are retried from the alarm (nextDeadline); broken grants wait for a person.
    if (!grantBroken) {
      this.#transientFailures += 1;
      const backoff = Math.min(15 * 60_000, 30_000 * 2 ** Math.min(this.#transientFailures, 5));
      this.#retryAt = Date.now() + backoff / 2 + Math.random() * (backoff / 2);
    }
    await this.onDeadlineChanged();
    return { ok: false, reason, detail: failure.detail };
  }

  async reportFailure(reason: HealthReason, detail: string): Promise<void> {
    if (!this.#row()) return;
    const failing = GRANT_FAILURES.has(reason);
    await this.#setHealth(failing ? "failing" : "degraded", reason, detail || this.#sentence(reason));
  }

  /** A condition that is not about the grant (push lapsed, rate limited) is over: back to Good. */
  async clearFailure(reason: HealthReason): Promise<void> {
    const row = this.#row();
    if (row && row.health !== "failing" && row.health_reason === reason) await this.#setHealth("good", null, null);
  }

  /** Called from the alarm: refreshes when the deadline has come. */
  async onAlarm(): Promise<void> {
    const due = this.nextDeadline();
    if (due !== null && due <= Date.now()) await this.#refreshOnce();
  }

  async revoke(): Promise<void> {
    const row = this.#row();
    if (!row) return;
    const opened = await (
      await this.#openVault()
    ).open(row.refresh_sealed, {
      accountId: row.account_id,
      mailboxId: row.mailbox_id,
    });
    if (opened.ok) {
      try {
        await this.#provider(row.provider).revoke(opened.plaintext);
      } catch (err) {
        log.warn("grant_revoke_failed", { mailboxId: row.mailbox_id, error: err });
      }
    }
  }

  async #leaseFrom(row: GrantRow): Promise<LeaseResult> {
    const opened = await (
      await this.#openVault()
    ).open(row.access_sealed!, {
      accountId: row.account_id,
      mailboxId: row.mailbox_id,
    });
    if (!opened.ok) return this.#refreshOnce();
    return {
      ok: true,
      accessToken: opened.plaintext,
      expiresAt: row.access_expires_at!,
      address: row.address,
      grantEmail: row.grant_email,
      provider: row.provider,
    };
  }

  async #scheduleRefresh(_accessExpiresAt: number): Promise<void> {
    await this.onDeadlineChanged();
  }

  async #setHealth(health: Health, reason: HealthReason | null, detail: string | null): Promise<void> {
    const row = this.#row();
    if (!row) return;
    if (row.health === health && row.health_reason === reason) return;
    const now = Date.now();
    this.ctx.storage.sql.exec(
      `UPDATE grant_state SET health = ?, health_reason = ?, health_detail = ?, health_changed_at = ? WHERE id = 1`,
      health,
      reason,
      detail,
      now,
    );
    await this.#publishHealth(row.health, { health, reason, detail, changedAt: now });
  }

  /** Copies health to D1 for the lists, and emails the admins once per start and end of Failing. */
  async #publishHealth(previous: Health | null, next: GrantHealth): Promise<void> {
    const row = this.#row();
    if (!row) return;
    await this.env.DB.prepare(
      `UPDATE mailboxes SET health = ?, health_reason = ?, health_detail = ?, health_changed_at = ?
       WHERE account_id = ? AND id = ?`,
    )
      .bind(next.health, next.reason, next.detail, next.changedAt, row.account_id, row.mailbox_id)
      .run();
    const startedFailing = next.health === "failing" && previous !== "failing";
    const recovered = previous === "failing" && next.health === "good";
    if (!startedFailing && !recovered) return;
    try {
      const config = readConfig(this.env as unknown as Record<string, unknown>);
      const admins = await this.env.DB.prepare(
        `SELECT email FROM users WHERE account_id = ? AND role IN ('owner', 'admin') AND removed_at IS NULL`,
      )
        .bind(row.account_id)
        .all<{ email: string }>();
      const mailer = createMailer(this.env, config.development, config.mailFrom);
      for (const a of admins.results) {
        await mailer.send(
          healthChangeMail({
            to: a.email,
            address: row.address,
            recovered,
            detail: next.detail,
            appOrigin: config.appOrigin,
          }),
        );
      }
    } catch (err) {
      log.warn("health_mail_failed", { mailboxId: row.mailbox_id, error: err });
    }
  }

  /** The health sentence, naming the delegate when the connection runs on someone else's grant. */
  #sentence(reason: HealthReason): string {
    const row = this.#row();
    return row ? this.#whose(row, HEALTH_SENTENCES[reason]) : HEALTH_SENTENCES[reason];
  }

  #whose(row: Pick<GrantRow, "address" | "grant_email">, sentence: string): string {
    return row.grant_email !== row.address ? `Through the delegate ${row.grant_email}: ${sentence}` : sentence;
  }

  #row(): GrantRow | null {
    const rows = this.ctx.storage.sql
      .exec<GrantRow & Record<string, SqlStorageValue>>(`SELECT * FROM grant_state WHERE id = 1`)
      .toArray();
    return (rows[0] as GrantRow | undefined) ?? null;
  }

  #openVault(): Promise<TokenVault> {
    this.#vault ??= TokenVault.fromSecret(this.env.TOKEN_ENCRYPTION_KEYS);
    return this.#vault;
  }

  #provider(id: "google" | "microsoft"): OAuthProvider {
    const config = readProviderConfig(this.env);
    return id === "google" ? new GoogleOAuth(config.google) : new MicrosoftOAuth(config.microsoft);
  }
}
