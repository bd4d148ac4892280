import { readFileSync } from "node:fs";
import path from "node:path";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_MICROSOFT_CLIENT, DEMO_IDENTITIES, type RunningEmulator } from "../../emulator/index";
import { FIXED_NOW, json, startTestEmulator } from "./support/emulator";
import {
  type MicrosoftTokens,
  REDIRECT_URI,
  locationParams,
  microsoftConsent,
  microsoftSignIn,
  microsoftToken,
  pkcePair,
} from "./support/oauth";
import { REFERENCE_DIR, hasReference, loadFixture, shapeProblems } from "./support/shapes";

const fixture = loadFixture("oauth.json");
const SAM = "sam@demo-ms.test";
const OPS = "ops@northwind.test";
const SCOPES = ["openid", "profile", "email", "offline_access", "User.Read", "Mail.ReadWrite", "Mail.Send"];
const sam = DEMO_IDENTITIES.find((i) => i.address === SAM)!;

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator({ now: () => FIXED_NOW });
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.admin.configure({ microsoft: { revokeRotatedRefreshTokens: false, includeExtExpiresIn: false } });
  emulator.admin.setAutoConsent("microsoft", null);
});

const refresh = (token: string, extra: Record<string, string> = {}) =>
  microsoftToken(emulator, { grant_type: "refresh_token", refresh_token: token, ...extra });

async function code(params: Record<string, string> = {}, account = SAM, tenant = "common") {
  const res = await microsoftConsent(emulator, { scope: SCOPES.join(" "), ...params }, { account }, tenant);
  return res;
}

function errorCodes(body: Record<string, unknown>): number[] {
  return body["error_codes"] as number[];
}

