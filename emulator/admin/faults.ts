export type FaultTarget = "google-oauth" | "gmail" | "microsoft-identity" | "graph";

export const FAULT_TARGETS: readonly FaultTarget[] = ["google-oauth", "gmail", "microsoft-identity", "graph"];

export interface ErrorBurst {
  target: FaultTarget | "all";
  status: number;
  remaining: number;
  /** Only requests whose path contains this string are affected. */
  pathIncludes?: string;
}

export interface Latency {
  target: FaultTarget | "all";
  ms: number;
  /** null = until cleared. */
  remaining: number | null;
  pathIncludes?: string;
}

/** Applied to the next notifications of a channel, in this order: drop, duplicate, delay, reorder. */
export interface PushFaults {
  drop: number;
  duplicate: number;
  delay: { ms: number; count: number };
  /** Holds this many notifications, then releases them newest first. */
  reorder: number;
}

export const noPushFaults = (): PushFaults => ({ drop: 0, duplicate: 0, delay: { ms: 0, count: 0 }, reorder: 0 });

export function targetOf(path: string): FaultTarget | undefined {
  if (path.startsWith("/google/")) return "google-oauth";
  if (path.startsWith("/gmail/") || path.startsWith("/upload/gmail/") || path.startsWith("/batch/gmail/"))
    return "gmail";
  if (path.startsWith("/microsoft/")) return "microsoft-identity";
  if (path.startsWith("/graph/")) return "graph";
  return undefined;
}

export class Faults {
  bursts: ErrorBurst[] = [];
  latency: Latency[] = [];
  readonly push: Record<"gmail" | "graph", PushFaults> = { gmail: noPushFaults(), graph: noPushFaults() };

  #matches(rule: { target: FaultTarget | "all"; pathIncludes?: string }, target: FaultTarget, path: string): boolean {
    return (
      (rule.target === "all" || rule.target === target) && (!rule.pathIncludes || path.includes(rule.pathIncludes))
    );
  }

  takeBurst(target: FaultTarget, path: string): number | undefined {
    const rule = this.bursts.find((b) => b.remaining > 0 && this.#matches(b, target, path));
    if (!rule) return undefined;
    rule.remaining--;
    this.bursts = this.bursts.filter((b) => b.remaining > 0);
    return rule.status;
  }

  takeLatency(target: FaultTarget, path: string): number {
    const rule = this.latency.find((l) => (l.remaining === null || l.remaining > 0) && this.#matches(l, target, path));
    if (!rule) return 0;
    if (rule.remaining !== null) rule.remaining--;
    this.latency = this.latency.filter((l) => l.remaining === null || l.remaining > 0);
    return rule.ms;
  }

  clear(): void {
    this.bursts = [];
    this.latency = [];
    this.push.gmail = noPushFaults();
    this.push.graph = noPushFaults();
  }
}
