/**
 * Keeps the full-text index in few segments. Every stored message is its own write, and each write
 * adds a small segment; FTS5's automerge only combines segments of one level, so an index fed one
 * message at a time settles at up to three segments per level, tens of them for a large mailbox.
 * Every probe of a search reads each segment (one probe costs 3–4× less on a single segment than
 * on 14, measured on 1,000,000 messages), so a scheduled run merges them all into one.
 *
 * The merge goes a bounded number of pages per statement: D1 has one writer, and a statement that
 * rewrote a large index at once would hold up every incoming message meanwhile. FTS5 keeps an
 * unfinished merge in the index itself, so the next run continues where this one stopped.
 */

/** A run merges only when the index has more segments than this (a merged index plus a few new ones). */
export const MERGE_ABOVE_SEGMENTS = 4;
/** Pages (about 4 KB each) one merge statement writes: ~0.15 s of D1's time. */
export const MERGE_PAGES_PER_STEP = 500;

export interface MergeLimits {
  above: number;
  pagesPerStep: number;
  /** At most this many statements, and none begun after this much time, per run. */
  maxSteps: number;
  budgetMs: number;
}

export const SCHEDULED_MERGE_LIMITS: MergeLimits = {
  above: MERGE_ABOVE_SEGMENTS,
  pagesPerStep: MERGE_PAGES_PER_STEP,
  maxSteps: 40,
  budgetMs: 5_000,
};

export interface MergeReport {
  segmentsBefore: number;
  segmentsAfter: number;
  steps: number;
  ms: number;
}

/**
 * How many segments the index has: each one has at least one row in FTS5's page index
 * (message_search_idx, keyed by segment id first), so the distinct ids are read by seeking from one
 * id to the next instead of reading every page's row.
 */
export async function countSearchSegments(db: D1Database): Promise<number> {
  const row = await db
    .prepare(
      `WITH RECURSIVE seg(id) AS (
         SELECT min(segid) FROM message_search_idx
         UNION ALL
         SELECT (SELECT min(segid) FROM message_search_idx WHERE segid > seg.id) FROM seg WHERE seg.id IS NOT NULL
       )
       SELECT count(id) AS n FROM seg`,
    )
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Merges the index towards one segment, within the limits; nothing when it has few enough. */
export async function mergeSearchIndex(
  db: D1Database,
  limits: MergeLimits = SCHEDULED_MERGE_LIMITS,
): Promise<MergeReport> {
  const started = Date.now();
  const segmentsBefore = await countSearchSegments(db);
  let segments = segmentsBefore;
  let steps = 0;
  if (segments > limits.above) {
    // A negative page count makes FTS5 treat every segment as one level, so they all merge into one.
    const step = db
      .prepare(`INSERT INTO message_search (message_search, rank) VALUES ('merge', ?)`)
      .bind(-limits.pagesPerStep);
    while (steps < limits.maxSteps && Date.now() - started < limits.budgetMs && segments > 1) {
      await step.run();
      steps++;
      segments = await countSearchSegments(db);
    }
  }
  return { segmentsBefore, segmentsAfter: segments, steps, ms: Date.now() - started };
}
