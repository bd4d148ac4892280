/**
 * Connecting mailboxes against the provider emulator, end to end: no mocks anywhere. Every test
 * that changes the emulator (fault switches) lives in this file, so no other file sees them.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TokenVault } from "../../durable-objects/mailbox/token-vault";
import { signUp, type Actor } from "../support/accounts";
import { connect, emulatorAdmin, finish, inviteToConnect, providerRound } from "../support/connect";
import { call } from "../support/http";
import { mailTo } from "../support/outbox";

const TABLES = [
  "accounts",
  "users",
  "sessions",
  "invites",
  "mailboxes",
  "inbox_access",
  "audit_events",
  "connect_invites",
  "oauth_states",
];

async function dumpD1(): Promise<string> {
  const parts: unknown[] = [];
  for (const t of TABLES) parts.push((await env.DB.prepare(`SELECT * FROM ${t}`).all()).results);
  return JSON.stringify(parts);
}

async function mailboxRows(accountId: string) {
  return (await env.DB.prepare(`SELECT * FROM mailboxes WHERE account_id = ?`).bind(accountId).all()).results;
}

/** The grant as the MailboxDO stores it, and the plaintext tokens it unseals to. */
async function storedGrant(inboxId: string) {
  const row = await runInDurableObject(env.MAILBOX.getByName(inboxId), (_i, state) =>
    state.storage.sql.exec(`SELECT * FROM grant_state`).toArray(),
  );
  const g = row[0] as { account_id: string; mailbox_id: string; refresh_sealed: string; access_sealed: string };
  const vault = await TokenVault.fromSecret(env.TOKEN_ENCRYPTION_KEYS);
  const binding = { accountId: g.account_id, mailboxId: g.mailbox_id };
  const refresh = await vault.open(g.refresh_sealed, binding);
  const access = await vault.open(g.access_sealed, binding);
  if (!refresh.ok || !access.ok) throw new Error("stored grant does not unseal");
  return { row: g, refreshToken: refresh.plaintext, accessToken: access.plaintext };
}

/** Makes the stored access token look expired, so the next lease must refresh. */
async function expireAccessToken(inboxId: string) {
  await runInDurableObject(env.MAILBOX.getByName(inboxId), (_i, state) => {
    state.storage.sql.exec(`UPDATE grant_state SET access_expires_at = ?`, Date.now() - 1000);
  });
}

afterEach(async () => {
  await emulatorAdmin("/faults", undefined, "DELETE");
  await emulatorAdmin("/settings", { microsoft: { revokeRotatedRefreshTokens: false } }, "PATCH");
});

