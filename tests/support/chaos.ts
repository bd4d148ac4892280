import { env } from "cloudflare:workers";

/**
 * How hard the convergence properties push: `npm test` runs a few short fault sequences,
 * `npm run test:chaos` many long ones (CHAOS_RUNS, CHAOS_MAX_OPS).
 */
function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

export const chaosRuns = (): number => positive(env.TEST_CHAOS_RUNS, 3);
export const chaosMaxOps = (): number => Math.max(3, positive(env.TEST_CHAOS_MAX_OPS, 10));
/** Room for every run to settle (each may wait up to a minute for convergence) on a loaded machine. */
export const chaosTimeoutMs = (): number => 120_000 + chaosRuns() * Math.max(60_000, chaosMaxOps() * 6_000);
