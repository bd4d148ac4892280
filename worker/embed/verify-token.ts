/**
 * Verifies a partner's embed token: the partner named by `iss` (not revoked), its own key with the
 * algorithms pinned to that key's kind (HS256 for a shared secret; ES256 or RS256 from its JWKS, so
 * neither `none` nor HS-with-a-public-key can pass), audience = this deployment, a lifetime of at most
 * fifteen minutes, the inbox the partner was given, and a jti never seen before. Every failure has an
 * internal reason for the logs and one generic answer on the wire.
 */
import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { AppEnv } from "../app-env";
import { embedClaims, MAX_EMBED_TOKEN_SECONDS, type EmbedPermission } from "../contracts/embed";
import { idSchema } from "../contracts";
import { embedPartnerOrigins, embedPartners, mailboxes } from "../db/schema";
import { openPartnerSecret } from "./partner-secret";

type Partner = typeof embedPartners.$inferSelect;
type Mailbox = typeof mailboxes.$inferSelect;

export type EmbedTokenVerdict =
  | {
      ok: true;
      partner: Partner;
      origins: string[];
      mailbox: Mailbox;
      userId: string;
      userName: string;
      permissions: EmbedPermission[];
      contact: string | null;
      expiresAt: number;
    }
  | { ok: false; reason: string };

/** Allowed clock difference between the partner's server and ours. */
const CLOCK_SKEW_S = 60;

/** One remote key set per JWKS URL for the isolate's life: jose caches and refreshes the keys itself. */
const remoteKeySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function keySetFor(url: string) {
  let set = remoteKeySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    remoteKeySets.set(url, set);
  }
  return set;
}

function joseReason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "expired";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim_${err.claim}`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm_not_allowed";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "bad_signature";
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "no_matching_key";
  if (err instanceof joseErrors.JOSEError) return err.code;
  return "unverifiable";
}

export async function verifyEmbedToken(c: Context<AppEnv>, token: string): Promise<EmbedTokenVerdict> {
  let issuer: string | undefined;
  try {
    // Unverified, only to find whose key to verify with.
    issuer = decodeJwt(token).iss;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!idSchema.safeParse(issuer).success) return { ok: false, reason: "unknown_partner" };
  const db = c.var.db;
  const partner = await db.select().from(embedPartners).where(eq(embedPartners.id, issuer!)).get();
  if (!partner) return { ok: false, reason: "unknown_partner" };
  if (partner.revokedAt !== null) return { ok: false, reason: "partner_revoked" };

  const options = {
    issuer: partner.id,
    audience: c.var.config.appOrigin,
    requiredClaims: ["exp", "iat", "jti", "sub"],
    clockTolerance: CLOCK_SKEW_S,
  };
  let payload: JWTPayload;
  try {
    if (partner.keyType === "hs256") {
      const secret = partner.sealedSecret
        ? await openPartnerSecret(c.env, partner.accountId, partner.id, partner.sealedSecret)
        : null;
      if (!secret) return { ok: false, reason: "partner_key_unavailable" };
      ({ payload } = await jwtVerify(token, secret, { ...options, algorithms: ["HS256"] }));
    } else {
      if (!partner.jwksUrl) return { ok: false, reason: "partner_key_unavailable" };
      ({ payload } = await jwtVerify(token, keySetFor(partner.jwksUrl), {
        ...options,
        algorithms: ["ES256", "RS256"],
      }));
    }
  } catch (err) {
    return { ok: false, reason: joseReason(err) };
  }

  const claims = embedClaims.safeParse(payload);
  if (!claims.success) return { ok: false, reason: "bad_claims" };
  const { iat, exp, jti } = claims.data;
  const now = Math.floor(Date.now() / 1000);
  if (exp - iat > MAX_EMBED_TOKEN_SECONDS) return { ok: false, reason: "lifetime_too_long" };
  if (iat > now + CLOCK_SKEW_S) return { ok: false, reason: "issued_in_future" };

  const mailbox = partner.mailboxId
    ? await db
        .select()
        .from(mailboxes)
        .where(and(eq(mailboxes.accountId, partner.accountId), eq(mailboxes.id, partner.mailboxId)))
        .get()
    : undefined;
  if (!mailbox) return { ok: false, reason: "partner_has_no_inbox" };
  if (mailbox.address.toLowerCase() !== claims.data.inbox) return { ok: false, reason: "wrong_inbox" };

  const allowed = JSON.parse(partner.permissions) as EmbedPermission[];
  const permissions = allowed.filter((p) => claims.data.permissions.includes(p));
  if (!permissions.includes("read")) return { ok: false, reason: "no_read_permission" };

  // Last, so that only tokens that would otherwise be accepted are remembered.
  const fresh = await c.env.EMBED_REPLAY.getByName(partner.id).claim(jti, exp * 1000);
  if (!fresh) return { ok: false, reason: "replayed" };

  const origins = await db
    .select({ origin: embedPartnerOrigins.origin })
    .from(embedPartnerOrigins)
    .where(and(eq(embedPartnerOrigins.accountId, partner.accountId), eq(embedPartnerOrigins.partnerId, partner.id)))
    .all();
  return {
    ok: true,
    partner,
    origins: origins.map((o) => o.origin),
    mailbox,
    userId: claims.data.sub,
    userName: claims.data.name,
    permissions,
    contact: claims.data.contact ?? null,
    expiresAt: exp * 1000,
  };
}
