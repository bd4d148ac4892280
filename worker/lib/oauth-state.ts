/**
 * OAuth `state` and the PKCE verifier and OIDC nonce that go with it. The verifier and nonce are
 * derived from the state with a server key (HKDF from the token key ring), so nothing secret is
 * stored while the user is away at the provider, and the state alone is useless to anyone else.
 */
import { randomToken } from "./crypto";

const encoder = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const keys = new Map<string, Promise<CryptoKey>>();

function stateKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const first = secret.split(",")[0]?.trim() ?? "";
      const raw = Uint8Array.from(
        atob(
          first
            .slice(first.indexOf(":") + 1)
            .replace(/-/g, "+")
            .replace(/_/g, "/"),
        ),
        (c) => c.charCodeAt(0),
      );
      const base = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("postroom-oauth-state") },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    keys.set(secret, key);
  }
  return key;
}

async function derive(secret: string, label: string, state: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await stateKey(secret), encoder.encode(`${label}|${state}`));
  return b64url(new Uint8Array(mac));
}

export interface OAuthRound {
  state: string;
  codeVerifier: string;
  codeChallenge: string;
  nonce: string;
}

export async function roundFor(secret: string, state: string): Promise<OAuthRound> {
  const codeVerifier = await derive(secret, "pkce", state);
  const challenge = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(codeVerifier)));
  return { state, codeVerifier, codeChallenge: b64url(challenge), nonce: await derive(secret, "nonce", state) };
}

export const newRound = (secret: string) => roundFor(secret, randomToken());