describe("connect a Gmail mailbox", () => {
  it("connects, keeps tokens only sealed in the MailboxDO, and makes the owner a contributor", async () => {
    const owner = await signUp("Gmail Co");
    const r = await connect(owner, "sales@demo.test", "google", { account: "sales@demo.test" });
    expect(r.outcome).toBe("connected");
    const inboxId = r.inboxId!;

    const [mailbox] = await mailboxRows(owner.accountId);
    expect(mailbox).toMatchObject({
      id: inboxId,
      address: "sales@demo.test",
      provider: "gmail",
      kind: "shared",
      health: "good",
      grant_email: "sales@demo.test",
    });
    const contributor = await env.DB.prepare(`SELECT role FROM users WHERE account_id = ? AND email = ?`)
      .bind(owner.accountId, "sales@demo.test")
      .first<{ role: string }>();
    expect(contributor?.role).toBe("contributor");

    const grant = await storedGrant(inboxId);
    expect(grant.row.refresh_sealed.startsWith("v1.test1.")).toBe(true);
    expect(grant.refreshToken.length).toBeGreaterThan(10);
    // No token anywhere in D1 or in any API response.
    const d1 = await dumpD1();
    const responses = [
      (await call("/api/connections", { cookie: owner.cookie })).text,
      (await call("/api/inboxes", { cookie: owner.cookie })).text,
      (await call(`/api/inboxes/${inboxId}`, { cookie: owner.cookie })).text,
      (await call("/api/audit?limit=200", { cookie: owner.cookie })).text,
      r.callback.headers.get("location") ?? "",
    ].join("\n");
    for (const secret of [grant.refreshToken, grant.accessToken]) {
      expect(d1).not.toContain(secret);
      expect(responses).not.toContain(secret);
    }
    const audit = await call("/api/audit?action=connection.connected", { cookie: owner.cookie });
    expect(audit.json.events).toHaveLength(1);
    // A lease hands out a working access token without exposing the refresh token.
    const lease = await env.MAILBOX.getByName(inboxId).leaseAccessToken();
    expect(lease).toMatchObject({ ok: true, address: "sales@demo.test", provider: "google" });
  });

  it("logs no token, through a connect, a refresh and a failed refresh", async () => {
    const lines: string[] = [];
    const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(capture),
    );
    try {
      const owner = await signUp();
      const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
      const first = await storedGrant(r.inboxId!);
      await expireAccessToken(r.inboxId!);
      await env.MAILBOX.getByName(r.inboxId!).leaseAccessToken();
      const second = await storedGrant(r.inboxId!);
      await emulatorAdmin("/oauth/google/tokens", { account: "maria@demo.test", fault: "revoke" });
      await expireAccessToken(r.inboxId!);
      await env.MAILBOX.getByName(r.inboxId!).leaseAccessToken();
      const all = lines.join("\n");
      expect(lines.length).toBeGreaterThan(0);
      for (const secret of [first.refreshToken, first.accessToken, second.accessToken])
        expect(all).not.toContain(secret);
    } finally {
      for (const s of spies) s.mockRestore();
    }
  });

  it("imports the history window the admin chose; an unknown window is refused", async () => {
    const owner = await signUp();
    const bad = await call("/api/connections/invites", {
      cookie: owner.cookie,
      body: { email: "maria@demo.test", kind: "personal", windowDays: 14 },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((d: { path: string }) => d.path)).toEqual(["windowDays"]);
    const token = await inviteToConnect(owner, "maria@demo.test", "personal", 7);
    const r = await finish(await providerRound(token, "google", { account: "maria@demo.test" }));
    expect(r.outcome).toBe("connected");
    const list = await call("/api/connections", { cookie: owner.cookie });
    expect(list.json.connections[0]).toMatchObject({ address: "maria@demo.test", windowDays: 7 });
    expect(list.json.invites[0]).toMatchObject({ windowDays: 7, status: "used" });
    await runInDurableObject(env.MAILBOX.getByName(r.inboxId!), async (_i, state) => {
      const row = state.storage.sql.exec<{ window_days: number | null }>(`SELECT window_days FROM sync_state`).one();
      expect(row.window_days).toBe(7);
    });
    await call(`/api/connections/${r.inboxId}?threads=delete`, { cookie: owner.cookie, method: "DELETE" });
  });

  it("says whether an inbox is shared", async () => {
    const owner = await signUp();
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    expect(r.outcome).toBe("connected");
    const inbox = await call(`/api/inboxes/${r.inboxId}`, { cookie: owner.cookie });
    expect(inbox.json.inbox.kind).toBe("personal");
  });
});

describe("connect a Microsoft 365 shared mailbox through a delegate", () => {
  it("connects support@ with the delegate's grant and records whose grant it is", async () => {
    const owner = await signUp("Graph Co");
    const r = await connect(owner, "support@demo-ms.test", "microsoft", { account: "sam@demo-ms.test" });
    expect(r.outcome).toBe("connected");
    const [mailbox] = await mailboxRows(owner.accountId);
    expect(mailbox).toMatchObject({
      address: "support@demo-ms.test",
      provider: "graph",
      grant_email: "sam@demo-ms.test",
    });
    const lease = await env.MAILBOX.getByName(r.inboxId!).leaseAccessToken();
    expect(lease).toMatchObject({ ok: true, address: "support@demo-ms.test", grantEmail: "sam@demo-ms.test" });
  });
});

