/**
 * The security suite inside workerd: every route the app registers (read from `app.routes`, so a route
 * added later is covered without touching this file) is fuzzed and probed with forged sessions and
 * per-inbox permissions; forged Pub/Sub pushes and Graph notifications are sent to the webhooks; header
 * injection is tried on every outgoing header. Each category prints
 * `SECURITY {category, tried, refused, accepted, failures}` for `npm run test:security`.
 *
 * `npm test` runs a fixed eighth of the fuzz cases; `npm run test:security` runs all of them
 * (TEST_SECURITY_FULL=1).
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { ulid } from "ulid";
import { app } from "../../worker/app";
import { addContributor, addMailbox, invite, signUp, type Actor } from "../support/accounts";
import { call, type CallOptions, type CallResult } from "../support/http";

const FULL = env.TEST_SECURITY_FULL === "1";

interface Route {
  method: string;
  path: string;
}

interface Tally {
  tried: number;
  refused: number;
  accepted: number;
  failures: string[];
}
const tallies = new Map<string, Tally>();
function tally(category: string): Tally {
  let t = tallies.get(category);
  if (!t) tallies.set(category, (t = { tried: 0, refused: 0, accepted: 0, failures: [] }));
  return t;
}

afterAll(() => {
  for (const [category, t] of tallies) {
    console.log(
      `SECURITY ${JSON.stringify({ category, tried: t.tried, refused: t.refused, accepted: t.accepted, failures: t.failures.length })}`,
    );
  }
});

function registeredRoutes(): Route[] {
  const seen = new Map<string, Route>();
  for (const r of app.routes)
    if (r.method !== "ALL") seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  return [...seen.values()].sort((a, b) => `${a.method} ${a.path}`.localeCompare(`${b.method} ${b.path}`));
}

/** Path parameters of a Hono route, with their pattern (`:provider{google|microsoft}`). */
function params(path: string): { name: string; pattern: string | null }[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)(?:\{([^}]*)\})?/g)].map((m) => ({ name: m[1]!, pattern: m[2] ?? null }));
}

/** A concrete path: each parameter from `values`, else a well-formed id nobody has. */
function fill(path: string, values: Record<string, string> = {}): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{([^}]*)\})?/g, (_, name: string, _p, pattern?: string) => {
    if (values[name] !== undefined) return values[name]!;
    if (pattern) return pattern.split("|")[0]!;
    return ulid();
  });
}

/** The JSON body and query schemas the OpenAPI document gives each operation. */
type Schema = { type?: string | string[]; properties?: Record<string, Schema>; items?: Schema };
interface OperationShape {
  body: Schema | null;
  query: string[];
}
let shapes: Map<string, OperationShape>;
async function loadShapes(): Promise<Map<string, OperationShape>> {
  const doc = (await call("/api/openapi.json")).json as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: { name: string; in: string }[];
          requestBody?: { content: Record<string, { schema: Schema }> };
        }
      >
    >;
  };
  const out = new Map<string, OperationShape>();
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops)) {
      out.set(`${m.toUpperCase()} ${p}`, {
        body: op.requestBody?.content["application/json"]?.schema ?? null,
        query: (op.parameters ?? []).filter((x) => x.in === "query").map((x) => x.name),
      });
    }
  }
  return out;
}
const shapeOf = (r: Route) =>
  shapes.get(`${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}")}`) ?? { body: null, query: [] };

/** Values that have broken parsers, routers, SQL and header writers elsewhere. */
const HOSTILE_STRINGS = [
  "",
  "x".repeat(10_000),
  "line\r\nX-Injected: 1",
  "nul\u0000byte",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "../../../etc/passwd",
  "\u202e\ud800",
  "%00%0d%0a",
  "__proto__",
];
const WRONG_TYPES: unknown[] = [123, -1, 1e308, true, null, [], {}, ["a", 1], { $gt: "" }];
const PATH_VALUES = [
  "not-an-id",
  "..%2F..%2Fapi%2Fme",
  "%2e%2e",
  "%00",
  "A".repeat(2_000),
  "%0d%0aX-Injected:%201",
  "'%20OR%201=1--",
  "%F0%9F%92%A9",
  "__proto__",
  "01ARZ3NDEKTSV4RRFFQ69G5FAV", // well-formed, unknown
  "01ARZ3NDEKTSV4RRFFQ69G5FAV-0",
];
const SECRETS = () =>
  [
    env.GOOGLE_CLIENT_SECRET,
    env.MICROSOFT_CLIENT_SECRET,
    ...String(env.TOKEN_ENCRYPTION_KEYS)
      .split(",")
      .map((k) => k.split(":")[1] ?? ""),
  ].filter((s): s is string => typeof s === "string" && s.length >= 8);

