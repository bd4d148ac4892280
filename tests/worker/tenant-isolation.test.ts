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
import { embedCall, exchange, registerPartner, signHs256 } from "../support/embed";
import { APP_ORIGIN, call, type CallResult } from "../support/http";
import { deliver } from "../support/store-mail";

interface Tenant {
  owner: Actor;
  member: Actor;
  inviteId: string;
  inboxId: string;
  connectInviteId: string;
  threadId: string;
  partnerId: string;
  /** A widget session of the tenant's partner site. */
  embedToken: string;
  /** A word only in the tenant's message subject and body. */
  secretText: string;
  uploadId: string;
}

async function tenant(name: string): Promise<Tenant> {
  const owner = await signUp(name);
  const member = await invite(owner, "member");
  const inv = await call("/api/invites", {
    cookie: owner.cookie,
    body: { email: uniqueEmail("pending"), role: "light" },
  });
  const inboxAddress = uniqueEmail("inbox");
  const inboxId = await addMailbox(owner.accountId, inboxAddress);
  await call(`/api/inboxes/${inboxId}/access`, {
    cookie: owner.cookie,
    method: "PUT",
    body: { userIds: [member.userId] },
  });
  const connect = await call("/api/connections/invites", {
    cookie: owner.cookie,
    body: { email: uniqueEmail("mailbox"), kind: "shared" },
  });
  // A conversation in the inbox with a message and an attachment, stored as sync stores them.
  const tag = ulid().toLowerCase();
  const threadId = await deliver(owner.accountId, inboxId, {
    id: `deal-${tag}@customer.test`,
    subject: `Secret deal ${tag}`,
    to: "inbox@tenant.test",
    body: `The secret price is ${tag}`,
    attachment: true,
  });
  const form = new FormData();
  form.append("file", new File([`secret upload ${tag}`], "secret.txt", { type: "text/plain" }));
  const uploaded = await call("/api/uploads", { cookie: owner.cookie, form });
  if (uploaded.status !== 201) throw new Error(`upload answered ${uploaded.status}: ${uploaded.text}`);
  const partner = await registerPartner(owner, inboxId);
  const embed = await exchange(await signHs256(partner.secret!, { iss: partner.id, inbox: inboxAddress }));
  return {
    owner,
    member,
    inviteId: inv.json.invite.id,
    inboxId,
    connectInviteId: connect.json.invite.id,
    threadId,
    partnerId: partner.id,
    embedToken: embed.json.accessToken,
    secretText: tag,
    uploadId: uploaded.json.upload.id,
  };
}

/** The tenant's objects in R2 (raw mail, attachments, uploads), with their sizes. */
async function objects(accountId: string): Promise<string> {
  const keys: string[] = [];
  for (const prefix of [`raw/${accountId}/`, `att/${accountId}/`, `uploads/${accountId}/`]) {
    const listed = await env.RAW_MAIL.list({ prefix });
    keys.push(...listed.objects.map((o) => `${o.key}:${o.size}`));
  }
  return keys.sort().join("\n");
}