describe("refusals store nothing", () => {
  async function refused(owner: Actor, run: () => Promise<{ outcome: string }>, outcome: string) {
    const before = await mailboxRows(owner.accountId);
    const r = await run();
    expect(r.outcome).toBe(outcome);
    expect(await mailboxRows(owner.accountId)).toEqual(before);
  }

  it("a different account than the invited address", async () => {
    const owner = await signUp();
    await refused(
      owner,
      () => connect(owner, "sales@demo.test", "google", { account: "maria@demo.test" }),
      "wrong_account",
    );
  });

  it("a refusal never revokes the grant another connected mailbox runs on", async () => {
    const owner = await signUp();
    const sales = await connect(owner, "sales@demo.test", "google", { account: "sales@demo.test" });
    expect(sales.outcome).toBe("connected");
    // Someone follows maria@'s invitation but signs in as sales@, whose grant is already in use.
    await refused(
      owner,
      () => connect(owner, "maria@demo.test", "google", { account: "sales@demo.test" }),
      "wrong_account",
    );
    await expireAccessToken(sales.inboxId!);
    expect(await env.MAILBOX.getByName(sales.inboxId!).leaseAccessToken()).toMatchObject({ ok: true });
    const [m] = await mailboxRows(owner.accountId);
    expect(m).toMatchObject({ health: "good" });
  });

  it("an alias: signing in as the mailbox behind it is not the invited address", async () => {
    const owner = await signUp();
    const r = await connect(owner, "deals@demo.test", "google", { account: "sales@demo.test" });
    expect(r).toMatchObject({ outcome: "wrong_account", detail: "sales@demo.test" });
    expect(await mailboxRows(owner.accountId)).toEqual([]);
  });

  it("a Google Group cannot sign in at all", async () => {
    const owner = await signUp();
    const token = await inviteToConnect(owner, "team@demo.test");
    await expect(providerRound(token, "google", { account: "team@demo.test" })).rejects.toThrow(/consent answered 400/);
    expect(await mailboxRows(owner.accountId)).toEqual([]);
  });

  it("partial consent lists what is missing", async () => {
    const owner = await signUp();
    const r = await connect(owner, "sales@demo.test", "google", { account: "sales@demo.test", untick: ["gmail.send"] });
    expect(r.outcome).toBe("missing_scope");
    expect(r.detail).toContain("https://www.googleapis.com/auth/gmail.send");
    expect(await mailboxRows(owner.accountId)).toEqual([]);
  });

  it("declined consent", async () => {
    const owner = await signUp();
    await refused(
      owner,
      () => connect(owner, "sales@demo.test", "google", { account: "sales@demo.test", deny: true }),
      "declined",
    );
  });

  it("a replayed state, a foreign state and the wrong callback", async () => {
    const owner = await signUp();
    const token = await inviteToConnect(owner, "sales@demo.test");
    const round = await providerRound(token, "google", { account: "sales@demo.test" });
    // Without the browser's state cookie (a state planted from elsewhere).
    expect((await finish(round, round.callbackPath, "")).outcome).toBe("invalid_state");
    // The state was spent by that attempt, so even the right browser cannot use it now.
    expect((await finish(round)).outcome).toBe("invalid_state");

    const second = await providerRound(token, "google", { account: "sales@demo.test" });
    const wrongCallback = second.callbackPath.replace("/auth/callback/google", "/auth/callback/microsoft");
    expect((await finish(second, wrongCallback)).outcome).toBe("wrong_provider");
    expect(await mailboxRows(owner.accountId)).toEqual([]);
  });

  it("a code replayed into another flow, or injected with another flow's PKCE, is refused", async () => {
    const owner = await signUp();
    const token = await inviteToConnect(owner, "maria@demo.test", "personal");
    const a = await providerRound(token, "google", { account: "maria@demo.test" });
    const b = await providerRound(token, "google", { account: "maria@demo.test" });
    const codeOfA = new URL(`http://x${a.callbackPath}`).searchParams.get("code")!;
    const injected = new URL(`http://x${b.callbackPath}`);
    injected.searchParams.set("code", codeOfA);
    // B's state with A's code: the verifier derived for B does not match A's challenge.
    expect((await finish(b, injected.pathname + injected.search)).outcome).toBe("exchange_failed");
    expect(await mailboxRows(owner.accountId)).toEqual([]);
  });

  it("an invitation that was revoked meanwhile", async () => {
    const owner = await signUp();
    const token = await inviteToConnect(owner, "maria@demo.test", "personal");
    const round = await providerRound(token, "google", { account: "maria@demo.test" });
    const list = await call("/api/connections", { cookie: owner.cookie });
    await call(`/api/connections/invites/${list.json.invites[0].id}`, { cookie: owner.cookie, method: "DELETE" });
    expect((await finish(round)).outcome).toBe("invite_unusable");
    expect(await mailboxRows(owner.accountId)).toEqual([]);
  });

  it("a shared connect needs the explicit acknowledgement", async () => {
    const owner = await signUp();
    const token = await inviteToConnect(owner, "maria@demo.test", "shared");
    const r = await call("/api/connect/start", { body: { token, provider: "google" } });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("acknowledgement_required");
  });
});

