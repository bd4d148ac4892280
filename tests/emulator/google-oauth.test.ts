import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_GOOGLE_CLIENT, type RunningEmulator } from "../../emulator/index";
import { FIXED_NOW, json, startTestEmulator } from "./support/emulator";
import {
  GMAIL_SCOPES,
  type GoogleTokens,
  REDIRECT_URI,
  googleConsent,
  googleSignIn,
  googleToken,
  locationParams,
  pkcePair,
} from "./support/oauth";
import { loadFixture, shapeProblems } from "./support/shapes";

const fixture = loadFixture("oauth.json");
const SALES = "sales@demo.test";
const MARIA = "maria@demo.test";
const EMAIL = "https://www.googleapis.com/auth/userinfo.email";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator({ now: () => FIXED_NOW });
});
afterAll(() => emulator.close());

const defaults = {
  rotateRefreshTokens: false,
  refreshTokenExpiresInSeconds: null,
  publishingStatus: "production" as const,
  refreshTokenLimit: 100,
};
beforeEach(() => {
  emulator.admin.configure({ google: defaults });
  emulator.admin.setAutoConsent("google", null);
});

async function exchange(code: string, verifier?: string, extra: Record<string, string> = {}) {
  const form: Record<string, string> = { grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, ...extra };
  if (verifier) form["code_verifier"] = verifier;
  return googleToken(emulator, form);
}

async function codeFor(params: Record<string, string>, account = SALES, scopes?: string[]) {
  const res = await googleConsent(
    emulator,
    { scope: `openid email ${GMAIL_SCOPES.modify}`, access_type: "offline", ...params },
    { account, scopes },
  );
  expect(res.status).toBe(302);
  return locationParams(res);
}

const refresh = (token: string) => googleToken(emulator, { grant_type: "refresh_token", refresh_token: token });

