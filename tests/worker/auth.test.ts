import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { addContributor, invite, signUp, uniqueEmail } from "../support/accounts";
import { call, cookieFrom } from "../support/http";
import { latestToken, mailTo } from "../support/outbox";

async function requestSignIn(email: string, headers: Record<string, string> = {}) {
  return call("/api/auth/signin", { body: { email }, headers });
}

describe("sign-up", () => {
  it("creates the workspace and its owner only once the emailed link is used", async () => {
    const email = uniqueEmail("founder");
    const r = await call("/api/auth/signup", { body: { email, accountName: "Founders Inc" } });
    expect(r.status).toBe(202);
    const before = await env.DB.prepare(`SELECT count(*) AS n FROM users WHERE email = ?`)
      .bind(email)
      .first<{ n: number }>();
    expect(before?.n).toBe(0);

    const token = await latestToken(email, "/auth/verify");
    const v = await call("/api/auth/verify", { body: { token } });
    expect(v.status).toBe(200);
    const me = await call("/api/me", { cookie: cookieFrom(v) });
    expect(me.json.user).toMatchObject({ email, role: "owner" });
    expect(me.json.account.name).toBe("Founders Inc");
  });

  it("is refused when the operator turned public sign-up off", async () => {
    const email = uniqueEmail("closed");
    const r = await call("/api/auth/signup", {
      body: { email, accountName: "Nope" },
      envOverrides: { SIGNUP_MODE: "closed" },
    });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe("signup_disabled");
    expect(await mailTo(email)).toHaveLength(0);
  });

  it("accepts only the listed domains when limited to domains", async () => {
    const overrides = { SIGNUP_MODE: "domains", SIGNUP_DOMAINS: "allowed.test, other.test" };
    const refused = await call("/api/auth/signup", {
      body: { email: uniqueEmail("x"), accountName: "X" },
      envOverrides: overrides,
    });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("signup_domain_not_allowed");
    const ok = await call("/api/auth/signup", {
      body: { email: `boss-${Date.now()}@Allowed.test`, accountName: "Y" },
      envOverrides: overrides,
    });
    expect(ok.status).toBe(202);
  });
});

describe("sign-in by magic link", () => {
  it("works once, and a reused link is refused", async () => {
    const owner = await signUp();
    await requestSignIn(owner.email);
    const token = await latestToken(owner.email, "/auth/verify");
    const first = await call("/api/auth/verify", { body: { token } });
    expect(first.status).toBe(200);
    expect((await call("/api/me", { cookie: cookieFrom(first) })).status).toBe(200);

    const again = await call("/api/auth/verify", { body: { token } });
    expect(again.status).toBe(400);
    expect(again.json.error.code).toBe("link_used");
    expect(again.setCookies.filter((c) => c.startsWith("__Host-postroom_session="))).toHaveLength(0);
  });

  it("refuses an expired link", async () => {
    const owner = await signUp();
    await requestSignIn(owner.email);
    const token = await latestToken(owner.email, "/auth/verify");
    // Age the link past its 15 minutes.
    await env.DB.prepare(`UPDATE magic_links SET expires_at = ? WHERE email = ? AND used_at IS NULL`)
      .bind(Date.now() - 1, owner.email)
      .run();
    const r = await call("/api/auth/verify", { body: { token } });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("link_expired");
  });

  it("issues links valid for 15 minutes", async () => {
    const owner = await signUp();
    const before = Date.now();
    await requestSignIn(owner.email);
    const row = await env.DB.prepare(
      `SELECT created_at, expires_at FROM magic_links WHERE email = ? ORDER BY created_at DESC LIMIT 1`,
    )
      .bind(owner.email)
      .first<{ created_at: number; expires_at: number }>();
    expect(row!.created_at).toBeGreaterThanOrEqual(before);
    expect(row!.expires_at - row!.created_at).toBe(15 * 60 * 1000);
  });

  it("refuses forged and malformed tokens", async () => {
    const forged = await call("/api/auth/verify", { body: { token: "A".repeat(43) } });
    expect(forged.status).toBe(400);
    expect(forged.json.error.code).toBe("invalid_link");
    const short = await call("/api/auth/verify", { body: { token: "abc" } });
    expect(short.status).toBe(400);
    expect(short.json.error.code).toBe("invalid_request");
  });

  it("stores only a hash of the token", async () => {
    const owner = await signUp();
    await requestSignIn(owner.email);
    const token = await latestToken(owner.email, "/auth/verify");
    const rows = await env.DB.prepare(`SELECT token_hash FROM magic_links WHERE email = ?`).bind(owner.email).all();
    expect(rows.results.length).toBeGreaterThan(0);
    for (const r of rows.results) expect(JSON.stringify(r)).not.toContain(token);
  });

  it("answers the same for unknown addresses and sends nothing", async () => {
    const owner = await signUp();
    const known = await requestSignIn(owner.email);
    const unknownEmail = uniqueEmail("nobody");
    const unknown = await requestSignIn(unknownEmail);
    expect(unknown.status).toBe(known.status);
    expect(unknown.json).toEqual(known.json);
    expect(await mailTo(unknownEmail)).toHaveLength(0);
  });

  it("gives contributors no session and tells them why by email", async () => {
    const owner = await signUp();
    const contributor = await addContributor(owner.accountId);
    const r = await requestSignIn(contributor.email);
    expect(r.status).toBe(202);
    const mail = await mailTo(contributor.email);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.text).toContain("no access to the app");
    expect(mail[0]!.text).not.toContain("/auth/verify");
  });

  it("sets an HttpOnly, Secure, SameSite=Lax session cookie holding an opaque id", async () => {
    const owner = await signUp();
    await requestSignIn(owner.email);
    const v = await call("/api/auth/verify", { body: { token: await latestToken(owner.email, "/auth/verify") } });
    const session = v.setCookies.find((c) => c.startsWith("__Host-postroom_session="))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/Secure/i);
    expect(session).toMatch(/SameSite=Lax/i);
    expect(session).toMatch(/Path=\//);
    const value = session.split(";")[0]!.split("=")[1]!;
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await env.DB.prepare(`SELECT count(*) AS n FROM sessions WHERE id_hash = ?`)
      .bind(value)
      .first<{ n: number }>();
    expect(stored!.n).toBe(0);
  });

  it("rate limits sign-in per IP with 429 and Retry-After", async () => {
    const overrides = { RATE_LIMIT_SIGNIN_PER_IP: "3", RATE_LIMIT_SIGNIN_PER_EMAIL: "1000" };
    const ip = `198.51.100.${Math.floor(Math.random() * 250)}`;
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      last = await call("/api/auth/signin", {
        body: { email: uniqueEmail("rl") },
        headers: { "cf-connecting-ip": ip },
        envOverrides: overrides,
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(last!.json.error.code).toBe("rate_limited");
    // Another address is not affected.
    const other = await call("/api/auth/signin", {
      body: { email: uniqueEmail("rl") },
      headers: { "cf-connecting-ip": "198.51.100.251" },
      envOverrides: overrides,
    });
    expect(other.status).toBe(202);
  });

  it("rate limits sign-in per email address", async () => {
    const email = uniqueEmail("rl-email");
    const overrides = { RATE_LIMIT_SIGNIN_PER_EMAIL: "2" };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await call("/api/auth/signin", { body: { email }, envOverrides: overrides })).status);
    }
    expect(statuses).toEqual([202, 202, 429]);
  });
});