describe("health, refresh and reconnect", () => {
  it("a revoked grant is Failing(invalid_grant) after one attempt; admins get one email; reconnect restores the same mailbox", async () => {
    const owner = await signUp("Health Co");
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    const inboxId = r.inboxId!;
    const stub = env.MAILBOX.getByName(inboxId);

    expect((await emulatorAdmin("/oauth/google/tokens", { account: "maria@demo.test", fault: "revoke" })).status).toBe(
      200,
    );
    await expireAccessToken(inboxId);
    const lease = await stub.leaseAccessToken();
    expect(lease).toMatchObject({ ok: false, reason: "invalid_grant" });
    const [failing] = await mailboxRows(owner.accountId);
    expect(failing).toMatchObject({ health: "failing", health_reason: "invalid_grant" });
    expect(String(failing!.health_detail)).toMatch(/reconnect/i);
    // Further attempts do not hammer the provider or send more mail.
    await stub.leaseAccessToken();
    const failMails = (await mailTo(owner.email)).filter((m) => m.subject.includes("stopped syncing"));
    expect(failMails).toHaveLength(1);

    const link = await call(`/api/connections/${inboxId}/reconnect-link`, { cookie: owner.cookie, method: "POST" });
    expect(link.status).toBe(201);
    const again = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }).catch(() => null);
    // The reconnect link itself is the way back (a new connect invite for a connected address is refused).
    expect(again).toBeNull();
    const { latestToken } = await import("../support/outbox");
    const token = await latestToken("maria@demo.test", "/connect");
    const reconnected = await finish(await providerRound(token, "google", { account: "maria@demo.test" }));
    expect(reconnected).toMatchObject({ outcome: "reconnected", inboxId });
    const [good] = await mailboxRows(owner.accountId);
    expect(good).toMatchObject({ id: inboxId, health: "good", health_reason: null });
    expect(await stub.leaseAccessToken()).toMatchObject({ ok: true });
    expect((await mailTo(owner.email)).filter((m) => m.subject.includes("connected again"))).toHaveLength(1);
  });

  it("reconnecting with a different account is refused and changes nothing", async () => {
    const owner = await signUp();
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    await call(`/api/connections/${r.inboxId}/reconnect-link`, { cookie: owner.cookie, method: "POST" });
    const { latestToken } = await import("../support/outbox");
    const token = await latestToken("maria@demo.test", "/connect");
    const other = await finish(await providerRound(token, "google", { account: "sales@demo.test" }));
    expect(other.outcome).toBe("wrong_account");
    const grant = await storedGrant(r.inboxId!);
    expect(grant.row.mailbox_id).toBe(r.inboxId);
  });

  it("MFA required on Microsoft is Failing(mfa_required)", async () => {
    const owner = await signUp();
    const r = await connect(owner, "ops@northwind.test", "microsoft", { account: "ops@northwind.test" }, "personal");
    expect(r.outcome).toBe("connected");
    const fault = await emulatorAdmin("/oauth/microsoft/tokens", {
      account: "ops@northwind.test",
      fault: "require-mfa",
    });
    expect(fault.status).toBe(200);
    await expireAccessToken(r.inboxId!);
    expect(await env.MAILBOX.getByName(r.inboxId!).leaseAccessToken()).toMatchObject({
      ok: false,
      reason: "mfa_required",
    });
    const [m] = await mailboxRows(owner.accountId);
    expect(m).toMatchObject({ health: "failing", health_reason: "mfa_required" });
  });

  it("two concurrent leases share one refresh, and the rotated refresh token is kept", async () => {
    const owner = await signUp();
    const r = await connect(owner, "sam@demo-ms.test", "microsoft", { account: "sam@demo-ms.test" }, "personal");
    // With rotation enforced, a second refresh with the old token would fail: only one may happen.
    await emulatorAdmin("/settings", { microsoft: { revokeRotatedRefreshTokens: true } }, "PATCH");
    const before = await storedGrant(r.inboxId!);
    await expireAccessToken(r.inboxId!);
    const stub = env.MAILBOX.getByName(r.inboxId!);
    const [a, b] = await Promise.all([stub.leaseAccessToken(), stub.leaseAccessToken()]);
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    if (a.ok && b.ok) expect(a.accessToken).toBe(b.accessToken);
    const after = await storedGrant(r.inboxId!);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    // The kept token is the live one: another refresh works.
    await expireAccessToken(r.inboxId!);
    expect(await stub.leaseAccessToken()).toMatchObject({ ok: true });
  });

  it("a grant sealed under a retired key is read and re-sealed under the current key", async () => {
    const owner = await signUp();
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    const current = await storedGrant(r.inboxId!);
    // Re-seal the refresh token under the retired key, as if it were written before a rotation.
    const retiredOnly = await TokenVault.fromSecret(env.TOKEN_ENCRYPTION_KEYS.split(",")[1]!);
    const binding = { accountId: current.row.account_id, mailboxId: current.row.mailbox_id };
    const old = await retiredOnly.seal(current.refreshToken, binding);
    await runInDurableObject(env.MAILBOX.getByName(r.inboxId!), (_i, state) => {
      state.storage.sql.exec(
        `UPDATE grant_state SET refresh_sealed = ?, access_expires_at = ?`,
        old,
        Date.now() - 1000,
      );
    });
    expect(await env.MAILBOX.getByName(r.inboxId!).leaseAccessToken()).toMatchObject({ ok: true });
    const after = await storedGrant(r.inboxId!);
    expect(after.row.refresh_sealed.startsWith("v1.test1.")).toBe(true);
  });

  it("a delegate's broken grant says whose grant it was", async () => {
    const owner = await signUp();
    const r = await connect(owner, "support@demo-ms.test", "microsoft", { account: "sam@demo-ms.test" });
    await runInDurableObject(env.MAILBOX.getByName(r.inboxId!), (_i, state) => {
      state.storage.sql.exec(
        `UPDATE grant_state SET refresh_sealed = 'v1.test1.AAAA.AAAA', access_expires_at = ?`,
        Date.now() - 1000,
      );
    });
    expect(await env.MAILBOX.getByName(r.inboxId!).leaseAccessToken()).toMatchObject({
      ok: false,
      reason: "invalid_grant",
    });
    const [m] = await mailboxRows(owner.accountId);
    expect(m).toMatchObject({ health: "failing", grant_email: "sam@demo-ms.test" });
    expect(String(m!.health_detail)).toContain("sam@demo-ms.test");
    // The reconnect link goes to the delegate, and names the mailbox being repaired.
    const link = await call(`/api/connections/${r.inboxId}/reconnect-link`, { cookie: owner.cookie, method: "POST" });
    expect(link.json.invite.email).toBe("sam@demo-ms.test");
    const { latestToken } = await import("../support/outbox");
    const described = await call("/api/connect/describe", {
      body: { token: await latestToken("sam@demo-ms.test", "/connect") },
    });
    expect(described.json).toMatchObject({
      address: "support@demo-ms.test",
      signInAs: "sam@demo-ms.test",
      reconnect: true,
    });
  });

  it("a tampered grant fails closed: Failing, and nothing is sent to the provider", async () => {
    const owner = await signUp();
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    await runInDurableObject(env.MAILBOX.getByName(r.inboxId!), (_i, state) => {
      const row = state.storage.sql.exec<{ refresh_sealed: string }>(`SELECT refresh_sealed FROM grant_state`).one();
      const tampered = row.refresh_sealed.slice(0, -4) + (row.refresh_sealed.endsWith("AAAA") ? "BBBB" : "AAAA");
      state.storage.sql.exec(
        `UPDATE grant_state SET refresh_sealed = ?, access_expires_at = ?`,
        tampered,
        Date.now() - 1000,
      );
    });
    expect(await env.MAILBOX.getByName(r.inboxId!).leaseAccessToken()).toMatchObject({
      ok: false,
      reason: "invalid_grant",
    });
    const [m] = await mailboxRows(owner.accountId);
    expect(m).toMatchObject({ health: "failing" });
  });
});

