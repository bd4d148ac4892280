/**
 * `npm run bench [-- --quick]`: Postroom's figures, measured on this machine against a real local
 * `wrangler dev` and the provider emulator, printed as a table and written to bench/results.json.
 * Every comparison is a ratio taken in the same run, since shared machines are noisy.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { startDevServer, type DevServer } from "../tests/browser/support/dev-server";

const root = path.resolve(import.meta.dirname, "..");
const quick = process.argv.includes("--quick");
const SIZES = quick ? { backfill: 300, push: 30 } : { backfill: 2000, push: 200 };
const GMAIL_UNITS_PER_MINUTE = 6000;
const GMAIL_GET_UNITS = 20;
/** Graph's published mailbox budget (10,000 requests per 10 minutes); a message costs a read and its MIME. */
const GRAPH_REQUESTS_PER_MINUTE = 1000;
const GRAPH_REQUESTS_PER_MESSAGE = 2;

type Results = Record<string, number | Record<string, number>>;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

/** A cookie jar and same-origin JSON calls, as the browser makes them. */
class Client {
  #jar = new Map<string, string>();
  constructor(private readonly origin: string) {}
  cookie() {
    return [...this.#jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  take(res: Response) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair] = sc.split(";");
      const i = pair!.indexOf("=");
      this.#jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  }
  async call<T>(pathname: string, body?: unknown): Promise<{ status: number; json: T; location: string | null }> {
    const res = await fetch(this.origin + pathname, {
      method: body === undefined ? "GET" : "POST",
      redirect: "manual",
      headers: { "content-type": "application/json", origin: this.origin, cookie: this.cookie() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    this.take(res);
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as T, location: res.headers.get("location") };
  }
}

async function signUp(server: DevServer, client: Client, email: string): Promise<void> {
  await client.call("/api/auth/signup", { email, accountName: "Bench Co" });
  const link = await server.latestLink(email, "/auth/verify");
  await client.call("/api/auth/verify", { token: new URL(link).hash.replace("#token=", "") });
}

/** Invites, then walks the real consent page as the given account, and returns the inbox id. */
async function connect(
  server: DevServer,
  client: Client,
  address: string,
  provider: "google" | "microsoft",
  account = address,
): Promise<string> {
  await client.call("/api/connections/invites", { email: address, kind: "shared" });
  const token = new URL(await server.latestLink(address, "/connect")).hash.replace("#token=", "");
  const start = await client.call<{ authorizeUrl: string }>("/api/connect/start", {
    token,
    provider,
    acknowledgeShared: true,
  });
  const page = await fetch(start.json.authorizeUrl, { redirect: "manual" });
  const html = await page.text();
  const decode = (s: string) => s.replace(/&amp;/g, "&");
  const action = decode(/<form[^>]*action="([^"]+)"/.exec(html)![1]!);
  const form = new URLSearchParams({
    request: /name="request" value="([^"]+)"/.exec(html)![1]!,
    account,
    decision: "allow",
  });
  for (const m of html.matchAll(/name="scope" value="([^"]+)"/g)) form.append("scope", decode(m[1]!));
  const answered = await fetch(new URL(action, start.json.authorizeUrl), {
    method: "POST",
    body: form,
    redirect: "manual",
  });
  const callback = new URL(answered.headers.get("location")!);
  const done = await fetch(server.origin + callback.pathname + callback.search, {
    redirect: "manual",
    headers: { cookie: client.cookie() },
  });
  const result = new URL(done.headers.get("location")!);
  const inbox = result.searchParams.get("inbox");
  if (!inbox) throw new Error(`connect refused: ${result.searchParams.get("outcome")}`);
  return inbox;
}

function bundleBytes(): number {
  const dir = path.join(root, "dist", "web", "assets");
  let total = 0;
  for (const f of readdirSync(dir)) {
    if (!/\.(js|css)$/.test(f)) continue;
    total += gzipSync(readFileSync(path.join(dir, f)), { level: 9 }).byteLength;
  }
  return total;
}

async function main() {
  const results: Results = {};
  const server = await startDevServer({ emulator: true, emulatorWorld: "empty", gmailPush: true });
  try {
    const emulator = server.emulator!;
    const client = new Client(server.origin);
    await signUp(server, client, "bench-owner@example.com");

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
    const inboxId = await connect(server, client, "sales@demo.test", "google");
    let status: { phase: string; backfill: { done: number; total: number } };
    for (;;) {
      status = (await client.call<typeof status>(`/api/connections/${inboxId}/sync`)).json;
      if (status.phase === "live" && status.backfill.done >= SIZES.backfill) break;
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
      if (s.phase === "live" && s.backfill.done >= SIZES.backfill) break;
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
    results.bundle_gzip_bytes = { app: bundleBytes() };
  } finally {
    await server.stop();
  }

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
