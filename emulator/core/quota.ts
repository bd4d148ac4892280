/**
 * A refilling budget per key (user, or app + mailbox), read against the emulator clock so tests can
 * spend it and then move time forward to watch it refill.
 */
export class RateBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number) {}

  /** Spends `cost` from a budget of `capacity` per `windowMs`; returns the wait in ms when refused. */
  take(
    key: string,
    cost: number,
    capacity: number,
    windowMs: number,
  ): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.now();
    const rate = capacity / windowMs;
    const b = this.#buckets.get(key) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.#buckets.set(key, b);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil((cost - b.tokens) / rate) };
  }

  remaining(key: string, capacity: number, windowMs: number): number {
    const b = this.#buckets.get(key);
    if (!b) return capacity;
    return Math.min(capacity, b.tokens + (this.now() - b.at) * (capacity / windowMs));
  }

  reset(): void {
    this.#buckets.clear();
  }
}

/** In-flight request counts per key, for per-user / per-mailbox concurrency caps. */
export class ConcurrencyGate {
  readonly #inFlight = new Map<string, number>();

  tryEnter(key: string, limit: number): boolean {
    const n = this.#inFlight.get(key) ?? 0;
    if (n >= limit) return false;
    this.#inFlight.set(key, n + 1);
    return true;
  }

  leave(key: string): void {
    const n = (this.#inFlight.get(key) ?? 1) - 1;
    if (n <= 0) this.#inFlight.delete(key);
    else this.#inFlight.set(key, n);
  }
}
