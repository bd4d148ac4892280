import { secretToken } from "../core/random";
import { type Provider } from "../world/directory";
import { type PkceMethod } from "./pkce";

export interface RevocationState {
  at: number;
  reason: string;
  /** Microsoft AADSTS code and the `error` string paired with it. */
  code?: number;
  error?: string;
}

export interface RefreshTokenState {
  token: string;
  provider: Provider;
  clientId: string;
  account: string;
  scopes: string[];
  issuedAt: number;
  lastUsedAt: number;
  expiresAt: number | null;
  revoked: RevocationState | null;
  /** The authorization this token descends from (all rotations share it). */
  grantId: string;
}

export interface GrantState {
  id: string;
  provider: Provider;
  clientId: string;
  account: string;
  scopes: string[];
  createdAt: number;
}

export interface AuthState {
  grants: Record<string, GrantState>;
  refreshTokens: Record<string, RefreshTokenState>;
}

export interface AccessTokenState {
  token: string;
  provider: Provider;
  clientId: string;
  account: string;
  scopes: string[];
  expiresAt: number;
  grantId: string;
}

export interface AuthorizationCode {
  code: string;
  provider: Provider;
  clientId: string;
  redirectUri: string;
  account: string;
  scopes: string[];
  nonce: string | undefined;
  challenge: string | undefined;
  challengeMethod: PkceMethod | undefined;
  expiresAt: number;
  usedAt: number | null;
  offline: boolean;
  /** Google: whether this consent issues a refresh token (first consent or prompt=consent). */
  issueRefreshToken: boolean;
  tenant: string;
}

export interface PendingAuthorization {
  id: string;
  provider: Provider;
  params: Record<string, string>;
  scopes: string[];
  createdAt: number;
}

export interface AutoConsent {
  account: string;
  /** Scopes to grant; undefined grants everything requested. */
  scopes?: string[];
  deny?: boolean;
}

/**
 * OAuth state of both authorities. Grants and refresh tokens persist across dev restarts; codes,
 * access tokens and pending consent screens live in memory only.
 */
export class AuthStore {
  readonly state: AuthState;
  readonly codes = new Map<string, AuthorizationCode>();
  readonly accessTokens = new Map<string, AccessTokenState>();
  /** Every access token ever issued, expired and revoked ones included: what a secret scan looks for. */
  readonly issuedAccessTokens = new Set<string>();
  readonly pending = new Map<string, PendingAuthorization>();
  readonly autoConsent = new Map<Provider, AutoConsent>();
  readonly #onChange: () => void;

  constructor(state: AuthState, onChange: () => void) {
    this.state = state;
    this.#onChange = onChange;
  }

  changed(): void {
    this.#onChange();
  }

  grantKey(provider: Provider, clientId: string, account: string): string {
    return `${provider}|${clientId}|${account.toLowerCase()}`;
  }

  grant(provider: Provider, clientId: string, account: string): GrantState | undefined {
    return this.state.grants[this.grantKey(provider, clientId, account)];
  }

  upsertGrant(provider: Provider, clientId: string, account: string, scopes: string[], now: number): GrantState {
    const key = this.grantKey(provider, clientId, account);
    const existing = this.state.grants[key];
    const g: GrantState = existing
      ? { ...existing, scopes: [...new Set(scopes)] }
      : {
          id: secretToken(12),
          provider,
          clientId,
          account: account.toLowerCase(),
          scopes: [...new Set(scopes)],
          createdAt: now,
        };
    this.state.grants[key] = g;
    this.changed();
    return g;
  }

  removeGrant(provider: Provider, clientId: string, account: string): void {
    delete this.state.grants[this.grantKey(provider, clientId, account)];
    this.changed();
  }

  issueRefreshToken(
    t: Omit<RefreshTokenState, "token" | "revoked" | "lastUsedAt"> & { prefix: string },
  ): RefreshTokenState {
    const { prefix, ...rest } = t;
    const rt: RefreshTokenState = {
      ...rest,
      token: `${prefix}${secretToken(48)}`,
      revoked: null,
      lastUsedAt: t.issuedAt,
    };
    this.state.refreshTokens[rt.token] = rt;
    this.changed();
    return rt;
  }

  issueAccessToken(t: Omit<AccessTokenState, "token">, token = `ya29.${secretToken(60)}`): AccessTokenState {
    const at: AccessTokenState = { ...t, token };
    this.accessTokens.set(token, at);
    this.issuedAccessTokens.add(token);
    return at;
  }

  liveRefreshTokens(provider: Provider, account: string, clientId?: string): RefreshTokenState[] {
    return Object.values(this.state.refreshTokens).filter(
      (t) =>
        t.provider === provider &&
        t.account === account.toLowerCase() &&
        (clientId === undefined || t.clientId === clientId) &&
        !t.revoked,
    );
  }

  revokeRefreshTokens(tokens: RefreshTokenState[], revocation: RevocationState): number {
    for (const t of tokens) t.revoked = revocation;
    if (tokens.length) this.changed();
    return tokens.length;
  }

  revokeAccessTokens(predicate: (t: AccessTokenState) => boolean): void {
    for (const [k, t] of this.accessTokens) if (predicate(t)) this.accessTokens.delete(k);
  }

  /** Takes one scope away everywhere: the grant, refresh tokens and live access tokens. */
  removeScope(provider: Provider, account: string, scope: string): void {
    const lower = account.toLowerCase();
    const drop = (list: string[]) => list.filter((s) => s !== scope);
    for (const g of Object.values(this.state.grants))
      if (g.provider === provider && g.account === lower) g.scopes = drop(g.scopes);
    for (const t of Object.values(this.state.refreshTokens))
      if (t.provider === provider && t.account === lower) t.scopes = drop(t.scopes);
    for (const t of this.accessTokens.values())
      if (t.provider === provider && t.account === lower) t.scopes = drop(t.scopes);
    this.changed();
  }
}
