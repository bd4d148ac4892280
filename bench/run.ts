/**
 * `npm run bench [-- --quick]`: Postroom's figures, measured on this machine against a real local
 * `wrangler dev` and the provider emulator, printed as a table and written to bench/results.json.
 * Every comparison is a ratio taken in the same run, since shared machines are noisy.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { startDevServer } from "../tests/browser/support/dev-server";
import { Client, connect, signUp } from "./app-client";
import { measureIngest } from "./ingest";
import { measureLists, mergeIndex, seed } from "./thread-list";

const root = path.resolve(import.meta.dirname, "..");
const quick = process.argv.includes("--quick");
/**
 * `--only=lists` measures the thread list and search alone (no backfills, pushes or ingestion);
 * `--only=ingest` the webhook ingestion alone.
 */
const listsOnly = process.argv.includes("--only=lists");
const ingestOnly = process.argv.includes("--only=ingest");
const SIZES = quick
  ? { backfill: 150, push: 20, ingestSeconds: 8, threads: 10_000, messagesPerThread: 10, listRounds: 12 }
  : { backfill: 5000, push: 200, ingestSeconds: 30, threads: 100_000, messagesPerThread: 10, listRounds: 50 };
const GMAIL_UNITS_PER_MINUTE = 6000;
const GMAIL_GET_UNITS = 20;
/** Graph's published mailbox budget (10,000 requests per 10 minutes); a message costs a read and its MIME. */
const GRAPH_REQUESTS_PER_MINUTE = 1000;
const GRAPH_REQUESTS_PER_MESSAGE = 2;

type Results = Record<string, number | Record<string, number | null>>;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

const gzipSize = (file: string) => gzipSync(readFileSync(file), { level: 9 }).byteLength;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

/** Every JS and CSS file of the app, gzip level 9. */
function appBundleBytes(): number {
  const dir = path.join(root, "dist", "web", "assets");
  return filesUnder(dir)
    .filter((f) => /\.(js|css)$/.test(f))
    .reduce((n, f) => n + gzipSize(f), 0);
}

/** The widget's loader (embed.js) and everything under dist/web/widget; null when it is not built. */
function widgetBundleBytes(): number | null {
  const loader = path.join(root, "dist", "web", "embed.js");
  if (!existsSync(loader)) return null;
  const dir = path.join(root, "dist", "web", "widget");
  const assets = existsSync(dir) ? filesUnder(dir).filter((f) => /\.(js|css|html)$/.test(f)) : [];
  return [loader, ...assets].reduce((n, f) => n + gzipSize(f), 0);
}

