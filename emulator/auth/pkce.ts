import { createHash } from "node:crypto";

export type PkceMethod = "S256" | "plain";

export function pkceMatches(challenge: string, method: PkceMethod, verifier: string): boolean {
  const computed = method === "S256" ? createHash("sha256").update(verifier).digest("base64url") : verifier;
  return computed === challenge;
}

/** RFC 7636: 43-128 characters from the unreserved set. */
export function validVerifier(verifier: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(verifier);
}
