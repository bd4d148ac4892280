/**
 * After a full run against a real `wrangler dev` (Gmail and Microsoft 365 mailboxes connected and
 * backfilled, live pushes, a reply sent from each, an embed partner registered and its widget session
 * used, every page of the API read), no secret appears anywhere it must not: not in any D1 table (every
 * column), not in any R2 key or body, not in the raw bytes of anything else persisted (Durable Object
 * storage, queues), not in Postroom's logs, not in any response. Secrets are every OAuth access and
 * refresh token the emulator issued, the OAuth client secrets, the token encryption key, every session
 * cookie in its raw form, the embed partner's HMAC secret, the embed token and the embed session's
 * bearer, and every Graph subscription clientState. A secret may appear only in the one answer that
 * hands it out (a Set-Cookie, the partner key shown once, the embed session's bearer).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, connect, signUp } from "../../bench/app-client";
import { startDevServer, type DevServer } from "../browser/support/dev-server";
import { readPersistedState, scanForSecrets, type Place, type Secret } from "./support/secret-scan";

const work = mkdtempSync(path.join(tmpdir(), "postroom-secret-scan-"));
const tokenKey = randomBytes(32).toString("base64");
const CLIENT_SECRETS = ["GOCSPX-postroom-local-secret", "postroom-local-secret"];
const PARTNER_ORIGIN = "https://portal.partner.test";
const SESSION_COOKIE = "__Host-postroom_session";

let server: DevServer;
let stopped = false;
let client: Client;

interface Recorded {
  method: string;
  path: string;
  status: number;
  headers: string;
  setCookies: string[];
  body: string;
}
const responses: Recorded[] = [];
/** Secrets met on the way, and the one answer each may appear in. */
const handedOut: { secret: Secret; response: number }[] = [];

/**
 * Every answer Postroom gives during the run, whoever asked (this file, the consent walk, the
 * emulator's pushes and change notifications, which run in this process).
 */
const realFetch = globalThis.fetch;
globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
  const res = await realFetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (server && url.origin === server.origin) {
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    const index = responses.length;
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const m = new RegExp(`^${SESSION_COOKIE}=([^;]+)`).exec(c);
      if (m) handedOut.push({ secret: { kind: "session cookie", value: m[1]! }, response: index });
    }
    responses.push({
      method,
      path: url.pathname,
      status: res.status,
      headers: [...res.headers]
        .filter(([k]) => k !== "set-cookie")
        .map(([k, v]) => `${k}: ${v}`)
        .join("\n"),
      setCookies,
      body: await res.clone().text(),
    });
  }
  return res;
};

/** The latest recorded answer to a request (pushes from the emulator may have been recorded since). */
function answerTo(method: string, pathname: string): number {
  const i = responses.findLastIndex((r) => r.method === method && r.path === pathname);
  if (i < 0) throw new Error(`no answer to ${method} ${pathname} was recorded`);
  return i;
}

async function read<T = unknown>(pathname: string, body?: unknown) {
  return client.call<T>(pathname, body);
}

