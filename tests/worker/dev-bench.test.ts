/**
 * The development-only measurement routes under /dev/bench: absent outside development, limited to
 * the caller's own inboxes, and doing what the benchmarks rely on (seeded conversations that the real
 * list and search return, the list's own query plan, and notifications counted by the mailbox's DO).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { addMailbox, invite, signUp, type Actor } from "../support/accounts";
import { call } from "../support/http";

let owner: Actor;
let member: Actor;
let inboxId: string;

beforeAll(async () => {
  owner = await signUp("Bench");
  member = await invite(owner, "member");
  inboxId = await addMailbox(owner.accountId);
  const seeded = await call(`/dev/bench/inboxes/${inboxId}/seed`, {
    cookie: owner.cookie,
    body: { start: 0, threads: 60, messagesPerThread: 3 },
  });
  expect(seeded.status).toBe(201);
  expect(seeded.json).toEqual({ threads: 60, messages: 180 });
});

describe("development-only measurement routes", () => {
  it("answer 404 unless the configuration says development", async () => {
    for (const environment of ["production", ""]) {
      const requests = [
        call("/dev/bench/bare", { method: "POST", origin: null, envOverrides: { ENVIRONMENT: environment } }),
        call(`/dev/bench/inboxes/${inboxId}/notifications`, {
          cookie: owner.cookie,
          envOverrides: { ENVIRONMENT: environment },
        }),
        call(`/dev/bench/inboxes/${inboxId}/seed`, {
          cookie: owner.cookie,
          body: { start: 1000, threads: 1, messagesPerThread: 1 },
          envOverrides: { ENVIRONMENT: environment },
        }),
        call(`/dev/bench/inboxes/${inboxId}/plan`, {
          cookie: owner.cookie,
          envOverrides: { ENVIRONMENT: environment },
        }),
        call("/dev/bench/search-index", { cookie: owner.cookie, envOverrides: { ENVIRONMENT: environment } }),
      ];
      for (const r of await Promise.all(requests)) {
        expect(r.status).toBe(404);
        expect(r.json.error.code).toBe("route_not_found");
      }
    }
    const rows = await env.DB.prepare(`SELECT count(*) AS n FROM threads WHERE account_id = ?`)
      .bind(owner.accountId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(60);
  });

  it("tells how many segments the search index has, to a signed-in caller", async () => {
    const r = await call("/dev/bench/search-index", { cookie: owner.cookie });
    expect(r.status).toBe(200);
    const { n } = (await env.DB.prepare(`SELECT count(DISTINCT segid) AS n FROM message_search_idx`).first<{
      n: number;
    }>())!;
    expect(n).toBeGreaterThan(0);
    expect(r.json).toEqual({ segments: n });
    expect((await call("/dev/bench/search-index")).status).toBe(401);
  });

  it("the bare route answers 200 with nothing", async () => {
    const r = await call("/dev/bench/bare", { method: "POST", origin: null });
    expect(r.status).toBe(200);
    expect(r.text).toBe("");
  });

  it("seeded conversations are what the real list and search return, page after page", async () => {
    const first = await call(`/api/inboxes/${inboxId}/threads?limit=50`, { cookie: owner.cookie });
    expect(first.status).toBe(200);
    expect(first.json.threads).toHaveLength(50);
    expect(first.json.threads[0].messageCount).toBe(3);
    const second = await call(`/api/inboxes/${inboxId}/threads?limit=50&cursor=${first.json.nextCursor}`, {
      cookie: owner.cookie,
    });
    expect(second.json.threads).toHaveLength(10);
    const ids = new Set([...first.json.threads, ...second.json.threads].map((t: { id: string }) => t.id));
    expect(ids.size).toBe(60);
    // Each seeded subject ends with its index, which the full-text index finds.
    const hit = await call(`/api/inboxes/${inboxId}/threads?q=${encodeURIComponent("subject:#17")}`, {
      cookie: owner.cookie,
    });
    expect(hit.json.threads.map((t: { subject: string }) => t.subject)).toEqual([expect.stringMatching(/ #17$/)]);
  });

  it("only admins seed, and only their own account's inboxes", async () => {
    const asMember = await call(`/dev/bench/inboxes/${inboxId}/seed`, {
      cookie: member.cookie,
      body: { start: 500, threads: 1, messagesPerThread: 1 },
    });
    expect(asMember.status).toBe(403);
    const bad = await call(`/dev/bench/inboxes/${inboxId}/seed`, {
      cookie: owner.cookie,
      body: { start: -1, threads: 100_000, messagesPerThread: 1 },
    });
    expect(bad.status).toBe(400);
    const other = await signUp("Other");
    const foreign = await call(`/dev/bench/inboxes/${inboxId}/seed`, {
      cookie: other.cookie,
      body: { start: 600, threads: 1, messagesPerThread: 1 },
    });
    expect(foreign.status).toBe(404);
  });

  it("returns the list's own statement and its query plan", async () => {
    const r = await call(`/dev/bench/inboxes/${inboxId}/plan?q=${encodeURIComponent("from:okafor invoice")}`, {
      cookie: owner.cookie,
    });
    expect(r.status).toBe(200);
    // Few matches here: they are listed first, then their threads looked up by seq.
    expect(r.json.way).toBe("matches_first");
    expect(r.json.sql).toContain("CROSS JOIN threads t");
    expect(r.json.sql).toContain("message_search MATCH");
    const details = (r.json.plan as { detail: string }[]).map((p) => p.detail).join("\n");
    // The match is read within the account's rowid range (the > and < constraints reach FTS5).
    expect(details).toMatch(/SCAN message_search VIRTUAL TABLE INDEX \d+:M\d*(><|<>)/);
    expect(details).toMatch(/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|PRIMARY KEY/);
  });

  it("counts the notifications the inbox's mailbox object received", async () => {
    const count = async (who: Actor) => call(`/dev/bench/inboxes/${inboxId}/notifications`, { cookie: who.cookie });
    const before = await count(owner);
    expect(before.status).toBe(200);
    await env.MAILBOX.getByName(inboxId).hint("1");
    await env.MAILBOX.getByName(inboxId).hint("2");
    expect((await count(owner)).json.received).toBe(before.json.received + 2);
    // A member without access to the inbox learns nothing about it.
    expect((await count(member)).status).toBe(404);
  });
});
