/**
 * Thread list (50 a page) and search latency over a large inbox in local D1: conversations are
 * seeded inside workerd through the development seed route, then the real API routes are timed one
 * request at a time (what a person waits for), and the query plans of the statements they run are
 * printed.
 */
import type { Client } from "./app-client";

type Summary = { p50: number; p99: number; samples: number };

export interface ListFigures {
  /** End to end through the real API route (session, access check, query, JSON), one request at a time. */
  list: Summary;
  search: Summary;
  /**
   * GET /api/me, timed the same way: the cost of any signed-in request on this runtime (session,
   * two small queries, JSON), for reading the list's figures against.
   */
  floor: Summary;
  /** D1's own execution time of the list statement, the same queries. */
  listSql: Summary;
  searchSql: Summary;
  perQuery: { kind: "list" | "search"; name: string; p50: number; p99: number; sql_p50: number; sql_p99: number }[];
  plans: { name: string; sql: string; plan: string[] }[];
}

const CHUNK = 1_000;

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}
const round = (n: number) => Number(n.toFixed(1));

export async function seed(
  client: Client,
  inboxId: string,
  threads: number,
  messagesPerThread: number,
): Promise<number> {
  const started = Date.now();
  for (let start = 0; start < threads; start += CHUNK) {
    const n = Math.min(CHUNK, threads - start);
    const r = await client.call<{ threads: number }>(`/dev/bench/inboxes/${inboxId}/seed`, {
      start,
      threads: n,
      messagesPerThread,
    });
    if (r.status !== 201) throw new Error(`seed answered ${r.status}: ${JSON.stringify(r.json)}`);
    if ((start / CHUNK) % 5 === 4) process.stdout.write(`  seeded ${start + n} threads\n`);
  }
  return (Date.now() - started) / 1000;
}

export interface IndexMerge {
  segments_seeded: number;
  segments_merged: number;
  /** Scheduled runs (each a bounded number of merge steps) until one segment was left. */
  runs: number;
  seconds: number;
}

/**
 * Runs the Worker's scheduled upkeep (as its cron trigger would, every ten minutes) until the
 * full-text index is merged, so the lists are measured on the index a deployed inbox settles at.
 */
export async function mergeIndex(client: Client, origin: string): Promise<IndexMerge> {
  const segments = async () => {
    const r = await client.call<{ segments: number }>("/dev/bench/search-index");
    if (r.status !== 200) throw new Error(`search-index answered ${r.status}`);
    return r.json.segments;
  };
  const started = Date.now();
  const seeded = await segments();
  let left = seeded;
  let runs = 0;
  while (left > 1 && runs < 500) {
    const r = await fetch(`${origin}/__scheduled?cron=${encodeURIComponent("*/10 * * * *")}`);
    const body = await r.text();
    // Anything else (the app's page, say) means the scheduled handler never ran.
    if (!r.ok || body !== "Ran scheduled event")
      throw new Error(`/__scheduled answered ${r.status}: ${body.slice(0, 80)}`);
    runs++;
    left = await segments();
  }
  return { segments_seeded: seeded, segments_merged: left, runs, seconds: round((Date.now() - started) / 1000) };
}

/** The views people open all day, and search operators of every kind. */
function queries(inboxId: string, address: string) {
  const inbox = `/api/inboxes/${inboxId}/threads?limit=50`;
  const list = [
    { name: "inbox", path: inbox, plan: "" },
    { name: "inbox, open", path: `${inbox}&status=open`, plan: "status=open" },
    { name: "inbox, unread", path: `${inbox}&unread=true`, plan: "unread=true" },
    { name: "inbox, unassigned", path: `${inbox}&assignee=none`, plan: "assignee=none" },
    { name: "inbox, tag", path: `${inbox}&tag=billing`, plan: "tag=billing" },
    { name: "all inboxes", path: "/api/threads?view=all&limit=50", plan: "view=all" },
    { name: "assigned to me", path: "/api/threads?view=assigned&limit=50", plan: "view=assigned" },
  ];
  const q = (s: string) => `${inbox}&q=${encodeURIComponent(s)}`;
  const search = [
    { name: "word", q: "invoice" },
    { name: "two words", q: "refund damaged" },
    { name: "phrase", q: '"payment reminder"' },
    { name: "from:", q: "from:okafor" },
    { name: "to:", q: "to:support" },
    { name: "subject:", q: "subject:renewal" },
    { name: "word -excluded", q: "budget -legal" },
    { name: "has:attachment", q: "has:attachment contract" },
    { name: "is:closed", q: "is:closed warehouse" },
    { name: "tag:", q: "tag:vip payment" },
    { name: "in:", q: `in:${address} tracking` },
    { name: "rare word", q: `#${Math.floor(Math.random() * 1000)}` },
  ].map((s) => ({ name: s.name, path: q(s.q), plan: `q=${encodeURIComponent(s.q)}` }));
  return { list, search };
}

async function timeOne(client: Client, path: string): Promise<number> {
  const t0 = performance.now();
  const r = await client.call<{ threads: unknown[] }>(path);
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${path} answered ${r.status}`);
  return ms;
}

export async function measureLists(
  client: Client,
  inboxId: string,
  address: string,
  opts: { rounds: number },
): Promise<ListFigures> {
  const { list, search } = queries(inboxId, address);
  const all = { list: [] as number[], search: [] as number[] };
  const sql = { list: [] as number[], search: [] as number[] };
  const perQuery: ListFigures["perQuery"] = [];
  const plans: ListFigures["plans"] = [];
  for (const [kind, items] of [
    ["list", list],
    ["search", search],
  ] as const) {
    for (const item of items) {
      process.stdout.write(`  ${kind} ${item.name}\n`);
      // Pages 1 and 2 (the keyset cursor), both timed.
      await timeOne(client, item.path);
      const samples: number[] = [];
      for (let i = 0; i < opts.rounds; i++) {
        const t0 = performance.now();
        const first = await client.call<{ nextCursor: string | null }>(item.path);
        samples.push(performance.now() - t0);
        if (first.status !== 200) throw new Error(`${item.path} answered ${first.status}`);
        if (first.json.nextCursor && i % 4 === 0) {
          samples.push(await timeOne(client, `${item.path}&cursor=${first.json.nextCursor}`));
        }
      }
      const r = await client.call<{ sql: string; plan: { detail: string }[]; durations: number[] }>(
        `/dev/bench/inboxes/${inboxId}/plan?limit=50&runs=${opts.rounds}&${item.plan}`,
      );
      if (r.status !== 200) throw new Error(`plan answered ${r.status}`);
      plans.push({
        name: `${kind} ${item.name}`,
        sql: r.json.sql.replace(/\s+/g, " ").trim(),
        plan: r.json.plan.map((p) => p.detail),
      });
      samples.sort((a, b) => a - b);
      const durations = [...r.json.durations].sort((a, b) => a - b);
      perQuery.push({
        kind,
        name: item.name,
        p50: round(percentile(samples, 50)),
        p99: round(percentile(samples, 99)),
        sql_p50: round(percentile(durations, 50)),
        sql_p99: round(percentile(durations, 99)),
      });
      all[kind].push(...samples);
      sql[kind].push(...durations);
    }
  }

  const floor: number[] = [];
  for (let i = 0; i < opts.rounds * 4; i++) floor.push(await timeOne(client, "/api/me"));

  const summary = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), samples: sorted.length };
  };
  return {
    list: summary(all.list),
    floor: summary(floor),
    search: summary(all.search),
    listSql: summary(sql.list),
    searchSql: summary(sql.search),
    perQuery,
    plans,
  };
}
