import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ACCOUNTS, type RunningEmulator, startEmulator } from "../../emulator/index";
import { type ApiClient, gmailClient, graphClient } from "./support/clients";
import { FIXED_NOW, json } from "./support/emulator";
import { GMAIL_SCOPES, googleSignIn, googleToken } from "./support/oauth";
import { SHARED_DIR } from "./support/shapes";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CORPUS = path.join(SHARED_DIR, "corpora");
const hasCorpus = existsSync(CORPUS);
const DAY = 86_400_000;
const SALES = "sales@demo.test";
const SUPPORT = "support@demo-ms.test";

let demo: RunningEmulator;
let gmail: ApiClient;
let graph: ApiClient;
const tmp = mkdtempSync(path.join(tmpdir(), "postroom-emulator-"));

type Msg = { id: string; threadId: string; labelIds?: string[]; internalDate: string; raw?: string };

async function allIds(client: ApiClient): Promise<Msg[]> {
  return (await client.get<{ messages: Msg[] }>("/messages?maxResults=500&includeSpamTrash=true")).body.messages;
}
async function rawOf(client: ApiClient, id: string): Promise<string> {
  return Buffer.from((await client.get<{ raw: string }>(`/messages/${id}?format=raw`)).body.raw, "base64url").toString(
    "utf8",
  );
}
async function count(client: ApiClient, q: string): Promise<number> {
  return (await client.get<{ resultSizeEstimate: number }>(`/messages?maxResults=500&q=${encodeURIComponent(q)}`)).body
    .resultSizeEstimate;
}

