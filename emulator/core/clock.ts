/**
 * The emulator's sense of time. Every expiry (tokens, codes, watches, subscriptions, quota windows,
 * history retention) reads this clock, so tests move time forward instead of sleeping.
 */
export interface Clock {
  now(): number;
  /** Moves emulated time forward; real timers (push retries, injected latency) are not affected. */
  advance(ms: number): void;
  readonly offsetMs: number;
}

export function createClock(base: () => number = Date.now): Clock {
  let offset = 0;
  return {
    now: () => base() + offset,
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError("clock can only move forward");
      offset += ms;
    },
    get offsetMs() {
      return offset;
    },
  };
}
