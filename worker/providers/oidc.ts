/**
 * OpenID discovery and id_token verification with jose. Discovery documents and JWKS are cached at
 * module scope per issuer (jose refreshes keys on an unknown kid), never fetched per request.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { z } from "zod";
import { requestJson } from "./http";

const discoverySchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string().url(),
  token_endpoint: z.string().url(),
  jwks_uri: z.string().url(),
  userinfo_endpoint: z.string().url().optional(),
  revocation_endpoint: z.string().url().optional(),
});
export type Discovery = z.infer<typeof discoverySchema>;

const discoveries = new Map<string, Promise<Discovery>>();
const jwksByUri = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

export function discover(discoveryUrl: string): Promise<Discovery> {
  let pending = discoveries.get(discoveryUrl);
  if (!pending) {
    pending = (async () => {
      const r = await requestJson<unknown>(discoveryUrl);
      if (!r.ok) throw new Error(`discovery failed: ${r.status}`);
      return discoverySchema.parse(r.body);
    })();
    // A failed discovery is not cached, so the next request tries again.
    pending.catch(() => discoveries.delete(discoveryUrl));
    discoveries.set(discoveryUrl, pending);
  }
  return pending;
}

function jwks(uri: string) {
  let set = jwksByUri.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri));
    jwksByUri.set(uri, set);
  }
  return set;
}

export interface IdTokenCheck {
  jwksUri: string;
  /** Accepted issuers (Microsoft's common endpoint issues per-tenant issuers). */
  issuer: string | ((iss: string, payload: JWTPayload) => boolean);
  audience: string;
  nonce: string;
}

export type IdTokenResult = { ok: true; claims: JWTPayload } | { ok: false; reason: string };

export async function verifyIdToken(token: string, check: IdTokenCheck): Promise<IdTokenResult> {
  try {
    const { payload } = await jwtVerify(token, jwks(check.jwksUri), {
      audience: check.audience,
      algorithms: ["RS256"],
      clockTolerance: 300,
      ...(typeof check.issuer === "string" ? { issuer: check.issuer } : {}),
    });
    if (
      typeof check.issuer === "function" &&
      !(typeof payload.iss === "string" && check.issuer(payload.iss, payload))
    ) {
      return { ok: false, reason: "issuer" };
    }
    if (payload.nonce !== check.nonce) return { ok: false, reason: "nonce" };
    return { ok: true, claims: payload };
  } catch (err) {
    return { ok: false, reason: (err as { code?: string }).code ?? "invalid" };
  }
}
