/**
 * The mailbox's share of the provider's per-user quota, as a token bucket: callers reserve units
 * and are told how long to wait, so the provider's limit (not a 429 storm) paces a backfill.
 * Defaults follow Gmail's published per-user figure; deployments can tune it.
 */
export class QuotaBudget {
  readonly #perMinute: number;
  #tokens: number;
  #updatedAt = Date.now();
  #pausedUntil = 0;

  constructor(env: Env) {
    const configured = Number(env.GMAIL_UNITS_PER_MINUTE);
    this.#perMinute = Number.isFinite(configured) && configured > 0 ? configured : 6000;
    // Start with a small burst, not a full minute's worth, so a fresh object cannot overshoot.
    this.#tokens = this.#perMinute / 6;
  }

  /** Reserves `units`; returns how many milliseconds the caller must wait before spending them. */
  take(units: number): number {
    const now = Date.now();
    this.#tokens = Math.min(this.#perMinute / 6, this.#tokens + ((now - this.#updatedAt) * this.#perMinute) / 60_000);
    this.#updatedAt = now;
    this.#tokens -= units;
    const refillWait = this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 60_000) / this.#perMinute);
    return Math.max(refillWait, this.#pausedUntil - now, 0);
  }

  /** The provider answered 429: nobody spends until Retry-After (or 10 s) has passed. */
  pause(retryAfterMs: number | null): void {
    const ms = retryAfterMs ?? 10_000;
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms + Math.random() * 1000);
  }
}
