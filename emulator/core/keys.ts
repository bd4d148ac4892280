import { type CryptoKey, type JWK, type JWTPayload, SignJWT, exportJWK, generateKeyPair, importJWK } from "jose";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

/** RS256 keys; restored from persisted JWKs in dev so tokens issued before a restart still verify. */
export async function createSigningKey(kid: string, persisted?: JWK): Promise<SigningKey> {
  if (persisted) {
    const privateKey = (await importJWK(persisted, "RS256")) as CryptoKey;
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = persisted;
    return { kid, privateKey, publicJwk: { ...pub, kid, alg: "RS256", use: "sig" }, privateJwk: persisted };
  }
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "RS256" };
  return { kid, privateKey, publicJwk, privateJwk };
}

export function signJwt(key: SigningKey, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" }).sign(key.privateKey);
}

export function jwks(keys: SigningKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.publicJwk) };
}
