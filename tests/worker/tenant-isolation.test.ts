/**
 * A signed-in user of account A tries every route against account B's data. Every route the app
 * registers must appear in SWEEP below: a new route that is not listed fails the first test, so
 * isolation is decided for each route when it is added, not later.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ulid } from "ulid";
import { app } from "../../worker/app";
import { addMailbox, invite, signUp, uniqueEmail, type Actor } from "../support/accounts";
import { APP_ORIGIN, call, type CallResult } from "../support/http";

interface Tenant {
  owner: Actor;
  member: Actor;
  inviteId: string;
  inboxId: string;
  connectInviteId: string;
  threadId: string;
}

async function tenant(name: string): Promise<Tenant> {
  const owner = await signUp(name);
  const member = await invite(owner, "member");
  const inv = await call("/api/invites", {
    cookie: owner.cookie,
    body: { email: uniqueEmail("pending"), role: "light" },
  });
  const inboxId = await addMailbox(owner.accountId);
  await call(`/api/inboxes/${inboxId}/access`, {
    cookie: owner.cookie,
    method: "PUT",
    body: { userIds: [member.userId] },
  });
  const connect = await call("/api/connections/invites", {
    cookie: owner.cookie,
    body: { email: uniqueEmail("mailbox"), kind: "shared" },
  });
  // A conversation in the inbox, as sync would store it.
  const threadId = ulid();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO threads (id, account_id, subject, last_message_at, message_count, created_at) VALUES (?, ?, 'Secret deal', ?, 0, ?)`,
    ).bind(threadId, owner.accountId, Date.now(), Date.now()),
    env.DB.prepare(
      `INSERT INTO thread_mailboxes (account_id, thread_id, mailbox_id, last_message_at) VALUES (?, ?, ?, ?)`,
    ).bind(owner.accountId, threadId, inboxId, Date.now()),
  ]);
  return { owner, member, inviteId: inv.json.invite.id, inboxId, connectInviteId: connect.json.invite.id, threadId };
}

const TENANT_TABLES = [
  "threads",
  "thread_mailboxes",
  "users",
  "sessions",
  "invites",
  "mailboxes",
  "inbox_access",
  "audit_events",
  "connect_invites",
];

async function dump(accountId: string): Promise<string> {
  const parts: unknown[] = [
    (await env.DB.prepare(`SELECT * FROM accounts WHERE id = ?`).bind(accountId).all()).results,
  ];
  for (const t of TENANT_TABLES) {
    parts.push(
      (await env.DB.prepare(`SELECT * FROM ${t} WHERE account_id = ? ORDER BY 1`).bind(accountId).all()).results,
    );
  }
  return JSON.stringify(parts);
}

type Probe =
  | { kind: "targets-b"; run: (a: Tenant, b: Tenant) => Promise<CallResult>; expect: number[] }
  | { kind: "lists-own"; run: (a: Tenant) => Promise<CallResult> }
  | { kind: "no-tenant-data"; why: string };

const SWEEP: Record<string, Probe> = {
  "GET /healthz": { kind: "no-tenant-data", why: "liveness only" },
  "GET /api/openapi.json": { kind: "no-tenant-data", why: "the API's description, the same for everyone" },
  "POST /api/auth/signin": { kind: "no-tenant-data", why: "public; answers the same for every address" },
  "POST /api/auth/signup": { kind: "no-tenant-data", why: "public; creates a new account" },
  "POST /api/auth/verify": { kind: "no-tenant-data", why: "public; only the emailed token selects data" },
  "POST /api/auth/accept-invite": { kind: "no-tenant-data", why: "public; only the emailed token selects data" },
  "POST /api/auth/signout": { kind: "no-tenant-data", why: "acts on the caller's own session only" },
  "POST /api/auth/signout-all": { kind: "no-tenant-data", why: "acts on the caller's own sessions only" },
  "POST /api/connect/describe": { kind: "no-tenant-data", why: "public; only the emailed connect token selects data" },
  "POST /api/connect/start": { kind: "no-tenant-data", why: "public; only the emailed connect token selects data" },
  "GET /auth/callback/:provider{google|microsoft}": {
    kind: "no-tenant-data",
    why: "the state is single use, bound to the browser, and names its own invitation",
  },
  "POST /api/auth/oauth/start": { kind: "no-tenant-data", why: "public; starts a sign-in" },
  "GET /auth/signin/callback/:provider{google|microsoft}": {
    kind: "no-tenant-data",
    why: "public; the account comes only from the verified id_token",
  },
  "GET /api/inboxes/:inboxId/live": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/inboxes/${b.inboxId}/live`, {
        cookie: a.owner.cookie,
        headers: { upgrade: "websocket", origin: APP_ORIGIN },
      }),
    expect: [404],
  },
  "GET /api/connections/:inboxId/sync": {
    kind: "targets-b",
    run: (a, b) => call(`/api/connections/${b.inboxId}/sync`, { cookie: a.owner.cookie }),
    expect: [404],
  },
  "POST /webhooks/microsoft": {
    kind: "no-tenant-data",
    why: "Graph notifications checked against each subscription's clientState; only hints DOs",
  },
  "POST /webhooks/google": { kind: "no-tenant-data", why: "verified Pub/Sub push; only hints DOs, answers nothing" },
  "PATCH /api/connections/:inboxId": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/connections/${b.inboxId}`, { cookie: a.owner.cookie, method: "PATCH", body: { windowDays: 90 } }),
    expect: [404],
  },
  "DELETE /api/connections/:inboxId": {
    kind: "targets-b",
    run: (a, b) => call(`/api/connections/${b.inboxId}?threads=delete`, { cookie: a.owner.cookie, method: "DELETE" }),
    expect: [404],
  },
  "GET /dev/outbox": { kind: "no-tenant-data", why: "development only; 404 in production (dev-routes test)" },
  "GET /dev/outbox.json": { kind: "no-tenant-data", why: "development only; 404 in production (dev-routes test)" },
  "POST /dev/bench/bare": { kind: "no-tenant-data", why: "development only; answers 200 and reads nothing" },
  "GET /dev/bench/inboxes/:inboxId/notifications": {
    kind: "targets-b",
    run: (a, b) => call(`/dev/bench/inboxes/${b.inboxId}/notifications`, { cookie: a.owner.cookie }),
    expect: [404],
  },
  "POST /dev/bench/inboxes/:inboxId/seed": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/dev/bench/inboxes/${b.inboxId}/seed`, {
        cookie: a.owner.cookie,
        body: { start: 0, threads: 2, messagesPerThread: 1 },
      }),
    expect: [404],
  },
  "GET /dev/bench/inboxes/:inboxId/plan": {
    kind: "targets-b",
    run: (a, b) => call(`/dev/bench/inboxes/${b.inboxId}/plan`, { cookie: a.owner.cookie }),
    expect: [404],
  },
  "GET /api/auth/sessions": { kind: "lists-own", run: (a) => call("/api/auth/sessions", { cookie: a.owner.cookie }) },
  "POST /api/auth/switch": {
    kind: "targets-b",
    run: (a, b) => call("/api/auth/switch", { cookie: a.owner.cookie, body: { accountId: b.owner.accountId } }),
    expect: [404],
  },
  "GET /api/me": { kind: "lists-own", run: (a) => call("/api/me", { cookie: a.owner.cookie }) },
  "GET /api/users": { kind: "lists-own", run: (a) => call("/api/users", { cookie: a.owner.cookie }) },
  "PATCH /api/users/:userId": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/users/${b.member.userId}`, { cookie: a.owner.cookie, method: "PATCH", body: { role: "admin" } }),
    expect: [404],
  },
  "DELETE /api/users/:userId": {
    kind: "targets-b",
    run: (a, b) => call(`/api/users/${b.member.userId}`, { cookie: a.owner.cookie, method: "DELETE" }),
    expect: [404],
  },
  "GET /api/invites": { kind: "lists-own", run: (a) => call("/api/invites", { cookie: a.owner.cookie }) },
  "POST /api/invites": {
    kind: "targets-b",
    // Inviting B's member into A is allowed (an address may belong to several accounts) but must not touch B.
    run: (a, b) => call("/api/invites", { cookie: a.owner.cookie, body: { email: b.member.email, role: "member" } }),
    expect: [201],
  },
  "POST /api/invites/:inviteId/resend": {
    kind: "targets-b",
    run: (a, b) => call(`/api/invites/${b.inviteId}/resend`, { cookie: a.owner.cookie, method: "POST" }),
    expect: [404],
  },
  "DELETE /api/invites/:inviteId": {
    kind: "targets-b",
    run: (a, b) => call(`/api/invites/${b.inviteId}`, { cookie: a.owner.cookie, method: "DELETE" }),
    expect: [404],
  },
  "GET /api/inboxes": { kind: "lists-own", run: (a) => call("/api/inboxes", { cookie: a.owner.cookie }) },
  "GET /api/inboxes/:inboxId": {
    kind: "targets-b",
    run: (a, b) => call(`/api/inboxes/${b.inboxId}`, { cookie: a.owner.cookie }),
    expect: [404],
  },
  "GET /api/inboxes/:inboxId/threads": {
    kind: "targets-b",
    run: (a, b) => call(`/api/inboxes/${b.inboxId}/threads`, { cookie: a.owner.cookie }),
    expect: [404],
  },
  "GET /api/threads/:threadId": {
    kind: "targets-b",
    run: async (a, b) => {
      const thread = await env.DB.prepare(`SELECT id FROM threads WHERE account_id = ? LIMIT 1`)
        .bind(b.owner.accountId)
        .first<{ id: string }>();
      return call(`/api/threads/${thread?.id ?? "01NOTHREAD0000000000000000"}`, { cookie: a.owner.cookie });
    },
    expect: [404],
  },
  "GET /api/threads": { kind: "lists-own", run: (a) => call("/api/threads?q=tenant", { cookie: a.owner.cookie }) },
  "PATCH /api/threads/:threadId": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/threads/${b.threadId}`, { cookie: a.owner.cookie, method: "PATCH", body: { status: "closed" } }),
    expect: [404],
  },
  "PUT /api/threads/:threadId/tags": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/threads/${b.threadId}/tags`, { cookie: a.owner.cookie, method: "PUT", body: { tags: ["x"] } }),
    expect: [404],
  },
  "POST /api/threads/:threadId/notes": {
    kind: "targets-b",
    run: (a, b) => call(`/api/threads/${b.threadId}/notes`, { cookie: a.owner.cookie, body: { body: "hi" } }),
    expect: [404],
  },
  "PUT /api/threads/:threadId/read": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/threads/${b.threadId}/read`, { cookie: a.owner.cookie, method: "PUT", body: { read: true } }),
    expect: [404],
  },
  "POST /api/threads/:threadId/hide": {
    kind: "targets-b",
    run: (a, b) => call(`/api/threads/${b.threadId}/hide`, { cookie: a.owner.cookie, method: "POST" }),
    expect: [404],
  },
  "DELETE /api/threads/:threadId/hide": {
    kind: "targets-b",
    run: (a, b) => call(`/api/threads/${b.threadId}/hide`, { cookie: a.owner.cookie, method: "DELETE" }),
    expect: [404],
  },
  "GET /api/threads/:threadId/messages/:messageId/body": {
    kind: "targets-b",
    run: async (a, b) => {
      const m = await env.DB.prepare(`SELECT id FROM messages WHERE account_id = ? AND thread_id = ? LIMIT 1`)
        .bind(b.owner.accountId, b.threadId)
        .first<{ id: string }>();
      return call(`/api/threads/${b.threadId}/messages/${m?.id ?? "01J00000000000000000000000"}/body`, {
        cookie: a.owner.cookie,
      });
    },
    expect: [404],
  },
  "GET /api/threads/:threadId/attachments/:attachmentId": {
    kind: "targets-b",
    run: async (a, b) => {
      const f = await env.DB.prepare(`SELECT id FROM attachments WHERE account_id = ? LIMIT 1`)
        .bind(b.owner.accountId)
        .first<{ id: string }>();
      return call(`/api/threads/${b.threadId}/attachments/${f?.id ?? "01J00000000000000000000000-0"}`, {
        cookie: a.owner.cookie,
      });
    },
    expect: [404],
  },
  "POST /api/threads/:threadId/forward": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/threads/${b.threadId}/forward`, {
        cookie: a.owner.cookie,
        body: { inboxId: b.inboxId, to: ["x@example.com"] },
      }),
    expect: [404],
  },
  "POST /api/inboxes/:inboxId/messages": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/inboxes/${b.inboxId}/messages`, {
        cookie: a.owner.cookie,
        body: { to: ["x@example.com"], subject: "Hi", text: "hi" },
      }),
    expect: [404],
  },
  "POST /api/threads/:threadId/reply": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/threads/${b.threadId}/reply`, {
        cookie: a.owner.cookie,
        body: { inboxId: b.inboxId, to: ["x@example.com"], text: "hi" },
      }),
    expect: [404],
  },
  "GET /api/inboxes/:inboxId/access": {
    kind: "targets-b",
    run: (a, b) => call(`/api/inboxes/${b.inboxId}/access`, { cookie: a.owner.cookie }),
    expect: [404],
  },
  "PUT /api/inboxes/:inboxId/access": {
    kind: "targets-b",
    run: async (a, b) => {
      const onB = await call(`/api/inboxes/${b.inboxId}/access`, {
        cookie: a.owner.cookie,
        method: "PUT",
        body: { userIds: [a.member.userId] },
      });
      expect(onB.status).toBe(404);
      // A's own inbox cannot be opened to B's users either.
      return call(`/api/inboxes/${a.inboxId}/access`, {
        cookie: a.owner.cookie,
        method: "PUT",
        body: { userIds: [b.member.userId] },
      });
    },
    expect: [400],
  },
  "GET /api/audit": { kind: "lists-own", run: (a) => call("/api/audit", { cookie: a.owner.cookie }) },
  "GET /api/connections": { kind: "lists-own", run: (a) => call("/api/connections", { cookie: a.owner.cookie }) },
  "POST /api/connections/invites": {
    kind: "targets-b",
    run: (a) =>
      call("/api/connections/invites", {
        cookie: a.owner.cookie,
        body: { email: uniqueEmail("mb"), kind: "personal" },
      }),
    expect: [201],
  },
  "POST /api/connections/invites/:inviteId/resend": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/connections/invites/${b.connectInviteId}/resend`, { cookie: a.owner.cookie, method: "POST" }),
    expect: [404],
  },
  "DELETE /api/connections/invites/:inviteId": {
    kind: "targets-b",
    run: (a, b) => call(`/api/connections/invites/${b.connectInviteId}`, { cookie: a.owner.cookie, method: "DELETE" }),
    expect: [404],
  },
  "POST /api/connections/:inboxId/reconnect-link": {
    kind: "targets-b",
    run: (a, b) => call(`/api/connections/${b.inboxId}/reconnect-link`, { cookie: a.owner.cookie, method: "POST" }),
    expect: [404],
  },
};

function registeredRoutes(): string[] {
  const seen = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue; // middleware
    seen.add(`${r.method} ${r.path}`);
  }
  return [...seen].sort();
}

describe("tenant isolation sweep", () => {
  let a: Tenant;
  let b: Tenant;
  let bSecrets: string[];
  beforeAll(async () => {
    a = await tenant("Tenant A");
    b = await tenant("Tenant B");
    // B's member address is also invited into A by one probe, so only B's ids and owner address are secret.
    bSecrets = [
      b.threadId,
      b.owner.accountId,
      b.owner.userId,
      b.member.userId,
      b.owner.email,
      b.inviteId,
      b.inboxId,
      b.connectInviteId,
    ];
  });

  it("covers every registered route", () => {
    const missing = registeredRoutes().filter((r) => !(r in SWEEP));
    expect(missing, "add these routes to SWEEP with the probe that proves isolation").toEqual([]);
    const stale = Object.keys(SWEEP).filter((r) => !registeredRoutes().includes(r));
    expect(stale, "these SWEEP entries name routes that no longer exist").toEqual([]);
  });

  for (const [route, probe] of Object.entries(SWEEP)) {
    if (probe.kind === "no-tenant-data") continue;
    it(`${route}: A cannot read or change B`, async () => {
      const before = await dump(b.owner.accountId);
      const r = probe.kind === "targets-b" ? await probe.run(a, b) : await probe.run(a);
      if (probe.kind === "targets-b") expect(probe.expect).toContain(r.status);
      else expect(r.status).toBe(200);
      // Nothing of B's appears in what A sees, except ids A itself sent (echoed in a validation error).
      const echoed = route === "PUT /api/inboxes/:inboxId/access" ? [b.member.userId] : [];
      for (const secret of bSecrets.filter((s) => !echoed.includes(s))) expect(r.text).not.toContain(secret);
      expect(await dump(b.owner.accountId)).toBe(before);
    });
  }
});
