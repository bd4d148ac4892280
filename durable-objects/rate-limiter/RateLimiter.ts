import { DurableObject } from "cloudflare:workers";

export type RateVerdict = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

interface WindowState {
  start: number;
  count: number;
}

/**
 * A fixed-window counter for one key (for example `signin:ip:203.0.113.9`). One object per key
 * serialises every hit, so the count is exact; the state is tiny and kept in storage so an eviction
 * does not reset a budget an attacker is spending.
 */
export class RateLimiter extends DurableObject {
  async hit(limit: number, windowMs: number): Promise<RateVerdict> {
    const now = Date.now();
    let state = await this.ctx.storage.get<WindowState>("w");
    if (!state || now - state.start >= windowMs) {
      state = { start: now, count: 0 };
      // Forget the key once its window is over, so idle keys cost no storage.
      await this.ctx.storage.setAlarm(now + windowMs);
    }
    if (state.count >= limit) {
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((state.start + windowMs - now) / 1000)) };
    }
    state.count += 1;
    await this.ctx.storage.put("w", state);
    return { ok: true, remaining: limit - state.count };
  }

  override async alarm(): Promise<void> {
    // Each new window re-arms the alarm for its own end, so when this runs the last window is over.
    await this.ctx.storage.deleteAll();
  }
}
