import { createHash } from "node:crypto";
import { type Context, Hono } from "hono";
import { type OAuthClient, clientCredentials, redirectAllowed } from "../auth/clients";
import { readForm, redirectWith } from "../auth/forms";
import { type PkceMethod, pkceMatches } from "../auth/pkce";
import { type AuthorizationCode, type PendingAuthorization, type RefreshTokenState } from "../auth/store";
import { type AppEnv, type EmulatorContext } from "../context";
import { jwks, signJwt } from "../core/keys";
import { secretToken } from "../core/random";
import { type Identity, canSignIn } from "../world/directory";
import { renderConsentPage, renderErrorPage, renderFormPost } from "../ui/pages";
import { AADSTS_TEXT, aadstsBody, aadstsError, issuedStamp } from "./errors";
import { canonicalScope, isOidcScope, msScopeLabel, responseScope } from "./scopes";

const DAY_MS = 86_400_000;
const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

type ResponseMode = "query" | "fragment" | "form_post";

function tenantMatches(tenant: string, account: Identity): boolean {
  const t = tenant.toLowerCase();
  if (t === "common" || t === "organizations") return true;
  if (t === "consumers") return false;
  return t === account.tenantId.toLowerCase() || t === account.tenantDomain.toLowerCase();
}

/**
 * Microsoft identity platform v2 endpoints per tenant: authorize with a consent page, token (code with
 * PKCE; refresh with rotation), discovery and keys, with AADSTS-coded errors.
 */