describe("Microsoft consent page", () => {
  it("should list sign-in accounts and show the shared mailbox as blocked", async () => {
    const q = new URLSearchParams({
      client_id: DEFAULT_MICROSOFT_CLIENT.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: SCOPES.join(" "),
    });
    const html = await (await fetch(`${emulator.urls.microsoftAuthority()}/oauth2/v2.0/authorize?${q}`)).text();
    expect(html).toContain(`value="${SAM}"`);
    expect(html).toMatch(/value="support@demo-ms\.test" disabled/);
    expect(html).toContain("Accept");
  });

  it("should return access_denied with AADSTS65004 when the user declines", async () => {
    const res = await microsoftConsent(emulator, { scope: SCOPES.join(" ") }, { account: SAM, decision: "deny" });
    const params = locationParams(res);
    expect(params.get("error")).toBe("access_denied");
    expect(params.get("error_description")).toMatch(/^AADSTS65004:/);
    expect(params.get("state")).toBe("ms-state");
  });

  it("should keep a second tenant's user out of a tenant-specific authority", async () => {
    const res = await code({}, OPS, sam.tenantId);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("AADSTS50020");
  });

  it("should deliver the code by form_post when asked", async () => {
    const res = await code({ response_mode: "form_post" });
    const html = await res.text();
    expect(html).toContain(`action="${REDIRECT_URI}"`);
    expect(html).toMatch(/name="code" value="0\.A/);
  });

  it("should reject unknown clients and redirect URIs on a page", async () => {
    const res = await fetch(
      `${emulator.urls.microsoftAuthority()}/oauth2/v2.0/authorize?client_id=${DEFAULT_MICROSOFT_CLIENT.clientId}&response_type=code&scope=openid&redirect_uri=notaurl`,
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("AADSTS50011");
  });
});

describe("Microsoft authorization code flow", () => {
  it("should issue tokens with the documented fields and a verifiable id_token", async () => {
    const tokens = await microsoftSignIn(emulator, SAM, SCOPES);
    expect(shapeProblems(tokens, fixture.shapes["microsoft.token"]!)).toEqual([]);
    expect(tokens.refresh_token).toMatch(/^0\.AR/);
    expect(tokens.scope.split(" ")).toContain("https://graph.microsoft.com/Mail.ReadWrite");

    const discovery = await json<{ jwks_uri: string; issuer: string }>(
      await fetch(`${emulator.urls.microsoftAuthority(sam.tenantId)}/v2.0/.well-known/openid-configuration`),
    );
    expect(discovery.issuer).toBe(`${emulator.url}/microsoft/${sam.tenantId}/v2.0`);
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
      issuer: discovery.issuer,
      audience: DEFAULT_MICROSOFT_CLIENT.clientId,
      currentDate: new Date(emulator.admin.now()),
    });
    expect(shapeProblems(payload, fixture.shapes["microsoft.id_token"]!)).toEqual([]);
    expect(payload).toMatchObject({ tid: sam.tenantId, oid: sam.id, preferred_username: SAM, email: SAM });
  });

  it("should issue no refresh token without offline_access", async () => {
    const tokens = await microsoftSignIn(emulator, SAM, ["openid", "Mail.Read"]);
    expect(tokens.refresh_token).toBeUndefined();
  });

  it("should answer PKCE failures and replayed codes with their AADSTS codes", async () => {
    const pkce = pkcePair();
    const c1 = locationParams(await code({ code_challenge: pkce.challenge, code_challenge_method: "S256" })).get(
      "code",
    )!;
    const wrong = await json(
      await microsoftToken(emulator, {
        grant_type: "authorization_code",
        code: c1,
        redirect_uri: REDIRECT_URI,
        code_verifier: pkcePair().verifier,
      }),
    );
    expect(shapeProblems(wrong, fixture.shapes["microsoft.error"]!)).toEqual([]);
    expect(wrong["error"]).toBe("invalid_grant");
    expect(errorCodes(wrong)).toEqual([501481]);

    const c2 = locationParams(await code({ code_challenge: pkce.challenge, code_challenge_method: "S256" })).get(
      "code",
    )!;
    expect(
      errorCodes(
        await json(
          await microsoftToken(emulator, { grant_type: "authorization_code", code: c2, redirect_uri: REDIRECT_URI }),
        ),
      ),
    ).toEqual([50148]);

    const plain = pkcePair("plain");
    const c3 = locationParams(await code({ code_challenge: plain.challenge, code_challenge_method: "plain" })).get(
      "code",
    )!;
    const ok = await microsoftToken(emulator, {
      grant_type: "authorization_code",
      code: c3,
      redirect_uri: REDIRECT_URI,
      code_verifier: plain.verifier,
    });
    expect(ok.status).toBe(200);
    const replay = await json(
      await microsoftToken(emulator, {
        grant_type: "authorization_code",
        code: c3,
        redirect_uri: REDIRECT_URI,
        code_verifier: plain.verifier,
      }),
    );
    expect(replay["error"]).toBe("invalid_grant");
    expect(errorCodes(replay)).toEqual([54005]);
    expect(String(replay["error_description"])).toMatch(
      /^AADSTS54005: .*\r\nTrace ID: .*\r\nCorrelation ID: .*\r\nTimestamp: /,
    );

    const late = locationParams(await code()).get("code")!;
    emulator.admin.advanceClock(11 * 60_000);
    expect(
      errorCodes(
        await json(
          await microsoftToken(emulator, { grant_type: "authorization_code", code: late, redirect_uri: REDIRECT_URI }),
        ),
      ),
    ).toEqual([70008]);
  });

  it("should answer client authentication failures as invalid_client", async () => {
    const res = await fetch(`${emulator.urls.microsoftAuthority()}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({
        client_id: DEFAULT_MICROSOFT_CLIENT.clientId,
        client_secret: "wrong",
        grant_type: "refresh_token",
        refresh_token: "x",
      }),
    });
    expect(res.status).toBe(401);
    expect(errorCodes(await json(res))).toEqual([7000215]);
  });

  it("should show ext_expires_in only when configured", async () => {
    expect("ext_expires_in" in (await microsoftSignIn(emulator, SAM, SCOPES))).toBe(false);
    emulator.admin.configure({ microsoft: { includeExtExpiresIn: true } });
    expect(
      ((await microsoftSignIn(emulator, SAM, SCOPES)) as MicrosoftTokens & { ext_expires_in?: number }).ext_expires_in,
    ).toBe(3599);
  });
});

describe("Microsoft refresh tokens", () => {
  it("should rotate on every refresh while the old token keeps working", async () => {
    const tokens = await microsoftSignIn(emulator, SAM, SCOPES);
    const first = await json<MicrosoftTokens>(await refresh(tokens.refresh_token!));
    expect(first.refresh_token).toBeTruthy();
    expect(first.refresh_token).not.toBe(tokens.refresh_token);
    const second = await json<MicrosoftTokens>(await refresh(first.refresh_token!));
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await refresh(tokens.refresh_token!)).status).toBe(200);
  });

  it("should invalidate the old token on rotation when configured", async () => {
    emulator.admin.configure({ microsoft: { revokeRotatedRefreshTokens: true } });
    const tokens = await microsoftSignIn(emulator, SAM, SCOPES);
    const next = await json<MicrosoftTokens>(await refresh(tokens.refresh_token!));
    expect(errorCodes(await json(await refresh(tokens.refresh_token!)))).toEqual([70008]);
    expect((await refresh(next.refresh_token!)).status).toBe(200);
  });

  it("should accept a narrower scope on refresh and refuse a scope never consented", async () => {
    const tokens = await microsoftSignIn(emulator, SAM, SCOPES);
    const narrow = await json<MicrosoftTokens>(
      await refresh(tokens.refresh_token!, { scope: "https://graph.microsoft.com/Mail.ReadWrite offline_access" }),
    );
    expect(narrow.scope).toBe("https://graph.microsoft.com/Mail.ReadWrite offline_access");
    const wider = await json(await refresh(tokens.refresh_token!, { scope: "Mail.Send.Shared" }));
    expect(errorCodes(wider)).toEqual([65001]);
  });

  it("should answer each revocation fault with its AADSTS code", async () => {
    const cases: Array<[Parameters<RunningEmulator["admin"]["microsoftTokenFault"]>[1], number]> = [
      ["revoke", 50173],
      ["password-reset-admin", 50173],
      ["require-mfa", 50076],
      ["block-conditional-access", 53003],
      ["revoke-consent", 65001],
      ["expire", 700082],
    ];
    for (const [fault, expected] of cases) {
      const tokens = await microsoftSignIn(emulator, SAM, SCOPES);
      emulator.admin.microsoftTokenFault(SAM, fault);
      const body = await json(await refresh(tokens.refresh_token!));
      expect(shapeProblems(body, fixture.shapes["microsoft.error"]!), fault).toEqual([]);
      expect(errorCodes(body), fault).toEqual([expected]);
      expect(body["error"], fault).toBe("invalid_grant");
      // A fresh interactive sign-in works again.
      expect((await microsoftSignIn(emulator, SAM, SCOPES)).refresh_token, fault).toBeTruthy();
    }
  });

  it("should pair 50076, 53003 and 65001 with each documented error string", async () => {
    for (const error of ["invalid_grant", "interaction_required", "consent_required"] as const) {
      for (const fault of ["require-mfa", "block-conditional-access", "revoke-consent"] as const) {
        const tokens = await microsoftSignIn(emulator, SAM, SCOPES);
        emulator.admin.microsoftTokenFault(SAM, fault, { error });
        expect((await json(await refresh(tokens.refresh_token!)))["error"], `${fault}/${error}`).toBe(error);
      }
    }
  });

  it("should keep confidential-client tokens alive when the user changes their own password", async () => {
    const tokens = await microsoftSignIn(emulator, SAM, SCOPES);
    expect(emulator.admin.microsoftTokenFault(SAM, "password-change-user")).toBe(0);
    expect((await refresh(tokens.refresh_token!)).status).toBe(200);
  });

  it("should expire a refresh token after 90 days of inactivity", async () => {
    const tokens = await microsoftSignIn(emulator, SAM, SCOPES);
    emulator.admin.advanceClock(91 * 86_400_000);
    const body = await json(await refresh(tokens.refresh_token!));
    expect(errorCodes(body)).toEqual([700082]);
    expect(String(body["error_description"])).toContain("inactive for 90.00:00:00");
  });
});

describe("Microsoft OpenID configuration", () => {
  it.skipIf(!hasReference)(
    "should carry every key of the published configuration with the same value kinds",
    async () => {
      const reference = JSON.parse(
        readFileSync(path.join(REFERENCE_DIR, "microsoft-common-v2.0.openid-configuration.json"), "utf8"),
      ) as Record<string, unknown>;
      const ours = await json(
        await fetch(`${emulator.urls.microsoftAuthority()}/v2.0/.well-known/openid-configuration`),
      );
      for (const [key, value] of Object.entries(reference)) {
        expect(ours, key).toHaveProperty(key);
        expect(Array.isArray(ours[key]), key).toBe(Array.isArray(value));
        expect(typeof ours[key], key).toBe(typeof value);
      }
      expect(ours["issuer"]).toBe(`${emulator.url}/microsoft/{tenantid}/v2.0`);
      const keys = await json<{ keys: unknown[] }>(await fetch(String(ours["jwks_uri"])));
      for (const key of keys.keys) expect(shapeProblems(key, fixture.shapes["jwk"]!)).toEqual([]);
    },
  );
  if (!hasReference)
    it("needs ../shared/docs/reference for the OpenID configuration comparison", () =>
      console.warn(`skipped: ${REFERENCE_DIR} is absent`));
});