describe("disconnect", () => {
  it("keeping the conversations leaves a read-only archive that reconnects in place", async () => {
    const owner = await signUp();
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    const inboxId = r.inboxId!;
    const del = await call(`/api/connections/${inboxId}?threads=keep`, { cookie: owner.cookie, method: "DELETE" });
    expect(del.status).toBe(204);
    expect(await env.MAILBOX.getByName(inboxId).describe()).toMatchObject({ connected: false, mailboxId: null });
    const list = await call("/api/connections", { cookie: owner.cookie });
    expect(list.json.connections[0]).toMatchObject({ id: inboxId, grantEmail: null });
    expect(list.json.connections[0].disconnectedAt).toBeTypeOf("number");
    // Connecting the same address again brings the same inbox back.
    const again = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    expect(again).toMatchObject({ outcome: "reconnected", inboxId });
    const [m] = await mailboxRows(owner.accountId);
    expect(m).toMatchObject({ id: inboxId, disconnected_at: null, health: "good" });
    const audit = await call("/api/audit?action=connection.deleted", { cookie: owner.cookie });
    expect(audit.json.events[0].details).toMatchObject({ threads: "keep" });
  });

  it("disconnecting one workspace's mailbox leaves another workspace's connection of the same account working", async () => {
    const a = await signUp("A");
    const b = await signUp("B");
    const ra = await connect(a, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    const rb = await connect(b, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    expect(
      (await call(`/api/connections/${ra.inboxId}?threads=delete`, { cookie: a.cookie, method: "DELETE" })).status,
    ).toBe(204);
    await expireAccessToken(rb.inboxId!);
    expect(await env.MAILBOX.getByName(rb.inboxId!).leaseAccessToken()).toMatchObject({ ok: true });
  });

  it("deleting the conversations removes the inbox, and its tokens are gone from the MailboxDO", async () => {
    const owner = await signUp();
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    const del = await call(`/api/connections/${r.inboxId}?threads=delete`, { cookie: owner.cookie, method: "DELETE" });
    expect(del.status).toBe(204);
    expect(await mailboxRows(owner.accountId)).toEqual([]);
    const rows = await runInDurableObject(env.MAILBOX.getByName(r.inboxId!), (_i, state) =>
      state.storage.sql.exec(`SELECT count(*) AS n FROM grant_state`).one(),
    );
    expect(rows.n).toBe(0);
    expect((await call(`/api/inboxes/${r.inboxId}`, { cookie: owner.cookie })).status).toBe(404);
  });

  it("asks what to do with the conversations", async () => {
    const owner = await signUp();
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    const bad = await call(`/api/connections/${r.inboxId}`, { cookie: owner.cookie, method: "DELETE" });
    expect(bad.status).toBe(400);
    expect((await mailboxRows(owner.accountId)).length).toBe(1);
  });
});

describe("access tokens are refreshed ahead of expiry by the alarm", () => {
  it("refreshes when the alarm fires inside the refresh window", async () => {
    const owner = await signUp();
    const r = await connect(owner, "maria@demo.test", "google", { account: "maria@demo.test" }, "personal");
    const stub = env.MAILBOX.getByName(r.inboxId!);
    const before = await storedGrant(r.inboxId!);
    // Inside the refresh window (five minutes before expiry), the alarm refreshes ahead of time.
    await runInDurableObject(stub, async (instance, state) => {
      state.storage.sql.exec(`UPDATE grant_state SET access_expires_at = ?`, Date.now() + 60_000);
      await instance.alarm();
    });
    const after = await storedGrant(r.inboxId!);
    expect(after.accessToken).not.toBe(before.accessToken);
    // Outside the window it leaves the token alone, and an alarm stays armed for the next deadline.
    await runInDurableObject(stub, async (instance) => {
      await instance.alarm();
    });
    expect((await storedGrant(r.inboxId!)).accessToken).toBe(after.accessToken);
    const alarmAt = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarmAt).not.toBeNull();
  });
});

describe("sign in with Google or Microsoft", () => {
  async function oauthSignIn(provider: "google" | "microsoft", account: string) {
    const start = await call("/api/auth/oauth/start", { body: { provider } });
    expect(start.status).toBe(200);
    const { cookieFrom } = await import("../support/http");
    const browser = cookieFrom(start);
    const page = await fetch(start.json.authorizeUrl, { redirect: "manual" });
    const html = await page.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, "&");
    const request = /name="request" value="([^"]+)"/.exec(html)![1]!;
    const scopes = [...html.matchAll(/name="scope" value="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, "&"));
    const form = new URLSearchParams({ request, account, decision: "allow" });
    for (const s of scopes) form.append("scope", s);
    const answered = await fetch(new URL(action, start.json.authorizeUrl), {
      method: "POST",
      body: form,
      redirect: "manual",
    });
    const cb = new URL(answered.headers.get("location")!);
    const done = await call(cb.pathname + cb.search, { cookie: browser });
    return { done, cookie: cookieFrom(done, browser) };
  }

  it("signs in an existing user by their verified address, and refuses unknown ones", async () => {
    const owner = await signUp();
    // Make the demo Google identity a member of this account.
    await call("/api/invites", { cookie: owner.cookie, body: { email: "sales@demo.test", role: "member" } });
    const { latestToken } = await import("../support/outbox");
    await call("/api/auth/accept-invite", { body: { token: await latestToken("sales@demo.test", "/auth/invite") } });

    const ok = await oauthSignIn("google", "sales@demo.test");
    expect(ok.done.status).toBe(302);
    expect(new URL(ok.done.headers.get("location")!).pathname).toBe("/");
    const me = await call("/api/me", { cookie: ok.cookie });
    expect(me.json.user.email).toBe("sales@demo.test");

    const unknown = await oauthSignIn("microsoft", "ops@northwind.test");
    expect(new URL(unknown.done.headers.get("location")!).searchParams.get("error")).toBe("no_account");
    expect(unknown.done.setCookies.some((c) => c.startsWith("__Host-postroom_session=") && !/Max-Age=0/i.test(c))).toBe(
      false,
    );
  });
});