export function microsoftIdentityRoutes(ctx: EmulatorContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { auth, clock, directory } = ctx;
  const errorBase = () => `${ctx.baseUrl()}/microsoft`;
  const findClient = (id: string | undefined): OAuthClient | undefined =>
    id ? ctx.clients.microsoft.find((cl) => cl.clientId === id) : undefined;
  const fail = (c: Context, status: 400 | 401, code: number, error: string, text: string) =>
    aadstsError(c, status, code, error, text, clock.now(), errorBase());

  const respond = (c: Context, p: PendingAuthorization, params: Record<string, string | undefined>) => {
    const mode = (p.params["response_mode"] ?? "query") as ResponseMode;
    const redirectUri = p.params["redirect_uri"]!;
    const all = { ...params, state: p.params["state"] };
    if (mode === "form_post") {
      const fields = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
      return c.html(renderFormPost(redirectUri, fields));
    }
    return c.redirect(redirectWith(redirectUri, all, mode === "fragment" ? "fragment" : "query"), 302);
  };

  const errorRedirect = (c: Context, p: PendingAuthorization, error: string, code: number, text: string) => {
    const body = aadstsBody(code, error, text, clock.now(), errorBase());
    return respond(c, p, {
      error,
      error_description: String(body["error_description"]),
      error_uri: String(body["error_uri"]),
    });
  };

  const issueCode = (c: Context, p: PendingAuthorization, account: Identity) => {
    const params = p.params;
    auth.upsertGrant("microsoft", params["client_id"]!, account.address, p.scopes, clock.now());
    const code: AuthorizationCode = {
      code: `0.A${secretToken(60)}`,
      provider: "microsoft",
      clientId: params["client_id"]!,
      redirectUri: params["redirect_uri"]!,
      account: account.address,
      scopes: p.scopes,
      nonce: params["nonce"],
      challenge: params["code_challenge"],
      challengeMethod: params["code_challenge"]
        ? ((params["code_challenge_method"] ?? "plain") as PkceMethod)
        : undefined,
      expiresAt: clock.now() + ctx.tunables.microsoft.authCodeTtlSeconds * 1000,
      usedAt: null,
      offline: p.scopes.includes("offline_access"),
      issueRefreshToken: true,
      tenant: account.tenantId,
    };
    auth.codes.set(code.code, code);
    return respond(c, p, { code: code.code, session_state: secretToken(12) });
  };

  const consentPage = (c: Context, p: PendingAuthorization, error?: string, status: 200 | 400 = 200) => {
    const client = findClient(p.params["client_id"]);
    const tenant = c.req.param("tenant") ?? "common";
    const html = renderConsentPage({
      brand: "Microsoft",
      clientName: client?.name ?? p.params["client_id"] ?? "",
      formAction: `${new URL(c.req.url).origin}/microsoft/${encodeURIComponent(tenant)}/oauth2/v2.0/authorize/consent`,
      pendingId: p.id,
      accounts: directory
        .all()
        .filter((i) => i.provider === "microsoft" && (i.kind === "user" || i.kind === "shared"))
        .map((i) => ({
          address: i.address,
          displayName: i.displayName,
          disabled: !canSignIn(i) || !tenantMatches(tenant, i),
          note: i.kind === "shared" ? "Shared mailbox: sign-in blocked" : i.tenantName,
        })),
      selected: p.params["login_hint"]?.toLowerCase(),
      scopes: p.scopes.map((s) => ({ value: s, label: msScopeLabel(s), required: true })),
      granular: false,
      error,
    });
    return c.html(html, status);
  };

  app.get("/:tenant/oauth2/v2.0/authorize", (c) => {
    const q = c.req.query();
    const tenant = c.req.param("tenant");
    const client = findClient(q["client_id"]);
    if (!client) {
      const code = q["client_id"] ? 700016 : 900144;
      const text = q["client_id"] ? AADSTS_TEXT[700016](q["client_id"], tenant) : AADSTS_TEXT[900144]("client_id");
      return c.html(renderErrorPage("Microsoft", `AADSTS${code}`, text, 400), 400);
    }
    const redirectUri = q["redirect_uri"];
    if (!redirectUri || !redirectAllowed(client, redirectUri)) {
      return c.html(
        renderErrorPage("Microsoft", "AADSTS50011", AADSTS_TEXT[50011](redirectUri ?? "", client.clientId), 400),
        400,
      );
    }
    const requested = (q["scope"] ?? "").split(/\s+/).filter(Boolean);
    const canonical = requested.map((s) => [s, canonicalScope(s)] as const);
    const pending: PendingAuthorization = {
      id: secretToken(18),
      provider: "microsoft",
      params: q,
      scopes: [...new Set(canonical.map(([, s]) => s).filter((s): s is string => !!s && s !== ".default"))],
      createdAt: clock.now(),
    };
    if (q["response_mode"] && !["query", "fragment", "form_post"].includes(q["response_mode"])) {
      return errorRedirect(
        c,
        { ...pending, params: { ...q, response_mode: "query" } },
        "invalid_request",
        900144,
        "Invalid response_mode.",
      );
    }
    if (q["response_type"] !== "code") {
      return errorRedirect(
        c,
        pending,
        "unsupported_response_type",
        70000,
        "The provided value for the input parameter 'response_type' is not allowed for this request.",
      );
    }
    if (requested.length === 0)
      return errorRedirect(c, pending, "invalid_request", 900144, AADSTS_TEXT[900144]("scope"));
    const bad = canonical.find(([, s]) => !s);
    if (bad) return errorRedirect(c, pending, "invalid_scope", 70011, AADSTS_TEXT[70011](bad[0]));
    const method = q["code_challenge_method"];
    if (method && method !== "S256" && method !== "plain")
      return errorRedirect(c, pending, "invalid_request", 50149, AADSTS_TEXT[50149]);

    const prompt = q["prompt"];
    if (prompt === "none") {
      const account = q["login_hint"] ? directory.get(q["login_hint"]) : undefined;
      if (!account) return errorRedirect(c, pending, "login_required", 50058, AADSTS_TEXT[50058]);
      const grant = auth.grant("microsoft", client.clientId, account.address);
      if (!grant || pending.scopes.some((s) => !grant.scopes.includes(s))) {
        return errorRedirect(
          c,
          pending,
          "consent_required",
          65001,
          AADSTS_TEXT[65001](client.clientId, client.name ?? ""),
        );
      }
      return issueCode(c, pending, account);
    }
    const auto = auth.autoConsent.get("microsoft");
    if (auto) {
      if (auto.deny) return errorRedirect(c, pending, "access_denied", 65004, AADSTS_TEXT[65004]);
      const account = directory.get(q["login_hint"] ?? auto.account) ?? directory.get(auto.account);
      if (account && account.provider === "microsoft" && canSignIn(account) && tenantMatches(tenant, account)) {
        if (auto.scopes) pending.scopes = pending.scopes.filter((s) => isOidcScope(s) || auto.scopes!.includes(s));
        return issueCode(c, pending, account);
      }
    }
    auth.pending.set(pending.id, pending);
    return consentPage(c, pending);
  });

  app.post("/:tenant/oauth2/v2.0/authorize/consent", async (c) => {
    const body = await c.req.parseBody();
    const str = (k: string) => (typeof body[k] === "string" ? (body[k] as string) : undefined);
    const pending = auth.pending.get(str("request") ?? "");
    if (!pending)
      return c.html(renderErrorPage("Microsoft", "AADSTS90014", "The sign-in request has expired.", 400), 400);
    if (str("decision") !== "allow") {
      auth.pending.delete(pending.id);
      return errorRedirect(c, pending, "access_denied", 65004, AADSTS_TEXT[65004]);
    }
    const account = directory.get(str("account") ?? "");
    const tenant = c.req.param("tenant");
    if (!account || account.provider !== "microsoft") return consentPage(c, pending, "Pick an account.", 400);
    if (!canSignIn(account))
      return consentPage(c, pending, `${account.address} is a shared mailbox; sign-in is blocked.`, 400);
    if (!tenantMatches(tenant, account)) {
      return consentPage(
        c,
        pending,
        `AADSTS50020: ${AADSTS_TEXT[50020](account.address, account.tenantId, tenant)}`,
        400,
      );
    }
    auth.pending.delete(pending.id);
    return issueCode(c, pending, account);
  });

  const tokens = async (
    account: Identity,
    clientId: string,
    scopes: string[],
    grantId: string,
    refresh: RefreshTokenState | undefined,
    nonce?: string,
  ) => {
    const t = ctx.tunables.microsoft;
    const now = Math.floor(clock.now() / 1000);
    const graphScopes = scopes.filter((s) => !isOidcScope(s));
    const accessJwt = await signJwt(ctx.keys.microsoft, {
      aud: GRAPH_APP_ID,
      iss: `${ctx.microsoftIssuerBase()}/${account.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + t.accessTokenTtlSeconds,
      appid: clientId,
      oid: account.id,
      tid: account.tenantId,
      upn: account.address,
      name: account.displayName,
      scp: graphScopes.join(" "),
      ver: "1.0",
    });
    const at = auth.issueAccessToken(
      {
        provider: "microsoft",
        clientId,
        account: account.address,
        scopes: graphScopes,
        grantId,
        expiresAt: clock.now() + t.accessTokenTtlSeconds * 1000,
      },
      accessJwt,
    );
    const body: Record<string, unknown> = {
      token_type: "Bearer",
      scope: responseScope(scopes),
      expires_in: t.accessTokenTtlSeconds,
    };
    if (t.includeExtExpiresIn) body["ext_expires_in"] = t.accessTokenTtlSeconds;
    body["access_token"] = at.token;
    if (refresh) body["refresh_token"] = refresh.token;
    if (scopes.includes("openid")) {
      const claims: Record<string, unknown> = {
        aud: clientId,
        iss: `${ctx.microsoftIssuerBase()}/${account.tenantId}/v2.0`,
        iat: now,
        nbf: now,
        exp: now + 3600,
        name: account.displayName,
        oid: account.id,
        preferred_username: account.address,
        sub: createHash("sha256").update(`${clientId}|${account.id}`).digest("base64url").slice(0, 43),
        tid: account.tenantId,
        ver: "2.0",
      };
      if (scopes.includes("email")) claims["email"] = account.address;
      if (nonce) claims["nonce"] = nonce;
      body["id_token"] = await signJwt(ctx.keys.microsoft, claims);
    }
    return body;
  };

  const newRefresh = (account: string, clientId: string, scopes: string[], grantId: string) =>
    auth.issueRefreshToken({
      prefix: "0.AR",
      provider: "microsoft",
      clientId,
      account,
      scopes,
      issuedAt: clock.now(),
      expiresAt: null,
      grantId,
    });

  app.post("/:tenant/oauth2/v2.0/token", async (c) => {
    const form = await readForm(c);
    const tenant = c.req.param("tenant");
    const { clientId, clientSecret } = clientCredentials(c.req.header("authorization"), form);
    if (!clientId) return fail(c, 400, 900144, "invalid_request", AADSTS_TEXT[900144]("client_id"));
    const client = findClient(clientId);
    if (!client) return fail(c, 400, 700016, "unauthorized_client", AADSTS_TEXT[700016](clientId, tenant));
    if (!client.public) {
      if (!clientSecret) return fail(c, 401, 7000218, "invalid_client", AADSTS_TEXT[7000218]);
      if (clientSecret !== client.clientSecret)
        return fail(c, 401, 7000215, "invalid_client", AADSTS_TEXT[7000215](clientId));
    }
    const grantType = form.get("grant_type");
    const now = clock.now();

    if (grantType === "authorization_code") {
      const value = form.get("code");
      if (!value) return fail(c, 400, 900144, "invalid_request", AADSTS_TEXT[900144]("code"));
      const code = auth.codes.get(value);
      if (!code || code.provider !== "microsoft" || code.clientId !== clientId) {
        return fail(c, 400, 9002313, "invalid_grant", AADSTS_TEXT[9002313]);
      }
      if (code.usedAt !== null) return fail(c, 400, 54005, "invalid_grant", AADSTS_TEXT[54005]);
      if (code.expiresAt < now) return fail(c, 400, 70008, "invalid_grant", AADSTS_TEXT[70008]);
      const redirectUri = form.get("redirect_uri");
      if (redirectUri !== code.redirectUri) {
        return fail(c, 400, 50011, "invalid_request", AADSTS_TEXT[50011](redirectUri ?? "", clientId));
      }
      const verifier = form.get("code_verifier");
      if (code.challenge) {
        if (!verifier) return fail(c, 400, 50148, "invalid_grant", AADSTS_TEXT[50148]);
        if (!pkceMatches(code.challenge, code.challengeMethod ?? "plain", verifier)) {
          return fail(c, 400, 501481, "invalid_grant", AADSTS_TEXT[501481]);
        }
      }
      code.usedAt = now;
      const account = directory.get(code.account)!;
      const grant = auth.grant("microsoft", clientId, account.address);
      const grantId = grant?.id ?? secretToken(12);
      const refresh = code.offline ? newRefresh(account.address, clientId, code.scopes, grantId) : undefined;
      return c.json(await tokens(account, clientId, code.scopes, grantId, refresh, code.nonce));
    }

    if (grantType === "refresh_token") {
      const value = form.get("refresh_token");
      if (!value) return fail(c, 400, 900144, "invalid_request", AADSTS_TEXT[900144]("refresh_token"));
      const rt = auth.state.refreshTokens[value];
      if (!rt || rt.provider !== "microsoft" || rt.clientId !== clientId) {
        return fail(c, 400, 9002313, "invalid_grant", AADSTS_TEXT[9002313]);
      }
      if (rt.revoked) return revokedError(c, rt, client);
      if (now - rt.lastUsedAt > ctx.tunables.microsoft.refreshTokenInactivityDays * DAY_MS) {
        auth.revokeRefreshTokens([rt], { at: now, reason: "inactive", code: 700082, error: "invalid_grant" });
        return revokedError(c, rt, client);
      }
      const account = directory.get(rt.account)!;
      const requested = form
        .get("scope")
        ?.split(/\s+/)
        .filter(Boolean)
        .map((s) => canonicalScope(s));
      if (requested?.some((s) => !s))
        return fail(c, 400, 70011, "invalid_scope", AADSTS_TEXT[70011](form.get("scope") ?? ""));
      const wanted = (requested as string[] | undefined)?.filter((s) => s !== ".default");
      const missing = wanted?.find((s) => !rt.scopes.includes(s));
      if (missing) return fail(c, 400, 65001, "invalid_grant", AADSTS_TEXT[65001](clientId, client.name ?? ""));
      const scopes = wanted?.length
        ? [...new Set([...wanted, ...rt.scopes.filter((s) => s === "offline_access")])]
        : rt.scopes;
      rt.lastUsedAt = now;
      // Every refresh hands out a new refresh token; the old one stays valid unless configured otherwise.
      const rotated = newRefresh(account.address, clientId, rt.scopes, rt.grantId);
      if (ctx.tunables.microsoft.revokeRotatedRefreshTokens) {
        auth.revokeRefreshTokens([rt], { at: now, reason: "rotated", code: 70008, error: "invalid_grant" });
      }
      auth.changed();
      return c.json(await tokens(account, clientId, scopes, rt.grantId, rotated));
    }

    return fail(
      c,
      400,
      70003,
      "unsupported_grant_type",
      `The app requested an unsupported grant type '${grantType ?? ""}'.`,
    );
  });

  const revokedError = (c: Context, rt: RefreshTokenState, client: OAuthClient) => {
    const r = rt.revoked!;
    const code = r.code ?? 50173;
    const error = r.error ?? "invalid_grant";
    const issued = issuedStamp(rt.issuedAt);
    const text =
      code === 700082
        ? AADSTS_TEXT[700082](issued)
        : code === 50173
          ? AADSTS_TEXT[50173](issued, issuedStamp(r.at))
          : code === 65001
            ? AADSTS_TEXT[65001](client.clientId, client.name ?? "")
            : code === 50076
              ? AADSTS_TEXT[50076]
              : code === 53003
                ? AADSTS_TEXT[53003]
                : code === 700084
                  ? AADSTS_TEXT[700084]
                  : AADSTS_TEXT[70008];
    return fail(c, 400, code, error, text);
  };

  app.get("/:tenant/v2.0/.well-known/openid-configuration", (c) => {
    const tenant = c.req.param("tenant");
    const base = `${ctx.baseUrl()}/microsoft/${tenant}`;
    const known = directory
      .all()
      .find(
        (i) =>
          i.provider === "microsoft" &&
          tenantMatches(tenant, i) &&
          !["common", "organizations"].includes(tenant.toLowerCase()),
      );
    return c.json({
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: `${ctx.microsoftIssuerBase()}/${known ? known.tenantId : "{tenantid}"}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${ctx.baseUrl()}/graph/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: [
        "sub",
        "iss",
        "cloud_instance_name",
        "cloud_instance_host_name",
        "cloud_graph_host_name",
        "msgraph_host",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "acr",
        "nonce",
        "preferred_username",
        "name",
        "tid",
        "ver",
        "at_hash",
        "c_hash",
        "email",
      ],
      tenant_region_scope: null,
      cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net",
      msgraph_host: "graph.microsoft.com",
      rbac_url: "https://pas.windows.net",
    });
  });

  app.get("/:tenant/discovery/v2.0/keys", (c) => c.json(jwks([ctx.keys.microsoft])));

  // Target of `error_uri` in token errors.
  app.get("/error", (c) => {
    const code = c.req.query("code") ?? "";
    return c.html(
      renderErrorPage("Microsoft", `AADSTS${code}`, "See error_codes in the token response for the reason.", 400),
      400,
    );
  });

  return app;
}