async function waitLive(inboxId: string, count: number) {
  const started = Date.now();
  for (;;) {
    const s = (await read<{ phase: string; backfill: { done: number } }>(`/api/connections/${inboxId}/sync`)).json;
    if (s.phase === "live" && s.backfill.done >= count) return;
    if (Date.now() - started > 240_000) throw new Error(`${inboxId} not live: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The embedded inbox, as a partner's page uses it: an HS256 embed token exchanged for a bearer. */
async function useEmbed(inboxId: string, address: string) {
  const created = await read<{ partner: { id: string }; secret: string }>("/api/partners", {
    name: "Brand Portal",
    origins: [PARTNER_ORIGIN],
    inboxId,
    permissions: ["read", "reply", "notes"],
    key: { type: "hs256" },
  });
  expect(created.status).toBe(201);
  const partnerSecret = created.json.secret;
  expect(partnerSecret.length).toBeGreaterThanOrEqual(32);
  handedOut.push({
    secret: { kind: "embed partner secret", value: partnerSecret },
    response: answerTo("POST", "/api/partners"),
  });
  const now = Math.floor(Date.now() / 1000);
  const embedToken = await new SignJWT({
    name: "Maya Chen",
    inbox: address,
    permissions: ["read", "reply", "notes"],
  })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(created.json.partner.id)
    .setAudience(server.origin)
    .setSubject("creator-42")
    .setJti(randomBytes(12).toString("hex"))
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(new TextEncoder().encode(partnerSecret));
  const embed = async (pathname: string, init: { method?: string; body?: unknown; bearer?: string } = {}) => {
    const res = await fetch(server.origin + pathname, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: {
        origin: PARTNER_ORIGIN,
        "content-type": "application/json",
        ...(init.bearer ? { authorization: `Bearer ${init.bearer}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const session = await embed("/api/embed/session", { body: { token: embedToken } });
  expect(session.status).toBe(201);
  const bearer = String(session.json["accessToken"]);
  handedOut.push({
    secret: { kind: "embed session bearer", value: bearer },
    response: answerTo("POST", "/api/embed/session"),
  });
  const list = await embed("/api/embed/threads?limit=10", { bearer });
  expect(list.status).toBe(200);
  const threads = list.json["threads"] as { id: string }[];
  expect(threads.length).toBeGreaterThan(0);
  expect((await embed(`/api/embed/threads/${threads[0]!.id}`, { bearer })).status).toBe(200);
  const note = await embed(`/api/embed/threads/${threads[0]!.id}/notes`, { bearer, body: { body: "Seen, thanks" } });
  expect([200, 201]).toContain(note.status);
  return { partnerSecret, embedToken, bearer };
}

let embedSecrets: Awaited<ReturnType<typeof useEmbed>>;

beforeAll(async () => {
  server = await startDevServer({
    emulator: true,
    emulatorWorld: "empty",
    gmailPush: true,
    logLimit: 50_000_000,
    emulatorStatePath: path.join(work, "emulator.json"),
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
      const page = (await read<{ threads: { subject: string }[] }>(`/api/inboxes/${inbox}/threads?limit=5`)).json;
      if (page.threads.some((t) => t.subject === subject)) break;
      if (Date.now() - started > 120_000) throw new Error(`${subject} never arrived`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  // Read everything a user can, and answer from each mailbox.
  for (const inbox of [gmail, graph]) {
    const page = (await read<{ threads: { id: string }[] }>(`/api/inboxes/${inbox}/threads?limit=50`)).json;
    for (const t of page.threads.slice(0, 5)) {
      const detail = (await read<{ messages?: { id: string }[] }>(`/api/threads/${t.id}`)).json;
      for (const m of detail.messages ?? []) await read(`/api/threads/${t.id}/messages/${m.id}/body`);
    }
    const reply = await read(`/api/threads/${page.threads[0]!.id}/reply`, {
      inboxId: inbox,
      to: ["ana@example.com"],
      text: "Thanks, on it.",
    });
    expect([200, 201, 202]).toContain(reply.status);
  }
  embedSecrets = await useEmbed(gmail, "sales@demo.test");
  for (const p of [
    "/api/me",
    "/api/inboxes",
    "/api/connections",
    "/api/users",
    "/api/audit",
    "/api/auth/sessions",
    "/api/partners",
  ]) {
    await read(p);
  }
  for (const inbox of [gmail, graph]) await read(`/api/connections/${inbox}/sync`);
  // A second sign-in: another raw session cookie that must never be stored or logged.
  await signUp(server, new Client(server.origin), "scan-second@example.com");
  await new Promise((r) => setTimeout(r, 2_000));
}, 600_000);

afterAll(async () => {
  globalThis.fetch = realFetch;
  if (!stopped) await server?.stop();
  rmSync(server?.stateDir ?? work, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe("no secret anywhere after a full run", () => {
  it("scans every D1 table, every R2 key and body, the persisted bytes, the logs and every response", async () => {
    // What the provider side handed out, read before the emulator stops with the server.
    const issued = server.emulator!.admin.issuedSecrets();
    expect(issued.accessTokens.length).toBeGreaterThanOrEqual(2);
    expect(issued.refreshTokens.length).toBeGreaterThanOrEqual(2);
    expect(issued.clientStates.length).toBeGreaterThanOrEqual(1);
    // Postroom's answers to the emulator's pushes and change notifications were recorded too.
    expect(responses.some((r) => r.path === "/webhooks/google")).toBe(true);
    expect(responses.some((r) => r.path === "/webhooks/microsoft")).toBe(true);
    const sessions = handedOut.filter((h) => h.secret.kind === "session cookie");
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    const secrets: Secret[] = [
      ...issued.accessTokens.map((value) => ({ kind: "OAuth access token", value })),
      ...issued.refreshTokens.map((value) => ({ kind: "OAuth refresh token", value })),
      ...issued.clientStates.map((value) => ({ kind: "Graph clientState", value })),
      ...CLIENT_SECRETS.map((value) => ({ kind: "OAuth client secret", value })),
      { kind: "token encryption key", value: tokenKey },
      { kind: "embed token", value: embedSecrets.embedToken },
      ...handedOut.map((h) => h.secret),
    ];
    // Access tokens and JWTs by shape too, in case one reached Postroom by a way the list misses.
    const shapes = [
      { kind: "Google access token", pattern: /ya29\.[A-Za-z0-9_-]{20,}/ },
      { kind: "JWT", pattern: /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/ },
    ];

    // Wrangler echoes the --var values it was started with in its banner; Postroom's own output follows "Ready on".
    const log = server.output();
    expect(log.length).toBeLessThan(50_000_000);
    const ready = log.indexOf("Ready on");
    expect(ready).toBeGreaterThanOrEqual(0);
    const appLog = log.slice(ready);

    await server.stop({ keepState: true });
    stopped = true;
    const state = await readPersistedState(server.stateDir);
    expect(state.tables["messages"]).toBeGreaterThanOrEqual(30);
    expect(state.tables["sessions"]).toBeGreaterThanOrEqual(2);
    expect(state.tables["embed_partners"]).toBe(1);
    expect(state.r2Keys).toBeGreaterThanOrEqual(30);

    const places: Place[] = [
      ...state.places,
      { name: "logs", text: appLog },
      ...responses.flatMap((r, i): Place[] => {
        const allows = new Set(handedOut.filter((h) => h.response === i).map((h) => h.secret.value));
        const name = `response ${i} ${r.method} ${r.path} ${r.status}`;
        const sessionValues = new Set(
          handedOut.filter((h) => h.response === i && h.secret.kind === "session cookie").map((h) => h.secret.value),
        );
        return [
          {
            name,
            text: `${r.headers}\n\n${r.body}`,
            allows: new Set([...allows].filter((v) => !sessionValues.has(v))),
          },
          { name: `${name} set-cookie`, text: r.setCookies.join("\n"), allows: sessionValues },
        ];
      }),
    ];
    // The handed-out secrets did reach their answers: the allowance above covers real values.
    for (const h of handedOut) {
      const r = responses[h.response]!;
      expect(`${r.body}\n${r.setCookies.join("\n")}`).toContain(h.secret.value);
    }

    const { tried, findings } = scanForSecrets(places, secrets, shapes);
    const failures = findings.map((f) => `${f.place}: ${f.kind}`);
    console.log(
      `SECURITY ${JSON.stringify({
        category: "secret-scan",
        tried,
        refused: tried - failures.length,
        accepted: 0,
        failures: failures.length,
        secrets: new Set(secrets.map((s) => s.value)).size,
        places: places.length,
        d1Tables: Object.keys(state.tables).length,
        d1Rows: Object.values(state.tables).reduce((a, b) => a + b, 0),
        r2Keys: state.r2Keys,
        responses: responses.length,
        logBytes: appLog.length,
      })}`,
    );
    expect(failures).toEqual([]);
  });
});