interface Case {
  label: string;
  path: string;
  opts: CallOptions;
}

function fuzzCases(r: Route, shape: OperationShape): Case[] {
  const cases: Case[] = [];
  const base = fill(r.path);
  const withBody = r.method !== "GET" && r.method !== "HEAD";
  const m = r.method;
  for (const p of params(r.path)) {
    for (const v of PATH_VALUES) {
      cases.push({
        label: `param ${p.name}=${v.slice(0, 24)}`,
        path: fill(r.path, { [p.name]: v }),
        opts: { method: m },
      });
    }
  }
  cases.push({ label: "trailing slash", path: `${base}/`, opts: { method: m } });
  cases.push({ label: "double slash", path: base.replace(/^\//, "//"), opts: { method: m } });
  cases.push({ label: "dot segment", path: base.replace(/\/([^/]+)$/, "/./$1"), opts: { method: m } });
  cases.push({ label: "prototype query", path: `${base}?__proto__[x]=1&constructor=1`, opts: { method: m } });
  for (const q of shape.query) {
    for (const v of [...HOSTILE_STRINGS.slice(1, 5), "1e999", "-5"]) {
      cases.push({
        label: `query ${q}=${v.slice(0, 16)}`,
        path: `${base}?${q}=${encodeURIComponent(v)}`,
        opts: { method: m },
      });
    }
    cases.push({ label: `query ${q} twice`, path: `${base}?${q}=a&${q}=b`, opts: { method: m } });
  }
  if (withBody) {
    const raw = [
      "{",
      "[",
      "null",
      "[]",
      "123",
      '"x"',
      '{"__proto__":{"role":"owner"}}',
      '{"constructor":{"prototype":{"role":"owner"}}}',
      "[".repeat(5_000) + "]".repeat(5_000),
      JSON.stringify({ padding: "x".repeat(70 * 1024) }),
      "\ufeff{}",
    ];
    for (const body of raw)
      cases.push({ label: `body ${body.slice(0, 20)}`, path: base, opts: { method: m, rawBody: body } });
    cases.push({
      label: "form-encoded body",
      path: base,
      opts: { method: m, rawBody: "a=b&role=owner", headers: { "content-type": "application/x-www-form-urlencoded" } },
    });
    cases.push({
      label: "text/plain body",
      path: base,
      opts: { method: m, rawBody: "{}", headers: { "content-type": "text/plain" } },
    });
    for (const [field, schema] of Object.entries(shape.body?.properties ?? {})) {
      const values = schema.type === "array" ? [...WRONG_TYPES, HOSTILE_STRINGS.map((s) => s)] : WRONG_TYPES;
      for (const v of [...values, ...HOSTILE_STRINGS]) {
        cases.push({
          label: `field ${field}=${JSON.stringify(v).slice(0, 24)}`,
          path: base,
          opts: { method: m, body: { [field]: v } },
        });
      }
    }
  }
  return cases;
}

/** What every answer must be, whatever was sent: no 5xx, refusals as JSON errors, nothing injected or leaked. */
function judge(t: Tally, label: string, r: CallResult): void {
  t.tried++;
  const problems: string[] = [];
  if (r.status >= 500) problems.push(`${r.status}`);
  if (r.status >= 400 && r.status < 500) {
    if (!/application\/json/.test(r.headers.get("content-type") ?? "") || typeof r.json?.error?.code !== "string") {
      problems.push(`non-JSON ${r.status}`);
    }
  }
  if (r.headers.has("x-injected")) problems.push("header injected");
  for (const s of SECRETS()) if (r.text.includes(s)) problems.push("secret in response");
  if (problems.length > 0) t.failures.push(`${label}: ${problems.join(", ")}`);
  else if (r.status >= 400) t.refused++;
  else t.accepted++;
}

/** Answered with a JSON 4xx refusal among `statuses`; anything else is a failure. */
function expectRefusal(t: Tally, label: string, r: CallResult, statuses: number[]): void {
  t.tried++;
  const json = /application\/json/.test(r.headers.get("content-type") ?? "") && typeof r.json?.error?.code === "string";
  if (statuses.includes(r.status) && json) t.refused++;
  else t.failures.push(`${label}: answered ${r.status} ${r.text.slice(0, 120)}`);
}

/** Routes any caller may reach without a session, each with the reason. Every other route needs one. */
const PUBLIC: Record<string, string> = {
  "GET /healthz": "liveness",
  "GET /api/openapi.json": "the API's description",
  "POST /api/auth/signin": "asks for a sign-in link",
  "POST /api/auth/signup": "creates a workspace",
  "POST /api/auth/verify": "spends an emailed token",
  "POST /api/auth/accept-invite": "spends an emailed token",
  "POST /api/auth/oauth/start": "starts a provider sign-in",
  "POST /api/connect/describe": "the emailed connect token is the credential",
  "POST /api/connect/start": "the emailed connect token is the credential",
  "GET /auth/callback/:provider{google|microsoft}": "the single-use state is the credential",
  "GET /auth/signin/callback/:provider{google|microsoft}": "the verified id_token is the credential",
  "POST /webhooks/google": "verified Pub/Sub OIDC token",
  "POST /webhooks/microsoft": "Graph clientState, checked by the mailbox object",
  "GET /dev/outbox": "development only",
  "GET /dev/outbox.json": "development only",
  "POST /dev/bench/bare": "development only; does nothing",
  "POST /api/embed/session": "the partner-signed embed token is the credential",
  "GET /widget/:partnerId": "the widget's frame page; holds no data, framed only by the partner's origins",
};

let owner: Actor;
beforeAll(async () => {
  shapes = await loadShapes();
  owner = await signUp("Fuzz Co");
});

describe("security suite", () => {
  it(
    "every route, fuzzed: no 5xx, every refusal a JSON 4xx, nothing injected or leaked",
    { timeout: 600_000 },
    async () => {
      const t = tally("fuzz");
      const routes = registeredRoutes();
      for (const [i, r] of routes.entries()) {
        // A session of its own per route: fuzzing sign-out or account switching must not blind the rest.
        const me = i === 0 ? owner : await signUp(`Fuzz ${i}`);
        const all = fuzzCases(r, shapeOf(r));
        const chosen = FULL ? all : all.filter((_, k) => k % 8 === i % 8);
        for (const c of chosen) {
          const res = await call(c.path, { ...c.opts, cookie: me.cookie });
          judge(t, `${r.method} ${r.path} ${c.label}`, res);
        }
      }
      expect(t.failures).toEqual([]);
      expect(t.tried).toBeGreaterThan(routes.length);
    },
  );

  it("forged sessions are refused on every route that needs one", { timeout: 300_000 }, async () => {
    const t = tally("forged-session");
    const victim = await signUp("Victim");
    const ended = await signUp("Ended");
    await call("/api/auth/signout", { cookie: ended.cookie, method: "POST" });
    const value = /(?:^|;\s*)__Host-postroom_session=([^;]*)/.exec(victim.cookie)![1]!;
    expect(value.length).toBeGreaterThan(20);
    const hashRow = await env.DB.prepare(`SELECT id_hash FROM sessions WHERE account_id = ? LIMIT 1`)
      .bind(victim.accountId)
      .first<{ id_hash: string }>();
    const forged: Record<string, string | undefined> = {
      none: undefined,
      random: `__Host-postroom_session=${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/[+/=]/g, "A")}`,
      "signed out": ended.cookie,
      "stored hash as the cookie": `__Host-postroom_session=${hashRow!.id_hash}`,
      "one character changed": `__Host-postroom_session=${value.slice(0, -1)}${value.endsWith("A") ? "B" : "A"}`,
      "without the __Host- prefix": `postroom_session=${value}`,
      empty: "__Host-postroom_session=",
      oversized: `__Host-postroom_session=${"A".repeat(8_000)}`,
      "two cookies, first forged": `__Host-postroom_session=${"B".repeat(43)}; __Host-postroom_session=${"C".repeat(43)}`,
    };
    const routes = registeredRoutes().filter((r) => !(`${r.method} ${r.path}` in PUBLIC));
    expect(routes.length).toBeGreaterThan(20);
    for (const r of routes) {
      for (const [name, cookie] of Object.entries(forged)) {
        const body = r.method === "GET" ? {} : { body: {} };
        const res = await call(fill(r.path), { method: r.method, ...body, ...(cookie ? { cookie } : {}) });
        expectRefusal(t, `${r.method} ${r.path} with ${name} cookie`, res, [401]);
      }
    }
    expect(t.failures).toEqual([]);
    // The victim's own session still works: nothing above disturbed it.
    expect((await call("/api/me", { cookie: victim.cookie })).status).toBe(200);
  });

  it(
    "per-inbox permissions on every inbox and thread route; contributors reach nothing",
    { timeout: 300_000 },
    async () => {
      const t = tally("inbox-permissions");
      const boss = await signUp("Perms");
      const outsider = await invite(boss, "member");
      const light = await invite(boss, "light");
      const { userId: contributorId } = await addContributor(boss.accountId);
      const inboxId = await addMailbox(boss.accountId);
      await call(`/api/inboxes/${inboxId}/access`, {
        cookie: boss.cookie,
        method: "PUT",
        body: { userIds: [light.userId] },
      });
      const threadId = ulid();
      const messageId = ulid();
      const now = Date.now();
      await env.DB.batch([
        env.DB.prepare(
          `INSERT INTO threads (id, account_id, subject, last_message_at, message_count, created_at) VALUES (?, ?, 'Private', ?, 1, ?)`,
        ).bind(threadId, boss.accountId, now, now),
        env.DB.prepare(
          `INSERT INTO thread_mailboxes (account_id, thread_id, mailbox_id, last_message_at) VALUES (?, ?, ?, ?)`,
        ).bind(boss.accountId, threadId, inboxId, now),
        env.DB.prepare(
          `INSERT INTO messages (id, account_id, thread_id, rfc_message_id, subject, from_address, received_at, size_bytes, raw_key, created_at)
         VALUES (?, ?, ?, ?, 'Private', 'ana@example.com', ?, 10, 'none', ?)`,
        ).bind(messageId, boss.accountId, threadId, `${messageId}@example.com`, now, now),
      ]);
      const snapshot = async () =>
        JSON.stringify([
          await env.DB.prepare(`SELECT status, assignee_id, hidden_at, version FROM threads WHERE id = ?`)
            .bind(threadId)
            .first(),
          (await env.DB.prepare(`SELECT count(*) AS n FROM notes WHERE thread_id = ?`).bind(threadId).first()) ?? null,
          (await env.DB.prepare(`SELECT tag FROM thread_tags WHERE thread_id = ?`).bind(threadId).all()).results,
          (await env.DB.prepare(`SELECT user_id FROM inbox_access WHERE mailbox_id = ?`).bind(inboxId).all()).results,
          (await env.DB.prepare(`SELECT count(*) AS n FROM threads WHERE account_id = ?`)
            .bind(boss.accountId)
            .first()) ?? null,
        ]);

      // Bodies that pass validation, so that access (not the validator) is what refuses.
      const BODIES: Record<string, unknown> = {
        "PATCH /api/threads/:threadId": { status: "closed" },
        "PUT /api/threads/:threadId/tags": { tags: ["leak"] },
        "POST /api/threads/:threadId/notes": { body: "leak" },
        "PUT /api/threads/:threadId/read": { read: true },
        "POST /api/threads/:threadId/reply": { inboxId, to: ["x@example.com"], text: "leak" },
        "POST /api/threads/:threadId/forward": { inboxId, to: ["x@example.com"] },
        "POST /api/inboxes/:inboxId/messages": { to: ["x@example.com"], subject: "Leak", text: "leak" },
        "PUT /api/inboxes/:inboxId/access": { userIds: [outsider.userId] },
        "PATCH /api/connections/:inboxId": { windowDays: 90 },
        "POST /dev/bench/inboxes/:inboxId/seed": { start: 0, threads: 1, messagesPerThread: 1 },
      };
      // The embedded inbox takes no session: its bearer comes from a partner's embed token, and
      // tests/worker/embed-*.test.ts check what each token may reach.
      const scoped = registeredRoutes().filter(
        (r) => /:(inboxId|threadId)\b/.test(r.path) && !r.path.startsWith("/api/embed/"),
      );
      expect(scoped.length).toBeGreaterThan(15);
      const values = { inboxId, threadId, messageId, attachmentId: `${messageId}-0` };
      const before = await snapshot();
      const contributorSession = crypto.randomUUID().replace(/-/g, "") + "contributor";
      const digest = new Uint8Array(
        await crypto.subtle.digest("SHA-256", new TextEncoder().encode(contributorSession)),
      );
      await env.DB.prepare(
        `INSERT INTO sessions (id_hash, account_id, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)`,
      )
        .bind(
          Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""),
          boss.accountId,
          contributorId,
          now,
          now + 3600_000,
          now,
        )
        .run();
      const contributorCookie = `__Host-postroom_session=${contributorSession}`;

      for (const r of scoped) {
        const key = `${r.method} ${r.path}`;
        const needsBody = ["POST", "PUT", "PATCH"].includes(r.method) && !/\/hide$|reconnect-link$/.test(r.path);
        if (needsBody && !(key in BODIES)) t.failures.push(`${key}: add a valid body to BODIES`);
        const opts = (cookie: string): CallOptions => ({
          method: r.method,
          cookie,
          ...(key in BODIES ? { body: BODIES[key] } : {}),
          ...(r.path.endsWith("/live") ? { headers: { upgrade: "websocket" } } : {}),
        });
        const path = fill(r.path, values);
        expectRefusal(t, `${key} as a member without access`, await call(path, opts(outsider.cookie)), [403, 404]);
        expectRefusal(t, `${key} as a contributor`, await call(path, opts(contributorCookie)), [401, 403]);
        if (/\/(reply|forward|messages)$/.test(r.path)) {
          // Light users read and write notes; they never send.
          expectRefusal(t, `${key} as a light user with access`, await call(path, opts(light.cookie)), [403]);
        }
      }
      expect(await snapshot()).toBe(before);
      expect(t.failures).toEqual([]);
    },
  );

  it("forged webhooks are refused, and store nothing", { timeout: 300_000 }, async () => {
    const t = tally("forged-webhooks");
    const boss = await signUp("Webhooks");
    const address = `forged-${ulid().toLowerCase()}@demo.test`;
    const inboxId = await addMailbox(boss.accountId, address);
    const subscriptionId = crypto.randomUUID();
    await env.DB.prepare(`UPDATE mailboxes SET provider = 'graph', graph_subscription_id = ? WHERE id = ?`)
      .bind(subscriptionId, inboxId)
      .run();
    const stored = async () =>
      JSON.stringify(
        await env.DB.prepare(
          `SELECT (SELECT count(*) FROM message_sources WHERE account_id = ?1) AS sources,
          (SELECT count(*) FROM threads WHERE account_id = ?1) AS threads`,
        )
          .bind(boss.accountId)
          .first(),
      );
    const before = await stored();

    // Google Pub/Sub push: a bearer token that is not Google's, for a mailbox that exists.
    const jwks = (await (await fetch(`${env.GOOGLE_ISSUER}/oauth2/v3/certs`)).json()) as { keys: { kid: string }[] };
    const realKid = jwks.keys[0]!.kid;
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: "https://accounts.google.com",
      aud: env.PUBSUB_PUSH_AUDIENCE,
      email: env.PUBSUB_PUSH_SERVICE_ACCOUNT,
      email_verified: true,
      sub: "1",
      iat: now,
      exp: now + 3600,
    };
    const rs = (c: Record<string, unknown>, kid = realKid) =>
      new SignJWT(c).setProtectedHeader({ alg: "RS256", kid }).sign(privateKey);
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const forgedGoogle: Record<string, () => Promise<string | undefined>> = {
      "no Authorization": async () => undefined,
      "empty bearer": async () => "Bearer ",
      basic: async () => "Basic dXNlcjpwYXNz",
      garbage: async () => "Bearer not.a.jwt",
      "alg none": async () => `Bearer ${b64({ alg: "none", kid: realKid })}.${b64(claims)}.`,
      "HS256 keyed with the public key": async () =>
        `Bearer ${await new SignJWT(claims)
          .setProtectedHeader({ alg: "HS256", kid: realKid })
          .sign(new TextEncoder().encode(JSON.stringify(await exportJWK(publicKey))))}`,
      "Google's kid, another key": async () => `Bearer ${await rs(claims)}`,
      "unknown kid": async () => `Bearer ${await rs(claims, "not-a-kid")}`,
      "signature cut off": async () => `Bearer ${(await rs(claims)).replace(/\.[^.]+$/, ".")}`,
      "oversized token": async () => `Bearer ${"A".repeat(20_000)}`,
    };
    const push = {
      message: { data: btoa(JSON.stringify({ emailAddress: address, historyId: "999999" })) },
      subscription: "s",
    };
    for (const [name, header] of Object.entries(forgedGoogle)) {
      const h = await header();
      const r = await call("/webhooks/google", {
        body: push,
        origin: null,
        headers: h === undefined ? {} : { authorization: h },
      });
      expectRefusal(t, `google push: ${name}`, r, [401]);
    }

    // Graph change notifications: malformed ones are refused; a notification naming a subscription
    // with the wrong clientState is taken on the wire (so Graph stops retrying) and does nothing.
    const notification = (n: Record<string, unknown>) => ({
      value: [
        {
          subscriptionId,
          changeType: "created",
          resource: `users/${address}/messages/AAMk`,
          tenantId: crypto.randomUUID(),
          ...n,
        },
      ],
    });
    for (const raw of ["{", "null", "[]", JSON.stringify({ value: [] }), JSON.stringify({ value: [{ id: 1 }] })]) {
      expectRefusal(t, `graph body ${raw}`, await call("/webhooks/microsoft", { rawBody: raw, origin: null }), [400]);
    }
    const ignored = {
      "wrong clientState": notification({ clientState: "not-the-secret" }),
      "no clientState": notification({ clientState: null }),
      "unknown subscription": notification({ subscriptionId: crypto.randomUUID(), clientState: "x" }),
      "forged lifecycle event": notification({ lifecycleEvent: "subscriptionRemoved", clientState: "x" }),
    };
    for (const [name, body] of Object.entries(ignored)) {
      const r = await call("/webhooks/microsoft", { body, origin: null });
      t.tried++;
      if (r.status === 202 && r.text === "") t.refused++;
      else t.failures.push(`graph notification: ${name}: answered ${r.status} ${r.text.slice(0, 120)}`);
    }
    // The validation handshake echoes its token as plain text only, never as something a browser renders.
    for (const token of ["<script>alert(1)</script>", "a\r\nSet-Cookie: x=1", "x".repeat(20_000)]) {
      const r = await call(`/webhooks/microsoft?validationToken=${encodeURIComponent(token)}`, {
        rawBody: "",
        origin: null,
      });
      t.tried++;
      const plain = /^text\/plain/.test(r.headers.get("content-type") ?? "");
      if (
        token.length > 10_000
          ? r.status === 400
          : r.status === 200 && plain && r.text === token && !r.headers.has("set-cookie")
      )
        t.refused++;
      else
        t.failures.push(
          `graph validation ${JSON.stringify(token.slice(0, 20))}: ${r.status} ${r.headers.get("content-type")}`,
        );
    }
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await stored()).toBe(before);
    expect(t.failures).toEqual([]);
  });

  it("CR, LF and NUL never reach an outgoing header", { timeout: 300_000 }, async () => {
    const t = tally("header-injection");
    const boss = await signUp("Headers");
    const inboxId = await addMailbox(boss.accountId);
    const threadId = ulid();
    const now = Date.now();
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO threads (id, account_id, subject, last_message_at, message_count, created_at) VALUES (?, ?, 'Hi', ?, 0, ?)`,
      ).bind(threadId, boss.accountId, now, now),
      env.DB.prepare(
        `INSERT INTO thread_mailboxes (account_id, thread_id, mailbox_id, last_message_at) VALUES (?, ?, ?, ?)`,
      ).bind(boss.accountId, threadId, inboxId, now),
    ]);
    const injections = ["a\r\nBcc: evil@example.com", "a\nBcc: evil@example.com", "a\rX: y", "a\u0000b"];
    // Outgoing mail through the mailbox: every header-bound field of every way to send.
    const sends: { path: string; base: Record<string, unknown>; fields: string[] }[] = [
      {
        path: `/api/inboxes/${inboxId}/messages`,
        base: { to: ["ana@example.com"], subject: "Hello", text: "hi" },
        fields: ["to", "cc", "bcc", "subject"],
      },
      {
        path: `/api/threads/${threadId}/reply`,
        base: { inboxId, to: ["ana@example.com"], text: "hi" },
        fields: ["to", "cc", "bcc", "subject"],
      },
      {
        path: `/api/threads/${threadId}/forward`,
        base: { inboxId, to: ["ana@example.com"] },
        fields: ["to", "cc", "bcc"],
      },
    ];
    for (const s of sends) {
      for (const field of s.fields) {
        for (const bad of injections) {
          const value = ["to", "cc", "bcc"].includes(field) ? [`ana@example.com${bad}`] : bad;
          const r = await call(s.path, { cookie: boss.cookie, body: { ...s.base, [field]: value } });
          expectRefusal(t, `${s.path} ${field}=${JSON.stringify(bad)}`, r, [400]);
        }
      }
    }
    // Postroom's own mail: the account name (subjects), addresses (To) and names.
    for (const bad of injections) {
      expectRefusal(
        t,
        `signup email ${JSON.stringify(bad)}`,
        await call("/api/auth/signup", { body: { email: `x${bad}@example.com`, accountName: "X" } }),
        [400],
      );
      expectRefusal(
        t,
        `invite email ${JSON.stringify(bad)}`,
        await call("/api/invites", { cookie: boss.cookie, body: { email: `x${bad}@example.com`, role: "member" } }),
        [400],
      );
      expectRefusal(
        t,
        `connect invite email ${JSON.stringify(bad)}`,
        await call("/api/connections/invites", {
          cookie: boss.cookie,
          body: { email: `x${bad}@example.com`, kind: "shared" },
        }),
        [400],
      );
      // An account name may be refused or kept as text; either way no header line may break.
      const r = await call("/api/auth/signup", {
        body: { email: `crlf-${ulid()}@example.com`, accountName: `Co${bad}` },
      });
      judge(t, `signup accountName ${JSON.stringify(bad)}`, r);
    }
    // Then every message the development outbox holds (everything this file's run sent) is clean.
    const listed = await env.RAW_MAIL.list({ prefix: "dev-outbox/" });
    for (const o of listed.objects) {
      const entry = await (await env.RAW_MAIL.get(o.key))!.json<Record<string, unknown>>();
      t.tried++;
      const headerish = ["to", "subject", "from", "replyTo"].map((k) => JSON.stringify(entry[k] ?? ""));
      if (headerish.some((v) => /\\r|\\n|\\u0000/.test(v))) t.failures.push(`outbox ${o.key}: ${headerish.join(" ")}`);
      else t.accepted++;
    }
    expect(t.failures).toEqual([]);
  });
});