beforeAll(async () => {
  demo = await startEmulator({
    port: 0,
    seed: 7,
    now: () => FIXED_NOW,
    corpusDir: hasCorpus ? CORPUS : null,
    settings: { gmail: { userUnitsPerMinute: 1_000_000 } },
  });
  gmail = await gmailClient(demo, SALES, [GMAIL_SCOPES.readonly]);
  graph = await graphClient(demo, "sam@demo-ms.test", ["Mail.Read", "Mail.Read.Shared"]);
});
afterAll(async () => {
  await demo.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("seeded demo world", () => {
  it("should export the demo addresses and how to reach them", () => {
    const byAddress = Object.fromEntries(DEMO_ACCOUNTS.map((a) => [a.address, a]));
    expect(byAddress[SALES]).toMatchObject({ provider: "google", canSignIn: true });
    expect(byAddress["team@demo.test"]).toMatchObject({ kind: "group", canSignIn: false, signInAs: null });
    expect(byAddress["deals@demo.test"]).toMatchObject({ kind: "alias" });
    expect(byAddress[SUPPORT]).toMatchObject({ kind: "shared", canSignIn: false, signInAs: "sam@demo-ms.test" });
    expect(byAddress["ops@northwind.test"]).toMatchObject({ provider: "microsoft", canSignIn: true });
  });

  it("should give sales@ about 300 messages over the last 45 days in real threads", async () => {
    const messages = await allIds(gmail);
    expect(messages.length).toBeGreaterThanOrEqual(280);
    expect(messages.length).toBeLessThanOrEqual(330);
    const oldest = Math.min(
      ...messages.map((m) => Number((m as unknown as { internalDate?: string }).internalDate ?? FIXED_NOW)),
    );
    expect(oldest).toBeLessThanOrEqual(FIXED_NOW);
    expect(await count(gmail, "older_than:46d")).toBeLessThanOrEqual(5);
    const byThread = new Map<string, number>();
    for (const m of messages) byThread.set(m.threadId, (byThread.get(m.threadId) ?? 0) + 1);
    expect([...byThread.values()].filter((n) => n >= 3).length).toBeGreaterThan(20);
    expect(await count(gmail, "in:sent")).toBeGreaterThan(60);
    expect(await count(gmail, "in:inbox")).toBeGreaterThan(120);
    expect(await count(gmail, "is:unread")).toBeGreaterThan(0);
  });

  it("should include CCs, both body formats, attachments, inline images, non-ASCII, alias and group mail", async () => {
    expect(await count(gmail, "has:attachment")).toBeGreaterThan(10);
    expect(await count(gmail, "to:deals@demo.test")).toBeGreaterThan(0);
    expect(await count(gmail, "to:team@demo.test")).toBeGreaterThan(0);
    expect(await count(gmail, "from:Álvarez")).toBeGreaterThan(0);
    expect(await count(gmail, "from:山田")).toBeGreaterThan(0);
    const raws = await Promise.all((await allIds(gmail)).slice(0, 120).map((m) => rawOf(gmail, m.id)));
    expect(raws.some((r) => /^Cc: /m.test(r))).toBe(true);
    expect(raws.some((r) => r.includes("multipart/alternative"))).toBe(true);
    expect(raws.some((r) => r.includes("Content-Type: text/plain") && !r.includes("multipart/"))).toBe(true);
    expect(raws.some((r) => r.includes("multipart/related") && /Content-ID: <logo\./.test(r))).toBe(true);
    expect(raws.some((r) => /=\?UTF-8\?B\?/.test(r))).toBe(true);
  });

  it("should include an auto-reply and a bounce", async () => {
    expect(await count(gmail, "subject:Automatic reply")).toBeGreaterThan(0);
    expect(await count(gmail, 'subject:"Delivery Status Notification"')).toBeGreaterThan(0);
    const bounces = (
      await gmail.get<{ messages: Msg[] }>(`/messages?q=${encodeURIComponent("from:mailer-daemon@googlemail.com")}`)
    ).body.messages;
    const raws = await Promise.all(bounces.map((b) => rawOf(gmail, b.id)));
    expect(raws.some((r) => r.includes("multipart/report; report-type=delivery-status"))).toBe(true);
  });

  it.skipIf(!hasCorpus)("should fold in MIME samples from ../shared/corpora", async () => {
    expect(await count(gmail, 'subject:"Away until May 5"')).toBe(1);
    const support = await graph.get<{ value: Array<{ subject: string }> }>(
      `/users/${SUPPORT}/messages?$top=1000&$select=subject`,
    );
    expect(support.body.value.length).toBeGreaterThanOrEqual(280);
  });
  if (!hasCorpus)
    it("needs ../shared/corpora for the corpus samples", () => console.warn(`skipped: ${CORPUS} is absent`));

  it("should fill the Microsoft 365 shared mailbox likewise, with Outlook conversations", async () => {
    const res = await graph.get<{
      value: Array<{
        conversationId: string;
        hasAttachments: boolean;
        internetMessageHeaders: Array<{ name: string }>;
      }>;
    }>(`/users/${SUPPORT}/messages?$top=1000&$select=conversationId,hasAttachments,internetMessageHeaders`);
    expect(res.body.value.length).toBeGreaterThanOrEqual(270);
    const conversations = new Map<string, number>();
    for (const m of res.body.value) conversations.set(m.conversationId, (conversations.get(m.conversationId) ?? 0) + 1);
    expect([...conversations.values()].filter((n) => n >= 2).length).toBeGreaterThan(40);
    expect([...conversations.values()].filter((n) => n >= 3).length).toBeGreaterThan(8);
    expect(res.body.value.some((m) => m.hasAttachments)).toBe(true);
    expect(res.body.value.some((m) => m.internetMessageHeaders.some((h) => h.name === "Thread-Index"))).toBe(true);
    const own = await graph.get<{ value: unknown[] }>("/me/messages?$top=100");
    expect(own.body.value.length).toBeGreaterThan(10);
  });

  it("should be identical for the same seed and clock, and differ for another seed", async () => {
    const same = await startEmulator({ port: 0, seed: 7, now: () => FIXED_NOW, corpusDir: hasCorpus ? CORPUS : null });
    const other = await startEmulator({ port: 0, seed: 8, now: () => FIXED_NOW, corpusDir: null });
    try {
      const ids = async (e: RunningEmulator) =>
        (await allIds(await gmailClient(e, SALES, [GMAIL_SCOPES.readonly]))).map((m) => m.id);
      const mine = await ids(demo);
      expect(await ids(same)).toEqual(mine);
      expect(await ids(other)).not.toEqual(mine);
      const first = mine[mine.length - 1]!;
      const sameClient = await gmailClient(same, SALES, [GMAIL_SCOPES.readonly]);
      expect(await rawOf(sameClient, first)).toBe(await rawOf(gmail, first));
    } finally {
      await same.close();
      await other.close();
    }
  });
});

describe("persistence", () => {
  it("should keep mail, grants and signing keys across a restart", async () => {
    const statePath = path.join(tmp, "world.json");
    const first = await startEmulator({ port: 0, world: "empty", statePath, now: () => FIXED_NOW + DAY });
    const tokens = await googleSignIn(first, SALES, ["openid", "email", GMAIL_SCOPES.readonly], { prompt: "consent" });
    const delivered = first.deliver({ to: SALES, from: "keep@example.com", subject: "Survives restarts", text: "x" });
    const jwks1 = await json(await fetch(first.urls.googleJwks));
    await first.close();
    expect(existsSync(statePath)).toBe(true);

    const second = await startEmulator({ port: 0, statePath, now: () => FIXED_NOW + DAY });
    try {
      expect(await json(await fetch(second.urls.googleJwks))).toEqual(jwks1);
      const refreshed = await json<{ access_token: string }>(
        await googleToken(second, { grant_type: "refresh_token", refresh_token: tokens.refresh_token! }),
      );
      const res = await fetch(
        `${second.url}/gmail/v1/users/me/messages/${delivered.deliveries[0]!.id}?format=minimal`,
        {
          headers: { authorization: `Bearer ${refreshed.access_token}` },
        },
      );
      expect(res.status).toBe(200);
    } finally {
      await second.close();
    }
  });
});

describe("command line", () => {
  function run(args: string[], until?: RegExp): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "emulator/main.ts"), ...args],
        { cwd: ROOT },
      );
      let out = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`timed out: ${out}`));
      }, 20_000);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (until?.test(out)) child.kill("SIGTERM");
      });
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  }

  it("should deliver mail through a running emulator with `send`", async () => {
    const { code, out } = await run([
      "send",
      "--to",
      SALES,
      "--from",
      "Cli Sender <cli@example.com>",
      "--subject",
      "From the CLI",
      "--text",
      "Hello",
      "--emulator",
      demo.url,
    ]);
    expect(code, out).toBe(0);
    expect(JSON.parse(out).deliveries[0].address).toBe(SALES);
    expect(await count(gmail, "subject:From the CLI")).toBe(1);
  });

  it("should print the URL and the demo accounts with `serve`", async () => {
    const { out } = await run(["serve", "--port", "0", "--world", "empty"], /ops@northwind\.test/);
    expect(out).toMatch(/Provider emulator listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain("team@demo.test");
    expect(out).toContain("cannot sign in");
  });
});
