import { createHash } from "node:crypto";
import { type Context, Hono } from "hono";
import { type OAuthClient, clientCredentials, redirectAllowed } from "../auth/clients";
import { readForm, redirectWith } from "../auth/forms";
import { type PkceMethod, pkceMatches } from "../auth/pkce";
import {
  type AccessTokenState,
  type AuthorizationCode,
  type PendingAuthorization,
  type RefreshTokenState,
} from "../auth/store";
import { type AppEnv, type EmulatorContext } from "../context";
import { jwks, signJwt } from "../core/keys";
import { secretToken } from "../core/random";
import { type Identity, canSignIn } from "../world/directory";
import { renderConsentPage, renderErrorPage } from "../ui/pages";
import { oauthError } from "./errors";
import {
  SIGN_IN_SCOPES,
  USERINFO_EMAIL,
  USERINFO_PROFILE,
  isKnownGoogleScope,
  normalizeGoogleScope,
  scopeLabel,
} from "./scopes";

const DAY_MS = 86_400_000;
const CONSENT_PATH = "/signin/oauth/consent";

function errorPage(c: Context, status: 400 | 401 | 403, code: string, description: string): Response {
  return c.html(renderErrorPage("Google", code, description, status), status);
}

function atHash(accessToken: string): string {
  const digest = createHash("sha256").update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}

/**
 * Google's OAuth 2.0 / OpenID Connect endpoints: authorize with a consent screen (account picker and
 * per-scope checkboxes), token (code with PKCE, refresh), revoke, tokeninfo, userinfo, discovery, JWKS.
 */
