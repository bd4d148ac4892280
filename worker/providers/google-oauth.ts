/** Google OAuth 2.0 web-server flow (authorization code + PKCE, offline access) and OIDC. */
import { z } from "zod";
import type { MailboxKind } from "../contracts";
import type { ProviderConfig } from "./config";
import { form, requestJson } from "./http";
import { requestTokens } from "./oauth-token";
import { discover, verifyIdToken } from "./oidc";
import type { AuthorizeInput, OAuthProvider, TokenOutcome } from "./oauth-types";

export const GMAIL_SCOPES = [
  "https://www.googleapis.com/auth/gmail.modify",
  "https://www.googleapis.com/auth/gmail.send",
] as const;

const errorResponse = z.object({ error: z.string(), error_description: z.string().optional() });

export class GoogleOAuth implements OAuthProvider {
  readonly id = "google" as const;
  constructor(private readonly config: ProviderConfig["google"]) {}

  #discovery() {
    return discover(`${this.config.issuer}/.well-known/openid-configuration`);
  }

  requiredScopes(kind: MailboxKind | "signin"): string[] {
    return kind === "signin" ? ["openid", "email"] : ["openid", "email", ...GMAIL_SCOPES];
  }

  async authorizeUrl(input: AuthorizeInput): Promise<string> {
    const d = await this.#discovery();
    const url = new URL(d.authorization_endpoint);
    const params: Record<string, string> = {
      client_id: this.config.clientId,
      redirect_uri: input.redirectUri,
      response_type: "code",
      scope: this.requiredScopes(input.kind).join(" "),
      state: input.state,
      nonce: input.nonce,
      code_challenge: input.codeChallenge,
      code_challenge_method: "S256",
    };
    if (input.kind !== "signin") {
      // A refresh token only comes with offline access, and reliably only with a fresh consent.
      params.access_type = "offline";
      params.prompt = "consent";
    } else {
      params.prompt = "select_account";
    }
    if (input.loginHint) params.login_hint = input.loginHint;
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  async #token(fields: Record<string, string>): Promise<TokenOutcome> {
    const d = await this.#discovery();
    return requestTokens(d.token_endpoint, fields, this.config, "Google", classifyGoogleError);
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

  async revoke(token: string): Promise<void> {
    const d = await this.#discovery();
    const endpoint = d.revocation_endpoint ?? `${this.config.issuer}/revoke`;
    await requestJson(endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form({ token }),
    });
  }

  async verifyIdToken(idToken: string, nonce: string) {
    const d = await this.#discovery();
    // Google documents both spellings of its issuer.
    const accepted = new Set([d.issuer, d.issuer.replace(/^https:\/\//, "")]);
    return verifyIdToken(idToken, {
      jwksUri: d.jwks_uri,
      issuer: (iss) => accepted.has(iss),
      audience: this.config.clientId,
      nonce,
    });
  }
}

export function classifyGoogleError(status: number, body: unknown): TokenOutcome & { ok: false } {
  const e = errorResponse.safeParse(body);
  const code = e.success ? e.data.error : `http_${status}`;
  const description = e.success ? (e.data.error_description ?? "") : "";
  if (status === 0 || status >= 500) {
    return {
      ok: false,
      reason: "provider_unavailable",
      providerCode: code,
      detail: "Google is not answering right now",
    };
  }
  if (status === 429)
    return { ok: false, reason: "rate_limited", providerCode: code, detail: "Google is rate limiting this mailbox" };
  if (code === "invalid_grant") {
    return {
      ok: false,
      reason: "invalid_grant",
      providerCode: code,
      detail: description || "Token has been expired or revoked.",
    };
  }
  return { ok: false, reason: "request", providerCode: code, detail: description || "Google refused the request" };
}