describe("sessions", () => {
  it("sign out ends this session only; sign out everywhere ends them all", async () => {
    const owner = await signUp();
    await requestSignIn(owner.email);
    const second = cookieFrom(
      await call("/api/auth/verify", { body: { token: await latestToken(owner.email, "/auth/verify") } }),
    );
    await requestSignIn(owner.email);
    const third = cookieFrom(
      await call("/api/auth/verify", { body: { token: await latestToken(owner.email, "/auth/verify") } }),
    );

    const list = await call("/api/auth/sessions", { cookie: owner.cookie });
    expect(list.json.sessions).toHaveLength(3);
    expect(list.json.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);

    expect((await call("/api/auth/signout", { cookie: second, method: "POST" })).status).toBe(200);
    expect((await call("/api/me", { cookie: second })).status).toBe(401);
    expect((await call("/api/me", { cookie: owner.cookie })).status).toBe(200);

    expect((await call("/api/auth/signout-all", { cookie: third, method: "POST" })).status).toBe(200);
    expect((await call("/api/me", { cookie: owner.cookie })).status).toBe(401);
    expect((await call("/api/me", { cookie: third })).status).toBe(401);
  });

  it("ends when the session expires", async () => {
    const owner = await signUp();
    await env.DB.prepare(`UPDATE sessions SET expires_at = ? WHERE user_id = ?`)
      .bind(Date.now() - 1, owner.userId)
      .run();
    const r = await call("/api/me", { cookie: owner.cookie });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("unauthenticated");
  });

  it("refuses a forged session cookie", async () => {
    const r = await call("/api/me", { cookie: `__Host-postroom_session=${"x".repeat(43)}` });
    expect(r.status).toBe(401);
  });

  it("switches between accounts the same address belongs to", async () => {
    const a = await signUp("Alpha");
    const b = await signUp("Beta");
    const shared = await invite(a, "member");
    // The same person is invited into B too and accepts there.
    const r = await call("/api/invites", { cookie: b.cookie, body: { email: shared.email, role: "admin" } });
    expect(r.status).toBe(201);
    await call("/api/auth/accept-invite", { body: { token: await latestToken(shared.email, "/auth/invite") } });

    const me = await call("/api/me", { cookie: shared.cookie });
    expect(me.json.account.id).toBe(a.accountId);
    expect(me.json.otherAccounts).toEqual([{ id: b.accountId, name: "Beta" }]);
    const sw = await call("/api/auth/switch", { cookie: shared.cookie, body: { accountId: b.accountId } });
    expect(sw.status).toBe(200);
    const now = await call("/api/me", { cookie: cookieFrom(sw) });
    expect(now.json.account.id).toBe(b.accountId);
    expect(now.json.user.role).toBe("admin");
    // The old session was replaced, not kept alive alongside.
    expect((await call("/api/me", { cookie: shared.cookie })).status).toBe(401);
    // An account the address does not belong to cannot be switched to.
    const c = await signUp("Gamma");
    const denied = await call("/api/auth/switch", { cookie: cookieFrom(sw), body: { accountId: c.accountId } });
    expect(denied.status).toBe(404);
  });
});