async function main() {
  const results: Results = {};
  const server = await startDevServer({ emulator: true, emulatorWorld: "empty", gmailPush: true });
  try {
    const emulator = server.emulator!;
    const client = new Client(server.origin);
    await signUp(server, client, "bench-owner@example.com");

    let inboxId: string;
    if (listsOnly) inboxId = await connect(server, client, "sales@demo.test", "google");
    else if (ingestOnly) {
      const graphInbox = await connect(server, client, "support@demo-ms.test", "microsoft", "sam@demo-ms.test");
      results.ingest = {
        ...(await measureIngest(server, client, graphInbox, "support@demo-ms.test", {
          seconds: SIZES.ingestSeconds,
          maxRequests: 200_000,
        })),
      };
      inboxId = "";
    } else {
      // Backfill throughput against the emulator's quota ceiling for one Gmail mailbox.
      for (let i = 0; i < SIZES.backfill; i++) {
        emulator.deliver({
          to: "sales@demo.test",
          from: `Sender ${i} <s${i}@example.com>`,
          subject: `Backfill ${i}`,
          text: `Message ${i}`,
        });
      }
      const started = Date.now();
      inboxId = await connect(server, client, "sales@demo.test", "google");
      // Done when every delivered message is stored and the mailbox is live (a message may come in
      // by push or polling before the listing reaches it, so the backfill's own count can be lower).
      let status: { phase: string; storedCount: number };
      for (;;) {
        status = (await client.call<typeof status>(`/api/connections/${inboxId}/sync`)).json;
        if (status.phase === "live" && status.storedCount >= SIZES.backfill) break;
        if (Date.now() - started > 60 * 60_000) throw new Error("backfill did not finish within an hour");
        await new Promise((r) => setTimeout(r, 500));
      }
      const minutes = (Date.now() - started) / 60_000;
      const ceilingPerMinute = GMAIL_UNITS_PER_MINUTE / GMAIL_GET_UNITS;

      // The same for a Microsoft 365 shared mailbox, connected through its delegate.
      for (let i = 0; i < SIZES.backfill; i++) {
        emulator.deliver({
          to: "support@demo-ms.test",
          from: `Sender ${i} <s${i}@example.com>`,
          subject: `Graph backfill ${i}`,
          text: `Message ${i}`,
        });
      }
      const graphStarted = Date.now();
      const graphInbox = await connect(server, client, "support@demo-ms.test", "microsoft", "sam@demo-ms.test");
      for (;;) {
        const s = (await client.call<typeof status>(`/api/connections/${graphInbox}/sync`)).json;
        if (s.phase === "live" && s.storedCount >= SIZES.backfill) break;
        if (Date.now() - graphStarted > 60 * 60_000) throw new Error("Graph backfill did not finish within an hour");
        await new Promise((r) => setTimeout(r, 500));
      }
      const graphMinutes = (Date.now() - graphStarted) / 60_000;
      const graphCeiling = GRAPH_REQUESTS_PER_MINUTE / GRAPH_REQUESTS_PER_MESSAGE;
      results.backfill_quota_ratio = {
        gmail: Number((SIZES.backfill / minutes / ceilingPerMinute).toFixed(3)),
        graph: Number((SIZES.backfill / graphMinutes / graphCeiling).toFixed(3)),
      };
      results.backfill_messages = { gmail: SIZES.backfill, graph: SIZES.backfill };
      results.backfill_seconds = {
        gmail: Number((minutes * 60).toFixed(1)),
        graph: Number((graphMinutes * 60).toFixed(1)),
      };

      // Push-to-visible: the emulator delivers, Gmail-style push reaches the Worker, the inbox API shows it.
      const latencies: number[] = [];
      for (let i = 0; i < SIZES.push; i++) {
        const subject = `Live ${i} ${Date.now()}`;
        // Gmail sends at most one push per second per mailbox: stay under it so none is dropped by design.
        await new Promise((r) => setTimeout(r, 1100));
        const t0 = performance.now();
        emulator.deliver({ to: "sales@demo.test", from: "Live <live@example.com>", subject, text: "hello" });
        for (;;) {
          const page = await client.call<{ threads: { subject: string }[] }>(`/api/inboxes/${inboxId}/threads?limit=1`);
          if (page.json.threads[0]?.subject === subject) break;
          if (performance.now() - t0 > 30_000) throw new Error(`message ${i} not visible after 30 s`);
          await new Promise((r) => setTimeout(r, 20));
        }
        latencies.push(performance.now() - t0);
      }
      latencies.sort((a, b) => a - b);
      results.push_to_visible_ms = {
        p50: Math.round(percentile(latencies, 50)),
        p99: Math.round(percentile(latencies, 99)),
        samples: latencies.length,
      };

      // Webhook ingestion against a do-nothing route, on the Graph mailbox connected above.
      const ingest = await measureIngest(server, client, graphInbox, "support@demo-ms.test", {
        seconds: SIZES.ingestSeconds,
        maxRequests: 200_000,
      });
      results.ingest = { ...ingest };
    }

    // Thread list and search over a large inbox: seeded into the Gmail inbox, next to its real mail.
    if (!ingestOnly) await listFigures(client, server.origin, inboxId, results);

    const widget = widgetBundleBytes();
    results.bundle_gzip_bytes = { app: appBundleBytes(), widget };
    if (widget === null) console.log("widget bundle absent: dist/web/embed.js is not built");
  } finally {
    await server.stop();
  }
  report(results);
}

async function listFigures(client: Client, origin: string, inboxId: string, results: Results): Promise<void> {
  console.log(`seeding ${SIZES.threads} threads of ${SIZES.messagesPerThread} messages`);
  const seedSeconds = await seed(client, inboxId, SIZES.threads, SIZES.messagesPerThread);
  const merged = await mergeIndex(client, origin);
  console.log(
    `  search index: ${merged.segments_seeded} segments merged to ${merged.segments_merged} in ${merged.runs} scheduled runs (${merged.seconds} s)`,
  );
  results.search_index = { ...merged };
  const lists = await measureLists(client, inboxId, "sales@demo.test", { rounds: SIZES.listRounds });
  results.thread_list_ms = lists.list;
  results.signed_in_floor_ms = lists.floor;
  results.search_ms = lists.search;
  results.thread_list_sql_ms = lists.listSql;
  results.search_sql_ms = lists.searchSql;
  results.list_dataset = {
    threads: SIZES.threads,
    messages: SIZES.threads * SIZES.messagesPerThread,
    seed_seconds: Number(seedSeconds.toFixed(1)),
  };
  console.log("\nthread list and search, per query (ms)");
  console.table(lists.perQuery);
  console.log("query plans (EXPLAIN QUERY PLAN of the statements the list runs)");
  for (const p of lists.plans) console.log(`\n# ${p.name}\n${p.plan.map((d) => `  ${d}`).join("\n")}`);
}

function report(results: Results): void {
  const out = path.join(root, "bench", "results.json");
  const previous = statSync(out, { throwIfNoEntry: false }) ? (JSON.parse(readFileSync(out, "utf8")) as Results) : {};
  writeFileSync(
    out,
    JSON.stringify({ ...previous, ...results, measured_at: Date.now(), quick: quick ? 1 : 0 }, null, 2) + "\n",
  );
  console.log("\nPostroom benchmarks" + (quick ? " (quick)" : ""));
  console.table(
    Object.entries(results).flatMap(([k, v]) =>
      typeof v === "number"
        ? [{ figure: k, value: v }]
        : Object.entries(v).map(([kk, vv]) => ({ figure: `${k}.${kk}`, value: vv })),
    ),
  );
  console.log(`written to ${path.relative(process.cwd(), out)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