const TENANT_TABLES = [
  "threads",
  "thread_mailboxes",
  "messages",
  "message_sources",
  "attachments",
  "users",
  "sessions",
  "invites",
  "mailboxes",
  "inbox_access",
  "audit_events",
  "connect_invites",
  "embed_partners",
  "embed_partner_origins",
  "embed_sessions",
  "hosted_addresses",
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
  "GET /dev/bench/search-index": {
    kind: "no-tenant-data",
    why: "development only; answers the full-text index's segment count, which names no account",
  },
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
      expect(m, "B's thread has a message").not.toBeNull();
      // Through B's thread, and through a thread of A's own (the message id alone must not reach B).
      const ownThread = await call(`/api/threads/${a.threadId}/messages/${m!.id}/body`, { cookie: a.owner.cookie });
      expect(ownThread.status).toBe(404);
      return call(`/api/threads/${b.threadId}/messages/${m!.id}/body`, { cookie: a.owner.cookie });
    },
    expect: [404],
  },
  "GET /api/threads/:threadId/attachments/:attachmentId": {
    kind: "targets-b",
    run: async (a, b) => {
      const f = await env.DB.prepare(`SELECT id FROM attachments WHERE account_id = ? LIMIT 1`)
        .bind(b.owner.accountId)
        .first<{ id: string }>();
      expect(f, "B's message has an attachment").not.toBeNull();
      const ownThread = await call(`/api/threads/${a.threadId}/attachments/${f!.id}`, { cookie: a.owner.cookie });
      expect(ownThread.status).toBe(404);
      return call(`/api/threads/${b.threadId}/attachments/${f!.id}`, { cookie: a.owner.cookie });
    },
    expect: [404],
  },
  "GET /api/threads/:threadId/export": {
    kind: "targets-b",
    run: (a, b) => call(`/api/threads/${b.threadId}/export`, { cookie: a.owner.cookie }),
    expect: [404],
  },
  "POST /api/uploads": {
    kind: "targets-b",
    run: (a) => {
      const form = new FormData();
      form.append("file", new File(["mine"], "mine.txt"));
      return call("/api/uploads", { cookie: a.owner.cookie, form });
    },
    expect: [201],
  },
  "DELETE /api/uploads/:uploadId": {
    kind: "targets-b",
    run: (a, b) => call(`/api/uploads/${b.uploadId}`, { cookie: a.owner.cookie, method: "DELETE" }),
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
    run: async (a, b) => {
      // B's upload on A's own thread is not found either.
      const withUpload = await call(`/api/threads/${a.threadId}/reply`, {
        cookie: a.owner.cookie,
        body: { inboxId: a.inboxId, to: ["x@example.com"], text: "hi", uploadIds: [b.uploadId] },
      });
      expect(withUpload.status).toBe(404);
      return call(`/api/threads/${b.threadId}/reply`, {
        cookie: a.owner.cookie,
        body: { inboxId: b.inboxId, to: ["x@example.com"], text: "hi" },
      });
    },
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
  "POST /api/connections/hosted": {
    kind: "targets-b",
    // A new address in A's own account; the address table is global, so B's rows must stay as they are.
    run: (a) =>
      call("/api/connections/hosted", {
        cookie: a.owner.cookie,
        body: { localPart: `tenant-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` },
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
  "GET /api/partners": { kind: "lists-own", run: (a) => call("/api/partners", { cookie: a.owner.cookie }) },
  "POST /api/partners": {
    kind: "targets-b",
    run: (a, b) =>
      call("/api/partners", {
        cookie: a.owner.cookie,
        body: {
          name: "P",
          origins: ["https://p.example"],
          inboxId: b.inboxId,
          permissions: ["read"],
          key: { type: "hs256" },
        },
      }),
    expect: [400],
  },
  "PATCH /api/partners/:partnerId": {
    kind: "targets-b",
    run: (a, b) =>
      call(`/api/partners/${b.partnerId}`, { cookie: a.owner.cookie, method: "PATCH", body: { name: "Mine now" } }),
    expect: [404],
  },
  "POST /api/partners/:partnerId/rotate": {
    kind: "targets-b",
    run: (a, b) => call(`/api/partners/${b.partnerId}/rotate`, { cookie: a.owner.cookie, body: {} }),
    expect: [404],
  },
  "POST /api/partners/:partnerId/revoke": {
    kind: "targets-b",
    run: (a, b) => call(`/api/partners/${b.partnerId}/revoke`, { cookie: a.owner.cookie, method: "POST" }),
    expect: [404],
  },
  "POST /api/embed/session": {
    kind: "no-tenant-data",
    why: "public; the account comes only from a partner token its own key signed (embed-tokens test)",
  },
  "GET /widget/:partnerId": {
    kind: "no-tenant-data",
    why: "the frame page; shows only the partner's origins, which its frame-ancestors publishes anyway",
  },
  "GET /api/embed/threads": { kind: "lists-own", run: (a) => embedCall(a.embedToken, "/threads") },
  "GET /api/embed/threads/:threadId": {
    kind: "targets-b",
    run: (a, b) => embedCall(a.embedToken, `/threads/${b.threadId}`),
    expect: [404],
  },
  "POST /api/embed/threads/:threadId/reply": {
    kind: "targets-b",
    run: (a, b) => embedCall(a.embedToken, `/threads/${b.threadId}/reply`, { body: { text: "hi" } }),
    expect: [404],
  },
  "POST /api/embed/threads/:threadId/notes": {
    kind: "targets-b",
    run: (a, b) => embedCall(a.embedToken, `/threads/${b.threadId}/notes`, { body: { body: "hi" } }),
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
      b.partnerId,
      b.secretText,
      b.uploadId,
      ...(
        await env.DB.prepare(
          `SELECT id FROM messages WHERE account_id = ?1 UNION ALL SELECT id FROM attachments WHERE account_id = ?1`,
        )
          .bind(b.owner.accountId)
          .all<{ id: string }>()
      ).results.map((r) => r.id),
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
      const storedBefore = await objects(b.owner.accountId);
      const r = probe.kind === "targets-b" ? await probe.run(a, b) : await probe.run(a);
      if (probe.kind === "targets-b") expect(probe.expect).toContain(r.status);
      else expect(r.status).toBe(200);
      // Nothing of B's appears in what A sees, except ids A itself sent (echoed in a validation error).
      const echoed = route === "PUT /api/inboxes/:inboxId/access" ? [b.member.userId] : [];
      for (const secret of bSecrets.filter((s) => !echoed.includes(s))) expect(r.text).not.toContain(secret);
      expect(await dump(b.owner.accountId)).toBe(before);
      expect(await objects(b.owner.accountId)).toBe(storedBefore);
    });
  }
});
