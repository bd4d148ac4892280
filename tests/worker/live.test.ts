/**
 * Live updates and presence over the MailboxDO's WebSockets, through the real Worker route: who may
 * connect, who sees whom viewing and replying, and thread changes reaching open views.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { ulid } from "ulid";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { app } from "../../worker/app";
import { addMailbox, invite, signUp, type Actor } from "../support/accounts";
import { APP_ORIGIN, call } from "../support/http";

interface Socket {
  ws: WebSocket;
  events: Record<string, unknown>[];
}

async function connectLive(who: Actor, inboxId: string, origin = APP_ORIGIN): Promise<Response> {
  const request = new Request(`${APP_ORIGIN}/api/inboxes/${inboxId}/live`, {
    headers: { upgrade: "websocket", cookie: who.cookie, origin },
  });
  return app.fetch(request, env, createExecutionContext());
}

async function open(who: Actor, inboxId: string): Promise<Socket> {
  const res = await connectLive(who, inboxId);
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const socket: Socket = { ws, events: [] };
  ws.addEventListener("message", (e) => socket.events.push(JSON.parse(String(e.data)) as Record<string, unknown>));
  return socket;
}

const lastPresence = (s: Socket, threadId: string) =>
  [...s.events].reverse().find((e) => e["type"] === "presence" && e["threadId"] === threadId) as
    { viewers: { userId: string; name: string; typing: boolean }[] } | undefined;

let owner: Actor;
let member: Actor;
let outsider: Actor;
let inboxId: string;
let threadId: string;

beforeAll(async () => {
  owner = await signUp("Live Co");
  member = await invite(owner, "member");
  outsider = await invite(owner, "member");
  inboxId = await addMailbox(owner.accountId, "live@live.test");
  await call(`/api/inboxes/${inboxId}/access`, {
    cookie: owner.cookie,
    method: "PUT",
    body: { userIds: [member.userId] },
  });
  threadId = ulid();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO threads (id, account_id, subject, last_message_at, message_count, created_at) VALUES (?, ?, 'Live', ?, 0, ?)`,
    ).bind(threadId, owner.accountId, now, now),
    env.DB.prepare(
      `INSERT INTO thread_mailboxes (account_id, thread_id, mailbox_id, last_message_at) VALUES (?, ?, ?, ?)`,
    ).bind(owner.accountId, threadId, inboxId, now),
  ]);
});

describe("who may connect", () => {
  it("needs a WebSocket upgrade, the app's own origin, a session and access to the inbox", async () => {
    const plain = await call(`/api/inboxes/${inboxId}/live`, { cookie: owner.cookie });
    expect(plain.status).toBe(426);
    expect(plain.json.error.code).toBe("upgrade_required");
    // Cookies ride along on cross-site WebSocket handshakes: another origin is refused.
    const forged = await connectLive(owner, inboxId, "https://evil.example");
    expect(forged.status).toBe(403);
    expect((await connectLive(outsider, inboxId)).status).toBe(404);
    const anonymous = await app.fetch(
      new Request(`${APP_ORIGIN}/api/inboxes/${inboxId}/live`, {
        headers: { upgrade: "websocket", origin: APP_ORIGIN },
      }),
      env,
      createExecutionContext(),
    );
    expect(anonymous.status).toBe(401);
  });
});

describe("presence and live updates", () => {
  it("shows who is viewing and who is replying, and forgets them when they leave", async () => {
    const a = await open(owner, inboxId);
    const b = await open(member, inboxId);
    a.ws.send(JSON.stringify({ type: "view", threadId }));
    await vi.waitFor(() => expect(lastPresence(b, threadId)?.viewers.map((v) => v.userId)).toEqual([owner.userId]));
    b.ws.send(JSON.stringify({ type: "view", threadId }));
    a.ws.send(JSON.stringify({ type: "typing", threadId, typing: true }));
    await vi.waitFor(() => {
      const seen = lastPresence(b, threadId)!.viewers;
      expect(seen.find((v) => v.userId === owner.userId)?.typing).toBe(true);
      expect(seen.find((v) => v.userId === member.userId)?.typing).toBe(false);
    });
    // Nonsense is ignored; the socket stays open.
    a.ws.send("not json");
    a.ws.send(JSON.stringify({ type: "typing", threadId: "x".repeat(100), typing: true }));
    a.ws.send(JSON.stringify({ type: "ping" }));
    await vi.waitFor(() => expect(a.events.some((e) => e["type"] === "pong")).toBe(true));

    a.ws.close(1000, "leaving");
    await vi.waitFor(() => expect(lastPresence(b, threadId)?.viewers.map((v) => v.userId)).toEqual([member.userId]));
    b.ws.close(1000, "leaving");
  });

  it("tells open views when a thread changes: status, notes", async () => {
    const b = await open(member, inboxId);
    expect(
      (await call(`/api/threads/${threadId}`, { cookie: owner.cookie, method: "PATCH", body: { status: "pending" } }))
        .status,
    ).toBe(200);
    await vi.waitFor(() => expect(b.events).toContainEqual({ type: "thread", threadId, change: "updated" }));
    expect(
      (await call(`/api/threads/${threadId}/notes`, { cookie: owner.cookie, body: { body: "On it" } })).status,
    ).toBe(201);
    await vi.waitFor(() => expect(b.events).toContainEqual({ type: "thread", threadId, change: "note" }));
    b.ws.close(1000, "leaving");
  });
});
