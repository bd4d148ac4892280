/**
 * Restart faults: `wrangler dev` (and workerd with it) is killed without warning in the middle of a
 * backfill and in the middle of a burst of pushes, then started again on the same persisted state.
 * Afterwards each mailbox must hold every message exactly once. Runs for Gmail and for a Microsoft 365
 * shared mailbox through its delegate. Prints `CHAOS {...}` lines that `npm run test:chaos` adds up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, connect, signUp } from "../../bench/app-client";
import { startDevServer, type DevServer } from "../browser/support/dev-server";

const BACKFILL = 120;
const BURST = 30;

let server: DevServer;
let client: Client;

beforeAll(async () => {
  server = await startDevServer({ emulator: true, emulatorWorld: "empty", gmailPush: true });
  client = new Client(server.origin);
  await signUp(server, client, "restart-owner@example.com");
});

afterAll(async () => {
  await server?.stop();
});

interface Listed {
  subject: string;
  messageCount: number;
}

/** Every thread of the inbox, through the API, page by page. */
async function listAll(inboxId: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; json: { threads: Listed[]; nextCursor: string | null } } = await client.call(
      `/api/inboxes/${inboxId}/threads?limit=100${cursor ? `&cursor=${cursor}` : ""}`,
    );
    if (page.status !== 200) throw new Error(`thread list answered ${page.status}`);
    out.push(...page.json.threads);
    cursor = page.json.nextCursor;
  } while (cursor);
  return out;
}

/** Waits until every expected subject is listed (or the time is up), then counts lost and duplicated. */
async function converge(inboxId: string, expected: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let listed: Listed[] = [];
  for (;;) {
    listed = await listAll(inboxId);
    const seen = new Set(listed.map((t) => t.subject));
    if (expected.every((s) => seen.has(s)) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const counts = new Map<string, number>();
  for (const t of listed) counts.set(t.subject, (counts.get(t.subject) ?? 0) + t.messageCount);
  const lost = expected.filter((s) => !counts.has(s)).length;
  const duplicated = [...counts.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  return { lost, duplicated, threads: listed.length };
}

async function backfillDone(inboxId: string): Promise<number> {
  const r = await client.call<{ backfill: { done: number } }>(`/api/connections/${inboxId}/sync`);
  return r.json.backfill?.done ?? 0;
}

const MAILBOXES = [
  { provider: "google" as const, address: "sales@demo.test", account: "sales@demo.test", label: "gmail" },
  {
    provider: "microsoft" as const,
    address: "support@demo-ms.test",
    account: "sam@demo-ms.test",
    label: "graph",
  },
];

describe("restart faults", () => {
  for (const m of MAILBOXES) {
    it(`${m.label}: killed mid-backfill and mid-burst, nothing is lost or doubled`, async () => {
      const emulator = server.emulator!;
      const expected: string[] = [];
      const deliver = (subject: string) => {
        emulator.deliver({ to: m.address, from: "Rita <rita@example.com>", subject, text: subject });
        expected.push(subject);
      };
      for (let i = 0; i < BACKFILL; i++) deliver(`${m.label} backfill ${i}`);
      const inboxId = await connect(server, client, m.address, m.provider, m.account);

      // Fault 1: kill while the backfill is under way (some stored, most not).
      const started = Date.now();
      while ((await backfillDone(inboxId)) < 10) {
        if (Date.now() - started > 120_000) throw new Error("backfill did not start");
        await new Promise((r) => setTimeout(r, 200));
      }
      const doneBefore = await backfillDone(inboxId);
      expect(doneBefore).toBeLessThan(BACKFILL);
      await server.restart();
      const afterBackfill = await converge(inboxId, expected, 300_000);

      // Fault 2: a burst of new mail, the server killed halfway, mail still arriving while it is down.
      for (let i = 0; i < BURST / 2; i++) deliver(`${m.label} burst ${i}`);
      await new Promise((r) => setTimeout(r, 300));
      const restarting = server.restart();
      for (let i = BURST / 2; i < BURST; i++) deliver(`${m.label} burst ${i}`);
      await restarting;
      // One more message after the restart, as a mailbox in use gets: its push makes the mailbox read
      // from its stored cursor, whatever happened to the pushes sent while the server was down.
      await new Promise((r) => setTimeout(r, 1_500));
      deliver(`${m.label} after restart`);
      const afterBurst = await converge(inboxId, expected, 300_000);

      const tally = {
        provider: `restart-${m.label}`,
        runs: 2,
        messages: expected.length,
        faults: 2,
        lost: afterBurst.lost,
        duplicated: afterBurst.duplicated,
      };
      console.log(`CHAOS ${JSON.stringify(tally)}`);
      console.log(
        `${m.label}: killed after ${doneBefore}/${BACKFILL} backfilled; after the first restart lost ${afterBackfill.lost}, duplicated ${afterBackfill.duplicated}`,
      );
      expect(afterBackfill).toMatchObject({ lost: 0, duplicated: 0 });
      expect(afterBurst).toMatchObject({ lost: 0, duplicated: 0, threads: expected.length });
    });
  }
});
