/**
 * The scheduled merge of the full-text index: an index written one small write at a time (as the
 * sync writes it) has many segments; the cron run merges them into one, in bounded steps that
 * resume where the last run stopped, and every search finds exactly what it found before.
 */
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { ulid } from "ulid";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { seedThreads } from "../../worker/dev/seed-threads";
import {
  countSearchSegments,
  MERGE_ABOVE_SEGMENTS,
  mergeSearchIndex,
  SCHEDULED_MERGE_LIMITS,
} from "../../worker/search/index-maintenance";
import { listThreads } from "../../worker/threads/list";
import { ensureAccount } from "../support/store-mail";

const me = { accountId: ulid(), userId: ulid(), email: "me@merge.test" };
const inbox = ulid();
const searches = ["invoice", "refund damaged", '"payment reminder"', "from:okafor", "subject:renewal", "budget -legal"];
let written = 0;

/** One more small write to the index: a few threads in their own batch, as one sync write would be. */
async function writeOnce(): Promise<void> {
  await seedThreads(env.DB, {
    accountId: me.accountId,
    mailboxId: inbox,
    start: written * 3,
    threads: 3,
    messagesPerThread: 2,
    userIds: [me.userId],
    now: Date.now(),
  });
  written++;
}

/** Writes until the index has more segments than the merge leaves alone. */
async function fragment(): Promise<number> {
  for (let i = 0; i < 400; i++) {
    const segments = await countSearchSegments(env.DB);
    if (segments > MERGE_ABOVE_SEGMENTS + 2) return segments;
    await writeOnce();
  }
  throw new Error("the index never fragmented");
}

const found = async () => {
  const out: Record<string, string[]> = {};
  for (const q of searches) {
    const page = await listThreads(env.DB, me, { inboxIds: [inbox], q, limit: 500 });
    out[q] = page.threads.map((t) => t.id);
  }
  return out;
};

const integrityCheck = () =>
  env.DB.prepare(`INSERT INTO message_search (message_search) VALUES ('integrity-check')`).run();

beforeAll(async () => {
  await ensureAccount(me.accountId);
});

describe("the scheduled index merge", () => {
  it("merges a fragmented index into one segment, and every search finds the same", async () => {
    const before = await fragment();
    expect(before).toBeGreaterThan(MERGE_ABOVE_SEGMENTS);
    const expected = await found();
    expect(Object.values(expected).some((ids) => ids.length > 0)).toBe(true);

    // The Worker's own scheduled handler, as a cron trigger calls it.
    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), env);
    expect(await countSearchSegments(env.DB)).toBe(1);
    expect(await found()).toEqual(expected);
    await integrityCheck();
  });

  it("leaves a merged index alone, and merges again once new writes fragment it", async () => {
    expect(await mergeSearchIndex(env.DB)).toMatchObject({ segmentsBefore: 1, segmentsAfter: 1, steps: 0 });
    await writeOnce();
    const few = await mergeSearchIndex(env.DB);
    expect(few.steps).toBe(0);
    expect(few.segmentsAfter).toBeLessThanOrEqual(MERGE_ABOVE_SEGMENTS);

    await fragment();
    const expected = await found();
    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *" }), env);
    expect(await countSearchSegments(env.DB)).toBe(1);
    expect(await found()).toEqual(expected);
  });

  it("goes in bounded steps, and the next run finishes what the last one started", async () => {
    await fragment();
    const expected = await found();
    const limits = { ...SCHEDULED_MERGE_LIMITS, pagesPerStep: 1, maxSteps: 2 };
    const first = await mergeSearchIndex(env.DB, limits);
    expect(first.steps).toBe(2);
    expect(first.segmentsAfter).toBeGreaterThan(1);
    expect(await found()).toEqual(expected);
    // Later runs (the cron every ten minutes) go on from where the first stopped, to one segment.
    let runs = 0;
    while ((await mergeSearchIndex(env.DB, { ...limits, above: 1 })).segmentsAfter > 1) {
      runs++;
      expect(runs).toBeLessThan(1_000);
    }
    expect(await found()).toEqual(expected);
    await integrityCheck();
  });
});
