import { type PushFaults } from "../admin/faults";

export interface PushAttempt {
  channel: string;
  notificationId: string;
  url: string;
  attempt: number;
  status: number | "timeout" | "error" | "dropped" | "no-endpoint";
  at: number;
}

export interface OutgoingPush {
  id: string;
  url: string | undefined;
  /** Builds headers and body per attempt (a fresh JWT, an attempt counter). */
  build(attempt: number): Promise<{ headers: Record<string, string>; body: string }>;
  isAck(status: number): boolean;
}

export interface RetryPolicy {
  timeoutMs(): number;
  initialBackoffMs(): number;
  maxBackoffMs(): number;
  /** Whether another attempt is allowed after `attempt` attempts, `firstAt` ms (real time) after the first. */
  mayRetry(attempt: number, elapsedMs: number): boolean;
}

/**
 * At-least-once delivery over HTTP with exponential backoff, plus the injected misbehaviour (drop,
 * duplicate, delay, reorder) that real push services show. Timers are real: tests shrink the delays.
 */
export class PushChannel {
  readonly log: PushAttempt[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #held: OutgoingPush[] = [];
  readonly #timers = new Map<NodeJS.Timeout, () => void>();
  #closed = false;

  constructor(
    readonly name: string,
    private readonly faults: () => PushFaults,
    private readonly policy: RetryPolicy,
    private readonly now: () => number,
  ) {}

  enqueue(push: OutgoingPush): void {
    const f = this.faults();
    if (f.drop > 0) {
      f.drop--;
      this.#record(push, 0, "dropped");
      return;
    }
    let copies = 1;
    if (f.duplicate > 0) {
      f.duplicate--;
      copies = 2;
    }
    let delay = 0;
    if (f.delay.count > 0) {
      f.delay.count--;
      delay = f.delay.ms;
    }
    for (let i = 0; i < copies; i++) {
      if (f.reorder > 0) {
        this.#held.push(push);
        if (this.#held.length >= f.reorder) {
          f.reorder = 0;
          this.#startInOrder(this.#held.splice(0).reverse(), delay);
        }
        continue;
      }
      this.#start(push, delay);
    }
  }

  /** Releases held notifications (reorder) now, in reverse order. */
  flushHeld(): void {
    this.#startInOrder(this.#held.splice(0).reverse(), 0);
  }

  /** One after another, so the endpoint really sees them in this order. */
  #startInOrder(batch: OutgoingPush[], delayMs: number): void {
    const task = (async () => {
      await this.#sleep(delayMs);
      for (const push of batch) await this.#run(push, 0);
    })().finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  #start(push: OutgoingPush, delayMs: number): void {
    const task = this.#run(push, delayMs).finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.set(t, resolve);
    });
  }

  async #run(push: OutgoingPush, delayMs: number): Promise<void> {
    await this.#sleep(delayMs);
    if (this.#closed) return;
    if (!push.url) {
      this.#record(push, 1, "no-endpoint");
      return;
    }
    const started = Date.now();
    let backoff = this.policy.initialBackoffMs();
    for (let attempt = 1; !this.#closed; attempt++) {
      const status = await this.#attempt(push, push.url, attempt);
      this.#record(push, attempt, status);
      if (typeof status === "number" && push.isAck(status)) return;
      if (!this.policy.mayRetry(attempt, Date.now() - started)) return;
      await this.#sleep(backoff);
      backoff = Math.min(backoff * 2, this.policy.maxBackoffMs());
    }
  }

  async #attempt(push: OutgoingPush, url: string, attempt: number): Promise<number | "timeout" | "error"> {
    try {
      const { headers, body } = await push.build(attempt);
      const res = await fetch(url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(this.policy.timeoutMs()),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    } catch (err) {
      return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError") ? "timeout" : "error";
    }
  }

  #record(push: OutgoingPush, attempt: number, status: PushAttempt["status"]): void {
    this.log.push({
      channel: this.name,
      notificationId: push.id,
      url: push.url ?? "",
      attempt,
      status,
      at: this.now(),
    });
  }

  /** Resolves once nothing is being delivered or waiting for a retry. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  get pending(): number {
    return this.#inFlight.size + this.#held.length;
  }

  close(): void {
    this.#closed = true;
    this.#held.length = 0;
    for (const [t, resolve] of this.#timers) {
      clearTimeout(t);
      resolve();
    }
    this.#timers.clear();
  }
}
