/**
 * Microsoft identity platform v2 (authorization code + PKCE, refresh with rotation) and OIDC.
 * Errors are classified by AADSTS numbers in `error_codes`, never by their text, which changes.
 */
import { z } from "zod";
import type { HealthReason, MailboxKind } from "../contracts";
import type { ProviderConfig } from "./config";
import { requestTokens } from "./oauth-token";
import { discover, verifyIdToken } from "./oidc";
import type { AuthorizeInput, OAuthProvider, TokenOutcome } from "./oauth-types";

const GRAPH = "https://graph.microsoft.com/";
export const GRAPH_MAIL_SCOPES = ["Mail.ReadWrite", "Mail.Send", "User.Read"] as const;
/** A delegate reaches a Microsoft 365 shared mailbox only with the `.Shared` variants. */
export const GRAPH_SHARED_SCOPES = ["Mail.ReadWrite.Shared", "Mail.Send.Shared"] as const;

const errorResponse = z.object({
  error: z.string(),
  error_description: z.string().optional(),
  error_codes: z.array(z.number()).optional(),
});

const AADSTS: Record<number, { reason: HealthReason; detail: string }> = {
  70008: { reason: "invalid_grant", detail: "The sign-in expired after a long period without use" },
  700082: { reason: "invalid_grant", detail: "The sign-in expired after a long period without use" },
  700084: { reason: "invalid_grant", detail: "The sign-in reached its maximum lifetime" },
  50173: { reason: "invalid_grant", detail: "Access was revoked, for example after a password reset" },
  53003: { reason: "invalid_grant", detail: "A Conditional Access policy of the organisation blocks this access" },
  50076: { reason: "mfa_required", detail: "Multi-factor authentication is now required for this account" },
  50078: { reason: "mfa_required", detail: "Multi-factor authentication has expired and must be done again" },
  50079: { reason: "mfa_required", detail: "Multi-factor authentication must be set up for this account" },
  65001: { reason: "consent_revoked", detail: "The permission given to Postroom was removed" },
};

export class MicrosoftOAuth implements OAuthProvider {
  readonly id = "microsoft" as const;
  constructor(private readonly config: ProviderConfig["microsoft"]) {}

  #discovery() {
    return discover(`${this.config.authority}/.well-known/openid-configuration`);
  }

  requiredScopes(kind: MailboxKind | "signin"): string[] {
    if (kind === "signin") return ["openid", "email", "profile"];
    const mail = [...GRAPH_MAIL_SCOPES, ...(kind === "shared" ? GRAPH_SHARED_SCOPES : [])].map((s) => GRAPH + s);
    return ["openid", "email", "offline_access", ...mail];
  }

  async authorizeUrl(input: AuthorizeInput): Promise<string> {
    const d = await this.#discovery();
    const url = new URL(d.authorization_endpoint);
    const params: Record<string, string> = {
      client_id: this.config.clientId,
      redirect_uri: input.redirectUri,
      response_type: "code",
      response_mode: "query",
      scope: this.requiredScopes(input.kind).join(" "),
      state: input.state,
      nonce: input.nonce,
      code_challenge: input.codeChallenge,
      code_challenge_method: "S256",
      prompt: "select_account",
    };
    if (input.loginHint) params.login_hint = input.loginHint;
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  async #token(fields: Record<string, string>): Promise<TokenOutcome> {
    const d = await this.#discovery();
    return requestTokens(d.token_endpoint, fields, this.config, "Microsoft", classifyMicrosoftError);
  }

  exchangeCode(input: { code: string; codeVerifier: string; redirectUri: string }): Promise<TokenOutcome> {
    return this.#token({
      grant_type: "authorization_code",
      code: input.code,
      code_verifier: input.codeVerifier,
      redirect_uri: input.redirectUri,
    });
  }

  refresh(refreshToken: string): Promise<TokenOutcome> {
    return this.#token({ grant_type: "refresh_token", refresh_token: refreshToken });
  }

  /** Microsoft has no per-token revocation endpoint for web apps; the grant ends when the stored tokens are wiped. */
  async revoke(_token: string): Promise<void> {}

  async verifyIdToken(idToken: string, nonce: string) {
    const d = await this.#discovery();
    // The common endpoint's issuer is a template: https://login.microsoftonline.com/{tenantid}/v2.0
    const matches = (iss: string, payload: { tid?: unknown }) =>
      typeof payload.tid === "string" && iss === d.issuer.replace("{tenantid}", payload.tid);
    return verifyIdToken(idToken, {
      jwksUri: d.jwks_uri,
      issuer: (iss, payload) => matches(iss, payload as { tid?: unknown }),
      audience: this.config.clientId,
      nonce,
    });
  }
}

export function classifyMicrosoftError(status: number, body: unknown): TokenOutcome & { ok: false } {
  const e = errorResponse.safeParse(body);
  const code = e.success ? e.data.error : `http_${status}`;
  if (status === 0 || status >= 500 || code === "temporarily_unavailable") {
    return {
      ok: false,
      reason: "provider_unavailable",
      providerCode: code,
      detail: "Microsoft is not answering right now",
    };
  }
  if (status === 429)
    return { ok: false, reason: "rate_limited", providerCode: code, detail: "Microsoft is rate limiting this mailbox" };
  for (const n of e.success ? (e.data.error_codes ?? []) : []) {
    const known = AADSTS[n];
    if (known) return { ok: false, reason: known.reason, providerCode: `AADSTS${n}`, detail: known.detail };
  }
  if (code === "invalid_grant")
    return { ok: false, reason: "invalid_grant", providerCode: code, detail: "The sign-in was revoked or has expired" };
  if (code === "interaction_required")
    return {
      ok: false,
      reason: "mfa_required",
      providerCode: code,
      detail: "Microsoft needs the account to sign in again",
    };
  if (code === "consent_required")
    return {
      ok: false,
      reason: "consent_revoked",
      providerCode: code,
      detail: "The permission given to Postroom was removed",
    };
  return { ok: false, reason: "request", providerCode: code, detail: "Microsoft refused the request" };
}
