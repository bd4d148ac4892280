import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addMailbox, invite, signUp } from "../support/accounts";
import { call } from "../support/http";
import { latestToken } from "../support/outbox";

describe("per-inbox access", () => {
  it("owners and admins see every inbox; members and light users only those granted", async () => {
    const owner = await signUp();
    const admin = await invite(owner, "admin");
    const member = await invite(owner, "member");
    const light = await invite(owner, "light");
    const sales = await addMailbox(owner.accountId, `sales-${Date.now()}@demo.test`);
    const support = await addMailbox(owner.accountId, `support-${Date.now()}@demo.test`);

    const ids = async (cookie: string) =>
      ((await call("/api/inboxes", { cookie })).json.inboxes as { id: string }[]).map((i) => i.id).sort();
    expect(await ids(owner.cookie)).toEqual([sales, support].sort());
    expect(await ids(admin.cookie)).toEqual([sales, support].sort());
    expect(await ids(member.cookie)).toEqual([]);
    expect((await call(`/api/inboxes/${sales}`, { cookie: member.cookie })).status).toBe(404);

    const grant = await call(`/api/inboxes/${sales}/access`, {
      cookie: admin.cookie,
      method: "PUT",
      body: { userIds: [member.userId, light.userId] },
    });
    expect(grant.status).toBe(200);
    expect(await ids(member.cookie)).toEqual([sales]);
    expect(await ids(light.cookie)).toEqual([sales]);
    expect((await call(`/api/inboxes/${sales}`, { cookie: member.cookie })).json.inbox.id).toBe(sales);
    expect((await call(`/api/inboxes/${support}`, { cookie: member.cookie })).status).toBe(404);
    // Members cannot read or change who has access.
    expect((await call(`/api/inboxes/${sales}/access`, { cookie: member.cookie })).status).toBe(403);
    expect(
      (await call(`/api/inboxes/${sales}/access`, { cookie: member.cookie, method: "PUT", body: { userIds: [] } }))
        .status,
    ).toBe(403);

    const revoke = await call(`/api/inboxes/${sales}/access`, {
      cookie: owner.cookie,
      method: "PUT",
      body: { userIds: [light.userId] },
    });
    expect(revoke.json.userIds).toEqual([light.userId]);
    expect(await ids(member.cookie)).toEqual([]);
  });
});

describe("audit log", () => {
  it("records sign-in, invite, role change and removal with who, when, IP and user agent", async () => {
    const owner = await signUp("Audited");
    const headers = { "cf-connecting-ip": "192.0.2.10", "user-agent": "AuditTest/1.0" };
    await call("/api/auth/signin", { body: { email: owner.email } });
    await call("/api/auth/verify", { body: { token: await latestToken(owner.email, "/auth/verify") }, headers });
    const member = await invite(owner, "member");
    await call(`/api/users/${member.userId}`, {
      cookie: owner.cookie,
      method: "PATCH",
      body: { role: "admin" },
      headers,
    });
    await call(`/api/users/${member.userId}`, { cookie: owner.cookie, method: "DELETE", headers });

    const r = await call("/api/audit?limit=50", { cookie: owner.cookie });
    expect(r.status).toBe(200);
    const events = r.json.events as {
      action: string;
      actorEmail: string;
      ip: string;
      userAgent: string;
      targetId: string;
      details: Record<string, unknown>;
      createdAt: number;
    }[];
    const actions = events.map((e) => e.action);
    for (const a of [
      "account.created",
      "auth.signin",
      "invite.created",
      "invite.accepted",
      "user.role_changed",
      "user.removed",
    ]) {
      expect(actions).toContain(a);
    }
    const signin = events.find((e) => e.action === "auth.signin")!;
    expect(signin).toMatchObject({ actorEmail: owner.email, ip: "192.0.2.10", userAgent: "AuditTest/1.0" });
    const role = events.find((e) => e.action === "user.role_changed")!;
    expect(role).toMatchObject({
      actorEmail: owner.email,
      targetId: member.userId,
      details: { from: "member", to: "admin" },
    });
    expect(role.createdAt).toBeGreaterThan(Date.now() - 60_000);

    const filtered = await call("/api/audit?action=user.removed", { cookie: owner.cookie });
    expect(filtered.json.events.map((e: { action: string }) => e.action)).toEqual(["user.removed"]);
  });

  it("never stores tokens", async () => {
    const owner = await signUp();
    await invite(owner, "member");
    const rows = await env.DB.prepare(`SELECT details FROM audit_events WHERE account_id = ?`)
      .bind(owner.accountId)
      .all();
    for (const row of rows.results) expect(String(row.details)).not.toMatch(/token/i);
  });

  it("pages with nextBefore", async () => {
    const owner = await signUp();
    for (let i = 0; i < 3; i++) await invite(owner, "light");
    const first = await call("/api/audit?limit=2", { cookie: owner.cookie });
    expect(first.json.events).toHaveLength(2);
    expect(first.json.nextBefore).toMatch(/^\d+\.[0-9A-Z]{26}$/);
    // Walk every page: each event exactly once, newest first, even when several share a millisecond.
    const seen: string[] = first.json.events.map((e: { id: string }) => e.id);
    let cursor: string | null = first.json.nextBefore;
    while (cursor) {
      const page = await call(`/api/audit?limit=2&before=${cursor}`, { cookie: owner.cookie });
      seen.push(...page.json.events.map((e: { id: string }) => e.id));
      cursor = page.json.nextBefore;
    }
    const all = await call("/api/audit?limit=200", { cookie: owner.cookie });
    expect(seen).toEqual(all.json.events.map((e: { id: string }) => e.id));
  });
});