describe("invitations", () => {
  it("are single use and can be revoked", async () => {
    const owner = await signUp();
    const email = uniqueEmail("invitee");
    const created = await call("/api/invites", { cookie: owner.cookie, body: { email, role: "light" } });
    expect(created.status).toBe(201);
    expect(created.json.invite).toMatchObject({ email, role: "light", status: "pending" });
    const token = await latestToken(email, "/auth/invite");
    const ok = await call("/api/auth/accept-invite", { body: { token } });
    expect(ok.status).toBe(200);
    const me = await call("/api/me", { cookie: cookieFrom(ok) });
    expect(me.json.user).toMatchObject({ email, role: "light" });
    const reused = await call("/api/auth/accept-invite", { body: { token } });
    expect(reused.status).toBe(400);
    expect(reused.json.error.code).toBe("link_used");

    const other = uniqueEmail("revoked");
    const inv = await call("/api/invites", { cookie: owner.cookie, body: { email: other, role: "member" } });
    expect((await call(`/api/invites/${inv.json.invite.id}`, { cookie: owner.cookie, method: "DELETE" })).status).toBe(
      204,
    );
    const late = await call("/api/auth/accept-invite", { body: { token: await latestToken(other, "/auth/invite") } });
    expect(late.status).toBe(400);
    expect(late.json.error.code).toBe("invite_revoked");
  });

  it("resending replaces the token: only the newest link works", async () => {
    const owner = await signUp();
    const email = uniqueEmail("resend");
    const inv = await call("/api/invites", { cookie: owner.cookie, body: { email, role: "member" } });
    const oldToken = await latestToken(email, "/auth/invite");
    const resent = await call(`/api/invites/${inv.json.invite.id}/resend`, { cookie: owner.cookie, method: "POST" });
    expect(resent.status).toBe(200);
    const newToken = await latestToken(email, "/auth/invite");
    expect(newToken).not.toBe(oldToken);
    expect((await call("/api/auth/accept-invite", { body: { token: oldToken } })).json.error.code).toBe("invalid_link");
    expect((await call("/api/auth/accept-invite", { body: { token: newToken } })).status).toBe(200);
  });

  it("expire after 7 days", async () => {
    const owner = await signUp();
    const email = uniqueEmail("late");
    const inv = await call("/api/invites", { cookie: owner.cookie, body: { email, role: "member" } });
    const row = await env.DB.prepare(`SELECT created_at, expires_at FROM invites WHERE id = ?`)
      .bind(inv.json.invite.id)
      .first<{ created_at: number; expires_at: number }>();
    expect(row!.expires_at - row!.created_at).toBeGreaterThanOrEqual(7 * 24 * 3600 * 1000 - 1000);
    await env.DB.prepare(`UPDATE invites SET expires_at = ? WHERE id = ?`)
      .bind(Date.now() - 1, inv.json.invite.id)
      .run();
    const r = await call("/api/auth/accept-invite", { body: { token: await latestToken(email, "/auth/invite") } });
    expect(r.json.error.code).toBe("link_expired");
    const list = await call("/api/invites", { cookie: owner.cookie });
    expect(list.json.invites.find((i: { id: string }) => i.id === inv.json.invite.id).status).toBe("expired");
  });

  it("refuses to invite someone who is already a member", async () => {
    const owner = await signUp();
    const member = await invite(owner, "member");
    const r = await call("/api/invites", {
      cookie: owner.cookie,
      body: { email: member.email.toUpperCase(), role: "admin" },
    });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("already_member");
  });

  it("gives a contributor app access when they accept an invitation", async () => {
    const owner = await signUp();
    const contributor = await addContributor(owner.accountId);
    const r = await call("/api/invites", { cookie: owner.cookie, body: { email: contributor.email, role: "member" } });
    expect(r.status).toBe(201);
    const ok = await call("/api/auth/accept-invite", {
      body: { token: await latestToken(contributor.email, "/auth/invite") },
    });
    const me = await call("/api/me", { cookie: cookieFrom(ok) });
    expect(me.json.user).toMatchObject({ id: contributor.userId, role: "member" });
  });

  it("rate limits invitations per account", async () => {
    const owner = await signUp();
    const overrides = { RATE_LIMIT_INVITES_PER_ACCOUNT: "2" };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call("/api/invites", {
        cookie: owner.cookie,
        body: { email: uniqueEmail("burst"), role: "member" },
        headers: { "cf-connecting-ip": "203.0.113.77" },
        envOverrides: overrides,
      });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([201, 201, 429]);
  });
});