describe("Google consent page", () => {
  it("should list the accounts that can sign in, with the group shown but disabled", async () => {
    const q = new URLSearchParams({
      client_id: DEFAULT_GOOGLE_CLIENT.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: `openid email ${GMAIL_SCOPES.modify} ${GMAIL_SCOPES.send}`,
      login_hint: SALES,
    });
    const page = await fetch(`${emulator.urls.googleAuthorize}?${q}`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain(`value="${SALES}" checked`);
    expect(html).toContain(`value="${MARIA}"`);
    expect(html).toMatch(/value="team@demo\.test" disabled/);
    // Gmail scopes are individual checkboxes; sign-in scopes are not optional.
    expect(html).toContain(`type="checkbox" name="scope" value="${GMAIL_SCOPES.send}" checked`);
    expect(html).toContain(`type="hidden" name="scope" value="${EMAIL}"`);
  });

  it("should refuse a Google Group as the signing-in account", async () => {
    const res = await googleConsent(emulator, { scope: "openid email" }, { account: "team@demo.test" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("is a Google Group");
  });

  it("should redirect with access_denied and the state when the user cancels", async () => {
    const res = await googleConsent(emulator, { scope: "openid" }, { account: SALES, decision: "deny" });
    const params = locationParams(res);
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("state")).toBe("state-123");
  });

  it("should show an error page for an unknown client or an unregistered redirect", async () => {
    const unknown = await fetch(
      `${emulator.urls.googleAuthorize}?client_id=nope&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&response_type=code&scope=openid`,
    );
    expect(unknown.status).toBe(401);
    expect(await unknown.text()).toContain('content="invalid_client"');
    const badMethod = await fetch(
      `${emulator.urls.googleAuthorize}?client_id=${DEFAULT_GOOGLE_CLIENT.clientId}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&response_type=code&scope=openid&code_challenge_method=S256`,
    );
    expect(badMethod.status).toBe(400);
    expect(await badMethod.text()).toContain('content="invalid_request"');
  });
});

describe("Google authorization code flow", () => {
  it("should issue documented tokens and an id_token that verifies against the emulator's JWKS", async () => {
    const tokens = await googleSignIn(emulator, SALES, ["openid", "email", "profile", GMAIL_SCOPES.modify], {
      nonce: "n-1",
    });
    expect(shapeProblems(tokens, fixture.shapes["google.token"]!)).toEqual([]);
    expect(tokens.token_type).toBe("Bearer");
    expect(tokens.expires_in).toBe(3599);
    expect(tokens.refresh_token).toMatch(/^1\/\/0/);
    expect(tokens.scope.split(" ").sort()).toEqual(
      ["openid", EMAIL, "https://www.googleapis.com/auth/userinfo.profile", GMAIL_SCOPES.modify].sort(),
    );

    const discovery = await json<{ issuer: string; jwks_uri: string }>(await fetch(emulator.urls.googleDiscovery));
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, jwks, {
      issuer: discovery.issuer,
      audience: DEFAULT_GOOGLE_CLIENT.clientId,
      algorithms: ["RS256"],
      currentDate: new Date(emulator.admin.now()),
    });
    expect(protectedHeader.kid).toBeTruthy();
    expect(shapeProblems(payload, fixture.shapes["google.id_token"]!)).toEqual([]);
    expect(payload).toMatchObject({
      email: SALES,
      email_verified: true,
      hd: "demo.test",
      azp: DEFAULT_GOOGLE_CLIENT.clientId,
      nonce: "n-1",
    });
  });

  it("should accept PKCE plain and reject a mismatched plain verifier", async () => {
    const plain = pkcePair("plain");
    const params = await codeFor({ code_challenge: plain.challenge, code_challenge_method: "plain" });
    expect((await exchange(params.get("code")!, plain.verifier)).status).toBe(200);

    // A challenge without a method defaults to plain.
    const implicit = pkcePair("plain");
    const p2 = await codeFor({ code_challenge: implicit.challenge });
    const bad = await exchange(p2.get("code")!, `${implicit.verifier}x`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "invalid_grant", error_description: "Invalid code verifier." });
  });

  it("should answer PKCE failures with Google's invalid_grant descriptions", async () => {
    const pkce = pkcePair();
    const missing = await exchange(
      (await codeFor({ code_challenge: pkce.challenge, code_challenge_method: "S256" })).get("code")!,
    );
    expect(await missing.json()).toEqual({ error: "invalid_grant", error_description: "Missing code verifier." });

    const wrong = await exchange(
      (await codeFor({ code_challenge: pkce.challenge, code_challenge_method: "S256" })).get("code")!,
      pkcePair().verifier,
    );
    expect(await wrong.json()).toEqual({ error: "invalid_grant", error_description: "Invalid code verifier." });

    const unneeded = await exchange((await codeFor({})).get("code")!, pkce.verifier);
    expect(await unneeded.json()).toEqual({
      error: "invalid_grant",
      error_description: "code_verifier or verifier is not needed.",
    });
  });

  it("should refuse a replayed code and an expired code", async () => {
    const code = (await codeFor({})).get("code")!;
    expect((await exchange(code)).status).toBe(200);
    const replay = await exchange(code);
    expect(replay.status).toBe(400);
    const body = await json(replay);
    expect(shapeProblems(body, fixture.shapes["google.error"]!)).toEqual([]);
    expect(body["error"]).toBe("invalid_grant");

    const late = (await codeFor({})).get("code")!;
    emulator.admin.advanceClock(11 * 60_000);
    expect((await json(await exchange(late)))["error"]).toBe("invalid_grant");
    expect((await json(await exchange("4/0garbage")))["error_description"]).toBe("Malformed auth code.");
  });

  it("should check client credentials and the redirect URI", async () => {
    const code = (await codeFor({})).get("code")!;
    const wrongRedirect = await exchange(code, undefined, { redirect_uri: "http://127.0.0.1:1/other" });
    expect((await json(wrongRedirect))["error"]).toBe("redirect_uri_mismatch");
    const badSecret = await fetch(emulator.urls.googleToken, {
      method: "POST",
      body: new URLSearchParams({
        client_id: DEFAULT_GOOGLE_CLIENT.clientId,
        client_secret: "nope",
        grant_type: "authorization_code",
        code,
      }),
    });
    expect(badSecret.status).toBe(401);
    expect((await json(badSecret))["error"]).toBe("invalid_client");
    // HTTP Basic client authentication works as well as the form fields.
    const basic = await fetch(emulator.urls.googleToken, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${DEFAULT_GOOGLE_CLIENT.clientId}:${DEFAULT_GOOGLE_CLIENT.clientSecret}`).toString("base64")}`,
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: (await codeFor({})).get("code")!,
        redirect_uri: REDIRECT_URI,
      }),
    });
    expect(basic.status).toBe(200);
  });

  it("should honour granular consent: an unticked scope is not granted", async () => {
    const params = await codeFor({ scope: `openid email ${GMAIL_SCOPES.modify} ${GMAIL_SCOPES.send}` }, MARIA, [
      GMAIL_SCOPES.modify,
    ]);
    expect(params.get("scope")!.split(" ")).not.toContain(GMAIL_SCOPES.send);
    const tokens = await json<GoogleTokens>(await exchange(params.get("code")!));
    expect(tokens.scope.split(" ")).toContain(GMAIL_SCOPES.modify);
    expect(tokens.scope.split(" ")).not.toContain(GMAIL_SCOPES.send);
  });

  it("should issue a refresh token on first consent or prompt=consent only", async () => {
    await googleSignIn(emulator, MARIA, ["openid", GMAIL_SCOPES.readonly]);
    const again = await json<GoogleTokens>(
      await exchange((await codeFor({ scope: `openid ${GMAIL_SCOPES.readonly}` }, MARIA)).get("code")!),
    );
    expect(again.refresh_token).toBeUndefined();
    const forced = await json<GoogleTokens>(
      await exchange(
        (await codeFor({ scope: `openid ${GMAIL_SCOPES.readonly}`, prompt: "consent" }, MARIA)).get("code")!,
      ),
    );
    expect(forced.refresh_token).toBeTruthy();
    const online = await json<GoogleTokens>(
      await exchange(
        (await codeFor({ scope: "openid", access_type: "online", prompt: "consent" }, MARIA)).get("code")!,
      ),
    );
    expect(online.refresh_token).toBeUndefined();
  });

  it("should auto-consent for non-interactive tests when configured", async () => {
    emulator.admin.setAutoConsent("google", { account: SALES, scopes: [GMAIL_SCOPES.readonly] });
    const q = new URLSearchParams({
      client_id: DEFAULT_GOOGLE_CLIENT.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: `openid ${GMAIL_SCOPES.readonly} ${GMAIL_SCOPES.send}`,
      state: "s",
    });
    const res = await fetch(`${emulator.urls.googleAuthorize}?${q}`, { redirect: "manual" });
    expect(res.status).toBe(302);
    const params = locationParams(res);
    expect(params.get("state")).toBe("s");
    expect(params.get("scope")).toBe(`openid ${GMAIL_SCOPES.readonly}`);
  });

  it("should answer prompt=none with a code once consented, consent_required or login_required otherwise", async () => {
    const q = (hint: string, scope: string) =>
      new URLSearchParams({
        client_id: DEFAULT_GOOGLE_CLIENT.clientId,
        redirect_uri: REDIRECT_URI,
        response_type: "code",
        scope,
        prompt: "none",
        login_hint: hint,
      });
    // maria consented to openid earlier in this file.
    const granted = await fetch(`${emulator.urls.googleAuthorize}?${q(MARIA, "openid")}`, { redirect: "manual" });
    expect(locationParams(granted).get("code")).toBeTruthy();
    const notGranted = await fetch(
      `${emulator.urls.googleAuthorize}?${q(MARIA, "https://www.googleapis.com/auth/gmail.labels")}`,
      { redirect: "manual" },
    );
    expect(locationParams(notGranted).get("error")).toBe("consent_required");
    const unknown = await fetch(`${emulator.urls.googleAuthorize}?${q("nobody@demo.test", "openid")}`, {
      redirect: "manual",
    });
    expect(locationParams(unknown).get("error")).toBe("login_required");
  });
});

