/**
 * After a full run against a real `wrangler dev` (Gmail and Microsoft 365 mailboxes connected and
 * backfilled, live pushes, a reply sent, every page of the API read), no secret appears anywhere:
 * not in the persisted state (D1, Durable Object storage, R2 keys and bodies, queues; read as raw
 * bytes, so nothing escapes a parser), not in Postroom's logs, not in any response. Secrets are the
 * OAuth tokens the emulator issued, the token encryption key, the OAuth client secrets and the Graph
 * subscription clientStates.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, connect, signUp } from "../../bench/app-client";
import { startDevServer, type DevServer } from "../browser/support/dev-server";

const work = mkdtempSync(path.join(tmpdir(), "postroom-secret-scan-"));
const statePath = path.join(work, "emulator.json");
const tokenKey = randomBytes(32).toString("base64");
const CLIENT_SECRETS = ["GOCSPX-postroom-local-secret", "postroom-local-secret"];

let server: DevServer;
let client: Client;
const responses: string[] = [];

async function read(pathname: string, body?: unknown) {
  const r = await client.call<unknown>(pathname, body);
  responses.push(JSON.stringify(r.json ?? null), r.location ?? "");
  return r;
}

async function waitLive(inboxId: string, count: number) {
  const started = Date.now();
  for (;;) {
    const s = (await read(`/api/connections/${inboxId}/sync`)).json as { phase: string; backfill: { done: number } };
    if (s.phase === "live" && s.backfill.done >= count) return;
    if (Date.now() - started > 240_000) throw new Error(`${inboxId} not live: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

beforeAll(async () => {
  server = await startDevServer({
    emulator: true,
    emulatorWorld: "empty",
    gmailPush: true,
    logLimit: 20_000_000,
    emulatorStatePath: statePath,
    vars: { TOKEN_ENCRYPTION_KEYS: `scan1:${tokenKey}` },
  });
  client = new Client(server.origin);
  await signUp(server, client, "scan-owner@example.com");
  const emulator = server.emulator!;
  for (let i = 0; i < 15; i++) {
    emulator.deliver({ to: "sales@demo.test", from: "Ana <ana@example.com>", subject: `Gmail ${i}`, text: `g ${i}` });
    emulator.deliver({
      to: "support@demo-ms.test",
      from: "Bo <bo@example.com>",
      subject: `Graph ${i}`,
      text: `m ${i}`,
    });
  }
  const gmail = await connect(server, client, "sales@demo.test", "google");
  const graph = await connect(server, client, "support@demo-ms.test", "microsoft", "sam@demo-ms.test");
  await waitLive(gmail, 15);
  await waitLive(graph, 15);
  // Live mail through both push paths.
  emulator.deliver({ to: "sales@demo.test", from: "Ana <ana@example.com>", subject: "Gmail live", text: "live" });
  emulator.deliver({ to: "support@demo-ms.test", from: "Bo <bo@example.com>", subject: "Graph live", text: "live" });
  for (const [inbox, subject] of [
    [gmail, "Gmail live"],
    [graph, "Graph live"],
  ] as const) {
    const started = Date.now();
    for (;;) {
      const page = (await read(`/api/inboxes/${inbox}/threads?limit=5`)).json as { threads: { subject: string }[] };
      if (page.threads.some((t) => t.subject === subject)) break;
      if (Date.now() - started > 120_000) throw new Error(`${subject} never arrived`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  // Read everything a user can, and answer from each mailbox.
  for (const inbox of [gmail, graph]) {
    const page = (await read(`/api/inboxes/${inbox}/threads?limit=50`)).json as { threads: { id: string }[] };
    for (const t of page.threads.slice(0, 5)) {
      const detail = (await read(`/api/threads/${t.id}`)).json as { messages?: { id: string }[] };
      for (const m of detail.messages ?? []) await read(`/api/threads/${t.id}/messages/${m.id}/body`);
    }
    const reply = await read(`/api/threads/${page.threads[0]!.id}/reply`, {
      inboxId: inbox,
      to: ["ana@example.com"],
      text: "Thanks, on it.",
    });
    expect([200, 201, 202]).toContain(reply.status);
  }
  for (const p of ["/api/me", "/api/inboxes", "/api/connections", "/api/users", "/api/audit", "/api/auth/sessions"]) {
    await read(p);
  }
  for (const inbox of [gmail, graph]) await read(`/api/connections/${inbox}/sync`);
  await new Promise((r) => setTimeout(r, 2_000));
}, 600_000);

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("no secret anywhere after a full run", () => {
  it("scans persisted state, logs and responses", () => {
    const world = JSON.parse(readFileSync(statePath, "utf8")) as { auth: { refreshTokens: Record<string, unknown> } };
    const refreshTokens = Object.keys(world.auth.refreshTokens);
    const clientStates = server
      .emulator!.admin.graphSubscriptions()
      .map((s) => s.clientState)
      .filter((s): s is string => typeof s === "string" && s.length >= 8);
    expect(refreshTokens.length).toBeGreaterThanOrEqual(2);
    expect(clientStates.length).toBeGreaterThanOrEqual(1);
    const exact = [...refreshTokens, ...clientStates, ...CLIENT_SECRETS, tokenKey];
    // Access tokens are never kept by the emulator's state file: recognise them by shape.
    const shapes = [/ya29\.[A-Za-z0-9_-]{20,}/, /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/];

    // Wrangler echoes the --var values it was started with in its banner; Postroom's own output follows "Ready on".
    const log = server.output();
    const appLog = log.slice(Math.max(0, log.indexOf("Ready on")));
    const places: { name: string; text: string }[] = [
      ...filesUnder(server.stateDir)
        .filter((f) => statSync(f).size > 0)
        .map((f) => ({ name: path.relative(server.stateDir, f), text: readFileSync(f).toString("latin1") })),
      { name: "logs", text: appLog },
      { name: "responses", text: responses.join("\n") },
    ];
    expect(places.some((p) => /d1/i.test(p.name))).toBe(true);
    expect(places.some((p) => /r2/i.test(p.name))).toBe(true);
    let tried = 0;
    const failures: string[] = [];
    for (const place of places) {
      for (const secret of exact) {
        tried++;
        if (place.text.includes(secret)) failures.push(`${place.name}: contains ${secret.slice(0, 6)}…`);
      }
      // Raw MIME in R2 may quote anything a sender wrote, but never a token of ours.
      for (const shape of shapes) {
        tried++;
        const hit = shape.exec(place.text);
        if (hit) failures.push(`${place.name}: token-shaped ${hit[0].slice(0, 12)}…`);
      }
    }
    console.log(
      `SECURITY ${JSON.stringify({ category: "secret-scan", tried, refused: tried - failures.length, accepted: 0, failures: failures.length, places: places.length })}`,
    );
    expect(failures).toEqual([]);
  });
});
