import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";

/**
 * Spends one unit of the budget named by `key` (one RateLimiter object per key, so counts are exact
 * across every edge location) and answers 429 with Retry-After once it is spent.
 */
export async function enforceRateLimit(
  c: Context<AppEnv>,
  key: string,
  limit: number,
  windowMs: number,
): Promise<void> {
  const verdict = await c.env.RATE_LIMITER.getByName(key).hit(limit, windowMs);
  if (!verdict.ok) {
    throw new ApiError(
      429,
      "rate_limited",
      "Too many requests; try again later",
      { retryAfterSeconds: verdict.retryAfterSeconds },
      { "Retry-After": String(verdict.retryAfterSeconds) },
    );
  }
}
