/**
 * Settings › Partner sites (/api/partners, owners and admins): the partner sites that may embed one
 * inbox, their exact origins, their verification key (an HS256 secret shown once, or a JWKS URL),
 * the inbox and what their users may do. Rotating a key or revoking a partner ends every widget
 * session it started. Every change is audited; no audit entry or answer after creation holds a secret.
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { idSchema } from "../contracts";
import {
  createPartnerRequest,
  rotatePartnerKeyRequest,
  updatePartnerRequest,
  type EmbedPermission,
  type PartnerKeyResult,
  type PartnerListView,
  type PartnerView,
} from "../contracts/embed";
import { embedPartnerOrigins, embedPartners, embedSessions, mailboxes } from "../db/schema";
import { newPartnerSecret } from "../embed/partner-secret";
import { ApiError, notFound } from "../errors";
import { auditInsert } from "../lib/audit";
import { newId } from "../lib/ids";
import { validate } from "../lib/validate";
import { originCheck } from "../middleware/origin-check";
import { ADMIN_ROLES, requireRole, requireSession } from "../middleware/session";

type PartnerRow = typeof embedPartners.$inferSelect;
const partnerParam = z.object({ partnerId: idSchema });

async function views(c: Context<AppEnv>, rows: PartnerRow[]): Promise<PartnerView[]> {
  const accountId = c.var.principal.accountId;
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [origins, inboxes] = await Promise.all([
    c.var.db
      .select()
      .from(embedPartnerOrigins)
      .where(and(eq(embedPartnerOrigins.accountId, accountId), inArray(embedPartnerOrigins.partnerId, ids)))
      .orderBy(asc(embedPartnerOrigins.origin))
      .all(),
    c.var.db
      .select({ id: mailboxes.id, address: mailboxes.address })
      .from(mailboxes)
      .where(eq(mailboxes.accountId, accountId))
      .all(),
  ]);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    origins: origins.filter((o) => o.partnerId === r.id).map((o) => o.origin),
    inbox: inboxes.find((i) => i.id === r.mailboxId) ?? null,
    permissions: JSON.parse(r.permissions) as EmbedPermission[],
    keyType: r.keyType,
    jwksUrl: r.jwksUrl,
    keyVersion: r.keyVersion,
    createdAt: r.createdAt,
    keyRotatedAt: r.keyRotatedAt,
    revokedAt: r.revokedAt,
  }));
}

async function livePartner(c: Context<AppEnv>, partnerId: string): Promise<PartnerRow> {
  const row = await c.var.db
    .select()
    .from(embedPartners)
    .where(and(eq(embedPartners.accountId, c.var.principal.accountId), eq(embedPartners.id, partnerId)))
    .get();
  if (!row) throw notFound("Partner site");
  if (row.revokedAt !== null)
    throw new ApiError(409, "partner_revoked", "This partner site was revoked; register it again");
  return row;
}

async function assertInbox(c: Context<AppEnv>, inboxId: string): Promise<void> {
  const inbox = await c.var.db
    .select({ id: mailboxes.id })
    .from(mailboxes)
    .where(and(eq(mailboxes.accountId, c.var.principal.accountId), eq(mailboxes.id, inboxId)))
    .get();
  if (!inbox) {
    throw new ApiError(400, "invalid_request", "The request json is not valid", [
      { path: "inboxId", message: "is not an inbox of this account" },
    ]);
  }
}

const originRows = (accountId: string, partnerId: string, origins: string[]) =>
  [...new Set(origins)].map((origin) => ({ accountId, partnerId, origin }));

const endSessions = (c: Context<AppEnv>, partnerId: string) =>
  c.var.db
    .delete(embedSessions)
    .where(and(eq(embedSessions.accountId, c.var.principal.accountId), eq(embedSessions.partnerId, partnerId)));

const actorOf = (c: Context<AppEnv>) => ({ userId: c.var.principal.userId, email: c.var.principal.email });

export const partnerRoutes = new Hono<AppEnv>()
  .use(requireSession, requireRole(...ADMIN_ROLES), originCheck)
  .get("/", async (c) => {
    const rows = await c.var.db
      .select()
      .from(embedPartners)
      .where(eq(embedPartners.accountId, c.var.principal.accountId))
      .orderBy(asc(embedPartners.createdAt))
      .all();
    const out: PartnerListView = { partners: await views(c, rows), audience: c.var.config.appOrigin };
    return c.json(out);
  })
  .post("/", validate("json", createPartnerRequest), async (c) => {
    const p = c.var.principal;
    const body = c.req.valid("json");
    await assertInbox(c, body.inboxId);
    const id = newId();
    const now = Date.now();
    const key = body.key.type === "hs256" ? await newPartnerSecret(c.env, p.accountId, id) : null;
    const row: PartnerRow = {
      id,
      accountId: p.accountId,
      name: body.name,
      mailboxId: body.inboxId,
      permissions: JSON.stringify(body.permissions),
      keyType: body.key.type,
      jwksUrl: body.key.type === "jwks" ? body.key.jwksUrl : null,
      sealedSecret: key?.sealed ?? null,
      keyVersion: 1,
      createdBy: p.userId,
      createdAt: now,
      keyRotatedAt: null,
      revokedAt: null,
    };
    await c.var.db.batch([
      c.var.db.insert(embedPartners).values(row),
      c.var.db.insert(embedPartnerOrigins).values(originRows(p.accountId, id, body.origins)),
      auditInsert(c, {
        accountId: p.accountId,
        action: "partner.registered",
        actor: actorOf(c),
        target: { type: "partner", id },
        details: {
          name: body.name,
          origins: body.origins,
          inboxId: body.inboxId,
          permissions: body.permissions,
          keyType: body.key.type,
        },
      }),
    ]);
    const [view] = await views(c, [row]);
    const out: PartnerKeyResult = { partner: view!, secret: key?.secret ?? null };
    return c.json(out, 201);
  })
  .patch("/:partnerId", validate("param", partnerParam), validate("json", updatePartnerRequest), async (c) => {
    const p = c.var.principal;
    const body = c.req.valid("json");
    const row = await livePartner(c, c.req.valid("param").partnerId);
    if (body.inboxId) await assertInbox(c, body.inboxId);
    const set = {
      ...(body.name ? { name: body.name } : {}),
      ...(body.inboxId ? { mailboxId: body.inboxId } : {}),
      ...(body.permissions ? { permissions: JSON.stringify(body.permissions) } : {}),
    };
    const where = and(eq(embedPartners.accountId, p.accountId), eq(embedPartners.id, row.id));
    await c.var.db.batch([
      auditInsert(c, {
        accountId: p.accountId,
        action: "partner.updated",
        actor: actorOf(c),
        target: { type: "partner", id: row.id },
        details: body,
      }),
      ...(Object.keys(set).length > 0 ? [c.var.db.update(embedPartners).set(set).where(where)] : []),
      ...(body.origins
        ? [
            c.var.db
              .delete(embedPartnerOrigins)
              .where(and(eq(embedPartnerOrigins.accountId, p.accountId), eq(embedPartnerOrigins.partnerId, row.id))),
            c.var.db.insert(embedPartnerOrigins).values(originRows(p.accountId, row.id, body.origins)),
          ]
        : []),
      // Narrower permissions or another inbox apply at once, not when current sessions end.
      ...(body.inboxId || body.permissions ? [endSessions(c, row.id)] : []),
    ]);
    const updated = await c.var.db.select().from(embedPartners).where(where).get();
    return c.json({ partner: (await views(c, [updated!]))[0]! });
  })
  .post("/:partnerId/rotate", validate("param", partnerParam), validate("json", rotatePartnerKeyRequest), async (c) => {
    const p = c.var.principal;
    const body = c.req.valid("json");
    const row = await livePartner(c, c.req.valid("param").partnerId);
    if (row.keyType === "hs256" && body.jwksUrl) {
      throw new ApiError(400, "invalid_request", "The request json is not valid", [
        { path: "jwksUrl", message: "only a JWKS partner has a JWKS URL" },
      ]);
    }
    const key = row.keyType === "hs256" ? await newPartnerSecret(c.env, p.accountId, row.id) : null;
    const now = Date.now();
    const where = and(eq(embedPartners.accountId, p.accountId), eq(embedPartners.id, row.id));
    await c.var.db.batch([
      c.var.db
        .update(embedPartners)
        .set({
          keyVersion: row.keyVersion + 1,
          keyRotatedAt: now,
          ...(key ? { sealedSecret: key.sealed } : {}),
          ...(body.jwksUrl ? { jwksUrl: body.jwksUrl } : {}),
        })
        .where(where),
      endSessions(c, row.id),
      auditInsert(c, {
        accountId: p.accountId,
        action: "partner.key_rotated",
        actor: actorOf(c),
        target: { type: "partner", id: row.id },
        details: {
          keyType: row.keyType,
          keyVersion: row.keyVersion + 1,
          ...(body.jwksUrl ? { jwksUrl: body.jwksUrl } : {}),
        },
      }),
    ]);
    const updated = await c.var.db.select().from(embedPartners).where(where).get();
    const out: PartnerKeyResult = { partner: (await views(c, [updated!]))[0]!, secret: key?.secret ?? null };
    return c.json(out);
  })
  .post("/:partnerId/revoke", validate("param", partnerParam), async (c) => {
    const p = c.var.principal;
    const row = await livePartner(c, c.req.valid("param").partnerId);
    const where = and(eq(embedPartners.accountId, p.accountId), eq(embedPartners.id, row.id));
    await c.var.db.batch([
      // The sealed secret goes too: a revoked partner's key is never needed again.
      c.var.db.update(embedPartners).set({ revokedAt: Date.now(), sealedSecret: null }).where(where),
      endSessions(c, row.id),
      auditInsert(c, {
        accountId: p.accountId,
        action: "partner.revoked",
        actor: actorOf(c),
        target: { type: "partner", id: row.id },
      }),
    ]);
    const updated = await c.var.db.select().from(embedPartners).where(where).get();
    return c.json({ partner: (await views(c, [updated!]))[0]! });
  });
