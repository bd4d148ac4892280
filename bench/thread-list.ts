/**
 * Thread list (50 a page) and search latency over a large inbox in local D1: conversations are
 * seeded inside workerd through the development seed route, then the real API routes are timed one
 * request at a time (what a person waits for), and the query plans of the statements they run are
 * printed.
 */
import type { Client } from "./app-client";

export interface ListFigures {
  list: { p50: number; p99: number; samples: number };
  search: { p50: number; p99: number; samples: number };
  perQuery: { kind: "list" | "search"; name: string; p50: number; p99: number }[];
  plans: { name: string; sql: string; plan: string[] }[];
  seedSeconds: number;
}

const CHUNK = 2_000;

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

/** The views people open all day, and search operators of every kind. */
function queries(inboxId: string, address: string) {
  const inbox = `/api/inboxes/${inboxId}/threads?limit=50`;
  const list = [
    { name: "inbox", path: inbox },
    { name: "inbox, open", path: `${inbox}&status=open` },
    { name: "inbox, unread", path: `${inbox}&unread=true` },
    { name: "inbox, unassigned", path: `${inbox}&assignee=none` },
    { name: "inbox, tag", path: `${inbox}&tag=billing` },
    { name: "all inboxes", path: "/api/threads?view=all&limit=50" },
    { name: "assigned to me", path: "/api/threads?view=assigned&limit=50" },
  ];
  const q = (s: string) => `${inbox}&q=${encodeURIComponent(s)}`;
  const search = [
    { name: "word", q: "invoice" },
    { name: "two words", q: "refund damaged" },
    { name: "phrase", q: '"purchase order"' },
    { name: "from:", q: "from:okafor" },
    { name: "to:", q: "to:support" },
    { name: "subject:", q: "subject:renewal" },
    { name: "word -excluded", q: "budget -legal" },
    { name: "has:attachment", q: "has:attachment contract" },
    { name: "is:closed", q: "is:closed warehouse" },
    { name: "tag:", q: "tag:vip payment" },
    { name: "in:", q: `in:${address} tracking` },
    { name: "rare word", q: `#${Math.floor(Math.random() * 1000)}` },
  ].map((s) => ({ name: s.name, path: q(s.q), q: s.q }));
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
  const perQuery: ListFigures["perQuery"] = [];
  for (const [kind, items] of [
    ["list", list],
    ["search", search],
  ] as const) {
    for (const item of items) {
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
      samples.sort((a, b) => a - b);
      perQuery.push({
        kind,
        name: item.name,
        p50: round(percentile(samples, 50)),
        p99: round(percentile(samples, 99)),
      });
      all[kind].push(...samples);
    }
  }

  const plans: ListFigures["plans"] = [];
  const planFor = async (name: string, query: string) => {
    const r = await client.call<{ sql: string; plan: { detail: string }[] }>(
      `/dev/bench/inboxes/${inboxId}/plan?limit=50&${query}`,
    );
    if (r.status !== 200) throw new Error(`plan answered ${r.status}`);
    plans.push({ name, sql: r.json.sql.replace(/\s+/g, " ").trim(), plan: r.json.plan.map((p) => p.detail) });
  };
  await planFor("inbox", "");
  await planFor("inbox, unread", "unread=true");
  await planFor("all inboxes", "view=all");
  await planFor("assigned to me", "view=assigned");
  for (const s of search) await planFor(`search ${s.name}`, `q=${encodeURIComponent(s.q)}`);

  const summary = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), samples: sorted.length };
  };
  return { list: summary(all.list), search: summary(all.search), perQuery, plans, seedSeconds: 0 };
}