describe("Google refresh tokens", () => {
  it("should refresh without returning a refresh token by default, and rotate when configured", async () => {
    const tokens = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    const res = await refresh(tokens.refresh_token!);
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(shapeProblems(body, fixture.shapes["google.token"]!)).toEqual([]);
    expect(body["refresh_token"]).toBeUndefined();
    expect(body["id_token"]).toBeTruthy();

    emulator.admin.configure({ google: { rotateRefreshTokens: true } });
    const rotated = await json(await refresh(tokens.refresh_token!));
    expect(rotated["refresh_token"]).toBeTruthy();
    expect(rotated["refresh_token"]).not.toBe(tokens.refresh_token);
    expect((await json(await refresh(tokens.refresh_token!)))["error"]).toBe("invalid_grant");
    expect((await refresh(String(rotated["refresh_token"]))).status).toBe(200);
  });

  it("should emit refresh_token_expires_in only for time-based access, and expire the token then", async () => {
    const plain = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    expect("refresh_token_expires_in" in plain).toBe(false);

    emulator.admin.configure({ google: { refreshTokenExpiresInSeconds: 3600 } });
    const timed = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    expect((timed as GoogleTokens & { refresh_token_expires_in?: number }).refresh_token_expires_in).toBe(3600);
    emulator.admin.advanceClock(3601_000);
    expect(await json(await refresh(timed.refresh_token!))).toEqual({
      error: "invalid_grant",
      error_description: "Token has been expired or revoked.",
    });
  });

  it("should revoke the whole grant through the revoke endpoint", async () => {
    const tokens = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    const res = await fetch(`${emulator.urls.googleRevoke}?token=${encodeURIComponent(tokens.access_token)}`, {
      method: "POST",
    });
    expect(res.status).toBe(200);
    expect((await json(await refresh(tokens.refresh_token!)))["error"]).toBe("invalid_grant");
    const profile = await fetch(`${emulator.url}/gmail/v1/users/me/profile`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(profile.status).toBe(401);
    const again = await fetch(`${emulator.urls.googleRevoke}?token=${encodeURIComponent(tokens.refresh_token!)}`, {
      method: "POST",
    });
    expect(await json(again)).toEqual({ error: "invalid_token", error_description: "Token expired or revoked" });
  });

  it("should kill Gmail-scoped refresh tokens on a password change, but not sign-in-only ones", async () => {
    const gmail = await googleSignIn(emulator, MARIA, ["openid", GMAIL_SCOPES.readonly], { prompt: "consent" });
    const signInOnly = await googleSignIn(emulator, MARIA, ["openid", "email"], {
      prompt: "consent",
      include_granted_scopes: "false",
    });
    expect(emulator.admin.googleTokenFault(MARIA, "password-change")).toBeGreaterThan(0);
    expect((await json(await refresh(gmail.refresh_token!)))["error"]).toBe("invalid_grant");
    expect((await refresh(signInOnly.refresh_token!)).status).toBe(200);
  });

  it("should expire refresh tokens after 7 days in Testing status unless only sign-in scopes", async () => {
    emulator.admin.configure({ google: { publishingStatus: "testing" } });
    const gmail = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    const signIn = await googleSignIn(emulator, MARIA, ["openid", "email", "profile"], { prompt: "consent" });
    emulator.admin.advanceClock(6 * 86_400_000);
    expect((await refresh(gmail.refresh_token!)).status).toBe(200);
    emulator.admin.advanceClock(86_400_000 + 1000);
    expect((await json(await refresh(gmail.refresh_token!)))["error"]).toBe("invalid_grant");
    expect((await refresh(signIn.refresh_token!)).status).toBe(200);
  });

  it("should expire a refresh token left unused for six months", async () => {
    const tokens = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    emulator.admin.advanceClock(184 * 86_400_000);
    expect((await json(await refresh(tokens.refresh_token!)))["error"]).toBe("invalid_grant");
  });

  it("should silently evict the oldest token past the per-client limit", async () => {
    emulator.admin.configure({ google: { refreshTokenLimit: 2 } });
    const first = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    const second = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    const third = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify], { prompt: "consent" });
    expect((await json(await refresh(first.refresh_token!)))["error"]).toBe("invalid_grant");
    expect((await refresh(second.refresh_token!)).status).toBe(200);
    expect((await refresh(third.refresh_token!)).status).toBe(200);
  });

  it("should narrow the granted scopes when consent for one scope is removed", async () => {
    const tokens = await googleSignIn(emulator, SALES, ["openid", GMAIL_SCOPES.modify, GMAIL_SCOPES.send], {
      prompt: "consent",
    });
    emulator.admin.removeGoogleScope(SALES, GMAIL_SCOPES.modify);
    const refreshed = await json<GoogleTokens>(await refresh(tokens.refresh_token!));
    expect(refreshed.scope.split(" ")).toEqual(["openid", GMAIL_SCOPES.send]);
    const list = await fetch(`${emulator.url}/gmail/v1/users/me/messages`, {
      headers: { authorization: `Bearer ${refreshed.access_token}` },
    });
    expect(list.status).toBe(403);
    expect((await json<{ error: { status: string } }>(list)).error.status).toBe("PERMISSION_DENIED");
  });
});