export function googleOAuthRoutes(ctx: EmulatorContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { auth, clock, directory } = ctx;
  const findClient = (id: string | undefined): OAuthClient | undefined =>
    id ? ctx.clients.google.find((cl) => cl.clientId === id) : undefined;

  const issueCode = (p: PendingAuthorization, account: Identity, granted: string[]): string => {
    const params = p.params;
    const existing = auth.grant("google", params["client_id"]!, account.address);
    const scopes =
      params["include_granted_scopes"] === "true" && existing
        ? [...new Set([...existing.scopes, ...granted])]
        : granted;
    const firstConsent =
      !existing || auth.liveRefreshTokens("google", account.address, params["client_id"]).length === 0;
    const addsScopes = !!existing && scopes.some((s) => !existing.scopes.includes(s));
    auth.upsertGrant("google", params["client_id"]!, account.address, scopes, clock.now());
    const code: AuthorizationCode = {
      code: `4/0${secretToken(40)}`,
      provider: "google",
      clientId: params["client_id"]!,
      redirectUri: params["redirect_uri"]!,
      account: account.address,
      scopes,
      nonce: params["nonce"],
      challenge: params["code_challenge"],
      challengeMethod: params["code_challenge"]
        ? ((params["code_challenge_method"] ?? "plain") as PkceMethod)
        : undefined,
      expiresAt: clock.now() + ctx.tunables.google.authCodeTtlSeconds * 1000,
      usedAt: null,
      offline: params["access_type"] === "offline",
      issueRefreshToken: firstConsent || addsScopes || (params["prompt"] ?? "").split(" ").includes("consent"),
      tenant: account.tenantDomain,
    };
    auth.codes.set(code.code, code);
    return code.code;
  };

  const successRedirect = (p: PendingAuthorization, account: Identity, code: string, scopes: string[]) =>
    redirectWith(p.params["redirect_uri"]!, {
      state: p.params["state"],
      code,
      scope: scopes.join(" "),
      authuser: "0",
      hd: account.tenantDomain,
      prompt: "consent",
    });

  const consentPage = (c: Context, p: PendingAuthorization, error?: string, status: 200 | 400 = 200) => {
    const client = findClient(p.params["client_id"]);
    const hint = p.params["login_hint"]?.toLowerCase();
    const accounts = directory.signInAccounts("google").map((i) => ({
      address: i.address,
      displayName: i.displayName,
      disabled: !canSignIn(i),
      note: i.kind === "group" ? "Google Group: cannot sign in" : i.tenantName,
    }));
    const html = renderConsentPage({
      brand: "Google",
      clientName: client?.name ?? p.params["client_id"] ?? "",
      formAction: `${new URL(c.req.url).origin}/google${CONSENT_PATH}`,
      pendingId: p.id,
      accounts,
      selected: hint,
      scopes: p.scopes.map((s) => ({ value: s, label: scopeLabel(s), required: SIGN_IN_SCOPES.has(s) })),
      granular: true,
      error,
    });
    return c.html(html, status);
  };

  app.get("/o/oauth2/v2/auth", (c) => {
    const q = c.req.query();
    const client = findClient(q["client_id"]);
    if (!q["client_id"]) return errorPage(c, 400, "invalid_request", "Missing required parameter: client_id");
    if (!client) return errorPage(c, 401, "invalid_client", "The OAuth client was not found.");
    const redirectUri = q["redirect_uri"];
    if (!redirectUri || !redirectAllowed(client, redirectUri)) {
      return errorPage(
        c,
        400,
        "redirect_uri_mismatch",
        `You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. redirect_uri=${redirectUri ?? ""}`,
      );
    }
    if (q["response_type"] !== "code")
      return errorPage(c, 400, "invalid_request", `Invalid response_type: ${q["response_type"] ?? ""}`);
    const requested = (q["scope"] ?? "").split(/\s+/).filter(Boolean);
    if (requested.length === 0) return errorPage(c, 400, "invalid_request", "Missing required parameter: scope");
    const invalid = requested.filter((s) => !["email", "profile"].includes(s) && !isKnownGoogleScope(s));
    if (invalid.length)
      return errorPage(
        c,
        400,
        "invalid_scope",
        `Some requested scopes were invalid. {invalid=[${invalid.join(", ")}]}`,
      );
    const method = q["code_challenge_method"];
    if (method && !q["code_challenge"]) return errorPage(c, 400, "invalid_request", "Missing code_challenge.");
    if (method && method !== "S256" && method !== "plain") {
      return errorPage(c, 400, "invalid_request", `Invalid code_challenge_method: ${method}`);
    }
    if (q["code_challenge"] && !/^[A-Za-z0-9\-._~]{43,128}$/.test(q["code_challenge"])) {
      return errorPage(c, 400, "invalid_request", "Invalid code_challenge.");
    }
    const scopes = [...new Set(requested.map(normalizeGoogleScope))];
    const pending: PendingAuthorization = {
      id: secretToken(18),
      provider: "google",
      params: q,
      scopes,
      createdAt: clock.now(),
    };

    const prompt = (q["prompt"] ?? "").split(" ");
    if (prompt.includes("none")) {
      const account = q["login_hint"] ? directory.get(q["login_hint"]) : undefined;
      const grant = account ? auth.grant("google", client.clientId, account.address) : undefined;
      if (!account) return c.redirect(redirectWith(redirectUri, { error: "login_required", state: q["state"] }), 302);
      if (!grant || scopes.some((s) => !grant.scopes.includes(s))) {
        return c.redirect(redirectWith(redirectUri, { error: "consent_required", state: q["state"] }), 302);
      }
      const code = issueCode(pending, account, scopes);
      return c.redirect(successRedirect(pending, account, code, scopes), 302);
    }

    const auto = auth.autoConsent.get("google");
    if (auto) {
      if (auto.deny) return c.redirect(redirectWith(redirectUri, { error: "access_denied", state: q["state"] }), 302);
      const account = directory.get(q["login_hint"] ?? auto.account) ?? directory.get(auto.account);
      if (account && canSignIn(account) && account.provider === "google") {
        const granted = scopes.filter((s) => SIGN_IN_SCOPES.has(s) || !auto.scopes || auto.scopes.includes(s));
        const code = issueCode(pending, account, granted);
        return c.redirect(successRedirect(pending, account, code, granted), 302);
      }
    }
    auth.pending.set(pending.id, pending);
    return consentPage(c, pending);
  });

  app.post(CONSENT_PATH, async (c) => {
    const body = await c.req.parseBody({ all: true });
    const one = (k: string) => {
      const v = body[k];
      return typeof v === "string" ? v : Array.isArray(v) && typeof v[0] === "string" ? v[0] : undefined;
    };
    const pending = auth.pending.get(one("request") ?? "");
    if (!pending)
      return errorPage(c, 400, "invalid_request", "This sign-in request has expired. Start again from the app.");
    const redirectUri = pending.params["redirect_uri"]!;
    if (one("decision") !== "allow") {
      auth.pending.delete(pending.id);
      return c.redirect(redirectWith(redirectUri, { error: "access_denied", state: pending.params["state"] }), 302);
    }
    const account = directory.get(one("account") ?? "");
    if (!account || account.provider !== "google")
      return consentPage(c, pending, "Choose an account to continue.", 400);
    if (!canSignIn(account)) {
      return consentPage(c, pending, `${account.address} is a Google Group and can't be used to sign in.`, 400);
    }
    const raw = body["scope"];
    const ticked = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
      (s): s is string => typeof s === "string",
    );
    const granted = pending.scopes.filter((s) => SIGN_IN_SCOPES.has(s) || ticked.includes(s));
    auth.pending.delete(pending.id);
    const code = issueCode(pending, account, granted);
    return c.redirect(successRedirect(pending, account, code, granted), 302);
  });

  const idToken = async (
    account: Identity,
    clientId: string,
    scopes: string[],
    accessToken: string,
    nonce?: string,
  ) => {
    const now = Math.floor(clock.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: ctx.googleIssuer(),
      azp: clientId,
      aud: clientId,
      sub: account.id,
      hd: account.tenantDomain,
      at_hash: atHash(accessToken),
      iat: now,
      exp: now + 3600,
    };
    if (scopes.includes(USERINFO_EMAIL)) {
      claims["email"] = account.address;
      claims["email_verified"] = true;
    }
    if (scopes.includes(USERINFO_PROFILE)) {
      claims["name"] = account.displayName;
      claims["given_name"] = account.givenName;
      claims["family_name"] = account.familyName;
      claims["picture"] = `${ctx.baseUrl()}/google/avatar/${account.id}.png`;
    }
    if (nonce) claims["nonce"] = nonce;
    return signJwt(ctx.keys.google, claims);
  };

  const issueAccess = (account: string, clientId: string, scopes: string[], grantId: string): AccessTokenState =>
    auth.issueAccessToken({
      provider: "google",
      clientId,
      account,
      scopes,
      grantId,
      expiresAt: clock.now() + ctx.tunables.google.accessTokenTtlSeconds * 1000,
    });

  const refreshExpiry = (scopes: string[], issuedAt: number): number | null => {
    const t = ctx.tunables.google;
    const limits: number[] = [];
    if (t.refreshTokenExpiresInSeconds !== null) limits.push(issuedAt + t.refreshTokenExpiresInSeconds * 1000);
    if (t.publishingStatus === "testing" && scopes.some((s) => !SIGN_IN_SCOPES.has(s)))
      limits.push(issuedAt + 7 * DAY_MS);
    return limits.length ? Math.min(...limits) : null;
  };

  const issueRefresh = (account: string, clientId: string, scopes: string[], grantId: string): RefreshTokenState => {
    const issuedAt = clock.now();
    const rt = auth.issueRefreshToken({
      prefix: "1//0",
      provider: "google",
      clientId,
      account,
      scopes,
      issuedAt,
      expiresAt: refreshExpiry(scopes, issuedAt),
      grantId,
    });
    // Over the per-client-and-user limit the oldest live token dies silently.
    const live = auth
      .liveRefreshTokens("google", account, clientId)
      .sort((a, b) => a.issuedAt - b.issuedAt || (a.token === rt.token ? 1 : 0));
    const excess = live.length - ctx.tunables.google.refreshTokenLimit;
    if (excess > 0)
      auth.revokeRefreshTokens(live.filter((t) => t.token !== rt.token).slice(0, excess), {
        at: issuedAt,
        reason: "token-limit",
      });
    return rt;
  };

  const tokenBody = async (
    at: AccessTokenState,
    account: Identity,
    scopes: string[],
    refresh: RefreshTokenState | undefined,
    nonce?: string,
  ) => {
    const body: Record<string, unknown> = {
      access_token: at.token,
      expires_in: ctx.tunables.google.accessTokenTtlSeconds,
    };
    if (refresh) body["refresh_token"] = refresh.token;
    if (refresh?.expiresAt && ctx.tunables.google.refreshTokenExpiresInSeconds !== null) {
      body["refresh_token_expires_in"] = Math.max(0, Math.floor((refresh.expiresAt - clock.now()) / 1000));
    }
    body["scope"] = scopes.join(" ");
    body["token_type"] = "Bearer";
    if (scopes.includes("openid")) body["id_token"] = await idToken(account, at.clientId, scopes, at.token, nonce);
    return body;
  };

  app.post("/token", async (c) => {
    const form = await readForm(c);
    const grantType = form.get("grant_type");
    const { clientId, clientSecret } = clientCredentials(c.req.header("authorization"), form);
    if (!clientId) return oauthError(c, 400, "invalid_request", "Could not determine client ID from request.");
    const client = findClient(clientId);
    if (!client) return oauthError(c, 401, "invalid_client", "The OAuth client was not found.");
    if (!client.public && clientSecret !== client.clientSecret)
      return oauthError(c, 401, "invalid_client", "Unauthorized");

    if (grantType === "authorization_code") {
      const codeValue = form.get("code");
      if (!codeValue) return oauthError(c, 400, "invalid_request", "Missing required parameter: code");
      const code = auth.codes.get(codeValue);
      if (!code || code.provider !== "google") return oauthError(c, 400, "invalid_grant", "Malformed auth code.");
      if (code.usedAt !== null || code.expiresAt < clock.now() || code.clientId !== clientId) {
        code.usedAt ??= clock.now();
        return oauthError(c, 400, "invalid_grant", "Bad Request");
      }
      if (form.get("redirect_uri") !== code.redirectUri)
        return oauthError(c, 400, "redirect_uri_mismatch", "Bad Request");
      const verifier = form.get("code_verifier");
      if (code.challenge) {
        if (!verifier) return oauthError(c, 400, "invalid_grant", "Missing code verifier.");
        if (!pkceMatches(code.challenge, code.challengeMethod ?? "plain", verifier)) {
          return oauthError(c, 400, "invalid_grant", "Invalid code verifier.");
        }
      } else if (verifier) {
        return oauthError(c, 400, "invalid_grant", "code_verifier or verifier is not needed.");
      }
      code.usedAt = clock.now();
      const account = directory.get(code.account)!;
      const grant = auth.grant("google", clientId, account.address);
      const grantId = grant?.id ?? secretToken(12);
      const at = issueAccess(account.address, clientId, code.scopes, grantId);
      const refresh =
        code.offline && code.issueRefreshToken
          ? issueRefresh(account.address, clientId, code.scopes, grantId)
          : undefined;
      return c.json(await tokenBody(at, account, code.scopes, refresh, code.nonce));
    }

    if (grantType === "refresh_token") {
      const value = form.get("refresh_token");
      if (!value) return oauthError(c, 400, "invalid_request", "Missing required parameter: refresh_token");
      const rt = auth.state.refreshTokens[value];
      const now = clock.now();
      const dead =
        !rt ||
        rt.provider !== "google" ||
        rt.revoked !== null ||
        (rt.expiresAt !== null && rt.expiresAt <= now) ||
        now - rt.lastUsedAt > ctx.tunables.google.refreshTokenIdleDays * DAY_MS;
      if (rt && !rt.revoked && rt.provider === "google" && dead) {
        auth.revokeRefreshTokens([rt], {
          at: now,
          reason: rt.expiresAt !== null && rt.expiresAt <= now ? "expired" : "idle",
        });
      }
      if (dead || !rt) return oauthError(c, 400, "invalid_grant", "Token has been expired or revoked.");
      if (rt.clientId !== clientId) return oauthError(c, 400, "unauthorized_client", "Unauthorized");
      rt.lastUsedAt = now;
      const account = directory.get(rt.account)!;
      const requested = form.get("scope")?.split(/\s+/).filter(Boolean).map(normalizeGoogleScope);
      if (requested?.some((s) => !rt.scopes.includes(s))) return oauthError(c, 400, "invalid_scope", "Bad Request");
      const scopes = requested ?? rt.scopes;
      const at = issueAccess(account.address, clientId, scopes, rt.grantId);
      let rotated: RefreshTokenState | undefined;
      if (ctx.tunables.google.rotateRefreshTokens) {
        rotated = issueRefresh(account.address, clientId, rt.scopes, rt.grantId);
        auth.revokeRefreshTokens([rt], { at: now, reason: "rotated" });
      }
      auth.changed();
      const body = await tokenBody(at, account, scopes, rotated);
      if (!rotated && rt.expiresAt && ctx.tunables.google.refreshTokenExpiresInSeconds !== null) {
        body["refresh_token_expires_in"] = Math.max(0, Math.floor((rt.expiresAt - now) / 1000));
      }
      return c.json(body);
    }

    return oauthError(c, 400, "unsupported_grant_type", `Invalid grant_type: ${grantType ?? ""}`);
  });

  const revoke = async (c: Context) => {
    const form = c.req.method === "POST" ? await readForm(c) : new URLSearchParams();
    const token = c.req.query("token") ?? form.get("token");
    if (!token) return oauthError(c, 400, "invalid_request", "Missing required parameter: token");
    const at = auth.accessTokens.get(token);
    const rt = auth.state.refreshTokens[token];
    const grantId = at?.grantId ?? (rt && !rt.revoked ? rt.grantId : undefined);
    if (!grantId || (at && at.expiresAt <= clock.now() && !rt)) {
      return oauthError(c, 400, "invalid_token", "Token expired or revoked");
    }
    // Revoking either token revokes the whole grant: every token issued under it and the consent.
    const now = clock.now();
    const family = Object.values(auth.state.refreshTokens).filter((t) => t.grantId === grantId && !t.revoked);
    auth.revokeRefreshTokens(family, { at: now, reason: "revoked" });
    auth.revokeAccessTokens((t) => t.grantId === grantId);
    const grant = Object.values(auth.state.grants).find((g) => g.id === grantId);
    if (grant) auth.removeGrant("google", grant.clientId, grant.account);
    return c.body(null, 200);
  };
  app.post("/revoke", revoke);
  app.get("/revoke", revoke);

  app.get("/tokeninfo", async (c) => {
    const token = c.req.query("access_token");
    const at = token ? auth.accessTokens.get(token) : undefined;
    if (!at || at.expiresAt <= clock.now()) return oauthError(c, 400, "invalid_token", "Invalid Value");
    const account = directory.get(at.account);
    const body: Record<string, unknown> = {
      azp: at.clientId,
      aud: at.clientId,
      sub: account?.id,
      scope: at.scopes.join(" "),
      exp: String(Math.floor(at.expiresAt / 1000)),
      expires_in: String(Math.floor((at.expiresAt - clock.now()) / 1000)),
    };
    if (at.scopes.includes(USERINFO_EMAIL)) {
      body["email"] = at.account;
      body["email_verified"] = "true";
    }
    body["access_type"] = "offline";
    return c.json(body);
  });

  const userinfo = (c: Context) => {
    const header = c.req.header("authorization") ?? "";
    const at = header.toLowerCase().startsWith("bearer ") ? auth.accessTokens.get(header.slice(7).trim()) : undefined;
    if (!at || at.expiresAt <= clock.now() || at.provider !== "google") {
      c.header("WWW-Authenticate", 'Bearer error="invalid_token"');
      return c.json({ error: "invalid_request", error_description: "Invalid Credentials" }, 401);
    }
    if (!at.scopes.some((s) => SIGN_IN_SCOPES.has(s))) return c.json({ error: "insufficient_scope" }, 403);
    const account = directory.get(at.account)!;
    const body: Record<string, unknown> = { sub: account.id };
    if (at.scopes.includes(USERINFO_PROFILE)) {
      body["name"] = account.displayName;
      body["given_name"] = account.givenName;
      body["family_name"] = account.familyName;
      body["picture"] = `${ctx.baseUrl()}/google/avatar/${account.id}.png`;
    }
    if (at.scopes.includes(USERINFO_EMAIL)) {
      body["email"] = account.address;
      body["email_verified"] = true;
    }
    body["hd"] = account.tenantDomain;
    return c.json(body);
  };
  app.get("/v1/userinfo", userinfo);
  app.get("/oauth2/v3/userinfo", userinfo);

  app.get("/.well-known/openid-configuration", (c) => {
    const base = `${ctx.baseUrl()}/google`;
    return c.json({
      issuer: ctx.googleIssuer(),
      authorization_endpoint: `${base}/o/oauth2/v2/auth`,
      device_authorization_endpoint: `${base}/device/code`,
      token_endpoint: `${base}/token`,
      userinfo_endpoint: `${base}/v1/userinfo`,
      revocation_endpoint: `${base}/revoke`,
      jwks_uri: `${base}/oauth2/v3/certs`,
      response_types_supported: [
        "code",
        "token",
        "id_token",
        "code token",
        "code id_token",
        "token id_token",
        "code token id_token",
        "none",
      ],
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      scopes_supported: ["openid", "email", "profile"],
      token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
      claims_supported: [
        "aud",
        "email",
        "email_verified",
        "exp",
        "family_name",
        "given_name",
        "iat",
        "iss",
        "name",
        "picture",
        "sub",
      ],
      code_challenge_methods_supported: ["plain", "S256"],
      grant_types_supported: [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
      ],
    });
  });

  app.get("/oauth2/v3/certs", (c) => {
    c.header("Cache-Control", "public, max-age=21600, must-revalidate, no-transform");
    return c.json(jwks([ctx.keys.google]));
  });

  return app;
}
