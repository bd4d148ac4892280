import type { HealthReason, MailboxKind } from "../contracts";
import type { IdTokenResult } from "./oidc";

export interface TokenSet {
  accessToken: string;
  /** Absent when the provider keeps the previous one (Google usually does on refresh). */
  refreshToken: string | null;
  expiresAt: number;
  scopes: string[];
  idToken: string | null;
}

export type TokenFailure = {
  ok: false;
  /** A health reason when the failure says something about the grant; "request" for our own bugs. */
  reason: HealthReason | "request";
  /** The provider's error code (never a token), for logs and the health sentence. */
  providerCode: string;
  detail: string;
};

export type TokenOutcome = { ok: true; tokens: TokenSet } | TokenFailure;

export interface AuthorizeInput {
  state: string;
  codeChallenge: string;
  nonce: string;
  redirectUri: string;
  loginHint?: string;
  kind: MailboxKind | "signin";
}

/** What the connect flow and the token lifecycle need from an identity provider. */
export interface OAuthProvider {
  readonly id: "google" | "microsoft";
  requiredScopes(kind: MailboxKind | "signin"): string[];
  authorizeUrl(input: AuthorizeInput): Promise<string>;
  exchangeCode(input: { code: string; codeVerifier: string; redirectUri: string }): Promise<TokenOutcome>;
  refresh(refreshToken: string): Promise<TokenOutcome>;
  revoke(token: string): Promise<void>;
  verifyIdToken(idToken: string, nonce: string): Promise<IdTokenResult>;
}

/** Scope strings as granted: Microsoft answers short names for Graph scopes, Google full URLs. */
export function missingScopes(required: string[], granted: string[]): string[] {
  const norm = (s: string) => s.replace(/^https:\/\/graph\.microsoft\.com\//i, "").toLowerCase();
  const have = new Set(granted.map(norm));
  // Google reports "email" as its userinfo URL.
  if (have.has("https://www.googleapis.com/auth/userinfo.email")) have.add("email");
  return required.filter((s) => !have.has(norm(s)));
}