describe("Google OIDC endpoints", () => {
  it("should publish discovery, JWKS, userinfo and tokeninfo in the documented shapes", async () => {
    const discovery = await json(await fetch(emulator.urls.googleDiscovery));
    expect(shapeProblems(discovery, fixture.shapes["google.discovery"]!)).toEqual([]);
    expect(discovery["issuer"]).toBe(`${emulator.url}/google`);
    expect(discovery["code_challenge_methods_supported"]).toEqual(["plain", "S256"]);

    const jwks = await json<{ keys: unknown[] }>(await fetch(String(discovery["jwks_uri"])));
    expect(shapeProblems(jwks, fixture.shapes["jwks"]!)).toEqual([]);
    for (const key of jwks.keys) expect(shapeProblems(key, fixture.shapes["jwk"]!)).toEqual([]);

    const tokens = await googleSignIn(emulator, MARIA, ["openid", "email", "profile"], { prompt: "consent" });
    const info = await json(
      await fetch(String(discovery["userinfo_endpoint"]), {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      }),
    );
    expect(shapeProblems(info, fixture.shapes["google.userinfo"]!)).toEqual([]);
    expect(info).toMatchObject({ email: MARIA, email_verified: true, name: "Maria Keller", hd: "demo.test" });
    expect(info["sub"]).toBe(decodeJwt(tokens.id_token!).sub);

    const tokeninfo = await json(await fetch(`${emulator.url}/google/tokeninfo?access_token=${tokens.access_token}`));
    expect(tokeninfo["aud"]).toBe(DEFAULT_GOOGLE_CLIENT.clientId);
    expect((await fetch(String(discovery["userinfo_endpoint"]))).status).toBe(401);
  });
});
