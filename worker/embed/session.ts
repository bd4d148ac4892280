/**
 * Widget sessions. A verified embed token is exchanged for a random bearer token that the widget
 * keeps in memory (third-party cookies are blocked in frames, and none are used); only its SHA-256 is
 * stored. A session ends with the embed token's expiry, when the partner is revoked, or when its key
 * is rotated.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv, EmbedCaller } from "../app-env";
import { embedPartnerOrigins, embedPartners, embedSessions } from "../db/schema";
import { ApiError } from "../errors";
import { randomToken, sha256Hex } from "../lib/crypto";
import type { EmbedTokenVerdict } from "./verify-token";

type Verified = Extract<EmbedTokenVerdict, { ok: true }>;

export async function startEmbedSession(c: Context<AppEnv>, v: Verified): Promise<string> {
  const accessToken = randomToken();
  await c.var.db.insert(embedSessions).values({
    tokenHash: await sha256Hex(accessToken),
    accountId: v.partner.accountId,
    partnerId: v.partner.id,
    keyVersion: v.partner.keyVersion,
    mailboxId: v.mailbox.id,
    partnerUserId: v.userId,
    partnerUserName: v.userName,
    permissions: JSON.stringify(v.permissions),
    contact: v.contact,
    createdAt: Date.now(),
    expiresAt: v.expiresAt,
  });
  return accessToken;
}

const unauthenticated = () =>
  new ApiError(401, "embed_session_ended", "The embedded inbox session has ended; a new embed token is needed");

/** `Authorization: Bearer …` from the widget; sets c.var.embed. */
export const requireEmbedSession = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(header);
  if (!match) throw unauthenticated();
  const row = await c.var.db
    .select({ s: embedSessions, partnerName: embedPartners.name })
    .from(embedSessions)
    .innerJoin(
      embedPartners,
      and(
        eq(embedPartners.accountId, embedSessions.accountId),
        eq(embedPartners.id, embedSessions.partnerId),
        eq(embedPartners.keyVersion, embedSessions.keyVersion),
        eq(embedPartners.mailboxId, embedSessions.mailboxId),
      ),
    )
    .where(
      and(
        eq(embedSessions.tokenHash, await sha256Hex(match[1]!)),
        gt(embedSessions.expiresAt, Date.now()),
        isNull(embedPartners.revokedAt),
      ),
    )
    .get();
  if (!row) throw unauthenticated();
  const origins = await c.var.db
    .select({ origin: embedPartnerOrigins.origin })
    .from(embedPartnerOrigins)
    .where(and(eq(embedPartnerOrigins.accountId, row.s.accountId), eq(embedPartnerOrigins.partnerId, row.s.partnerId)))
    .all();
  const caller: EmbedCaller = {
    accountId: row.s.accountId,
    partnerId: row.s.partnerId,
    partnerName: row.partnerName,
    origins: origins.map((o) => o.origin),
    mailboxId: row.s.mailboxId,
    userId: row.s.partnerUserId,
    userName: row.s.partnerUserName,
    permissions: JSON.parse(row.s.permissions) as EmbedCaller["permissions"],
    contact: row.s.contact,
  };
  c.set("embed", caller);
  await next();
});

/**
 * State changes must come from the widget's own frame (this origin) or from one of the partner's
 * registered origins. A bearer token is not sent by browsers on their own, so this is a second line.
 */
export function assertEmbedOrigin(c: Context<AppEnv>, origins: string[]): void {
  const origin = c.req.header("origin");
  if (origin !== c.var.config.appOrigin && !(origin && origins.includes(origin))) {
    throw new ApiError(403, "bad_origin", "This request must come from the embedded inbox or the partner's site");
  }
}

export function assertEmbedPermission(c: Context<AppEnv>, permission: "reply" | "notes"): void {
  if (!c.var.embed.permissions.includes(permission)) {
    throw new ApiError(
      403,
      "forbidden",
      `This embedded inbox does not allow ${permission === "reply" ? "replies" : "notes"}`,
    );
  }
}
