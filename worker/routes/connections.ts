/**
 * Settings > Inbox connections, for owners and admins: invitations to connect a mailbox, the
 * connected mailboxes with their health, reconnect links. The invitee needs no app account.
 */
import { and, asc, count, desc, eq, isNull } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import {
  createConnectInviteRequest,
  requestHostedAddressRequest,
  updateConnectionRequest,
  deleteConnectionQuery,
  idSchema,
  type ConnectInviteView,
  type ConnectionView,
  type HealthReason,
  type MailboxKind,
  type SyncScope,
  type SyncStatusView,
} from "../contracts";
import { accounts, connectInvites, inboxAccess, mailboxes, messageSources, skippedItems } from "../db/schema";
import { ApiError, notFound } from "../errors";
import { auditInsert } from "../lib/audit";
import { randomToken, sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { enforceRateLimit } from "../lib/rate-limit";
import { validate } from "../lib/validate";
import { INVITATION_NOT_SENT, sendFromRequest } from "../mail/send-from-request";
import { connectInviteMail } from "../mail/templates";
import { originCheck } from "../middleware/origin-check";
import { purgeMailboxMail } from "../sync/purge";
import { grantInUse } from "./connect";
import { hostedDomain } from "../hosted/address";
import { releaseHostedAddress, requestHostedAddress } from "../hosted/request-address";
import { ADMIN_ROLES, requireRole, requireSession } from "../middleware/session";

export const CONNECT_INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

const inviteParam = z.object({ inviteId: idSchema });
const inboxParam = z.object({ inboxId: idSchema });

export function connectInviteStatus(
  i: typeof connectInvites.$inferSelect,
  now = Date.now(),
): ConnectInviteView["status"] {
  if (i.usedAt !== null) return "used";
  if (i.revokedAt !== null) return "revoked";
  return i.expiresAt <= now ? "expired" : "pending";
}

const toInviteView = (i: typeof connectInvites.$inferSelect): ConnectInviteView => ({
  id: i.id,
  email: i.email,
  kind: i.kind,
  reconnectOf: i.mailboxId,
  windowDays: i.windowDays,
  syncScope: i.syncScope,
  status: connectInviteStatus(i),
  createdAt: i.createdAt,
  expiresAt: i.expiresAt,
});

export const toConnectionView = (m: typeof mailboxes.$inferSelect): ConnectionView => ({
  id: m.id,
  address: m.address,
  displayName: m.displayName,
  provider: m.provider,
  kind: m.kind,
  health: m.health,
  healthReason: m.healthReason as HealthReason | null,
  healthDetail: m.healthDetail,
  healthChangedAt: m.healthChangedAt,
  grantEmail: m.grantEmail,
  connectedAt: m.connectedAt,
  windowDays: m.windowDays,
  syncScope: m.syncScope,
  disconnectedAt: m.disconnectedAt,
});

async function throttle(c: Context<AppEnv>): Promise<void> {
  const { rateLimits } = c.var.config;
  await enforceRateLimit(
    c,
    `invite:account:${c.var.principal.accountId}`,
    rateLimits.invitesPerAccount,
    rateLimits.windowMs,
  );
}

/** Emails a fresh connect link for the invitation; any earlier link for it stops working. */
async function mailConnectLink(
  c: Context<AppEnv>,
  invite: { id: string; email: string; kind: MailboxKind; mailboxId: string | null },
): Promise<void> {
  const p = c.var.principal;
  const token = randomToken();
  await c.var.db
    .update(connectInvites)
    .set({ tokenHash: await sha256Hex(token), expiresAt: Date.now() + CONNECT_INVITE_TTL_MS })
    .where(and(eq(connectInvites.accountId, p.accountId), eq(connectInvites.id, invite.id)));
  const account = await c.var.db.select().from(accounts).where(eq(accounts.id, p.accountId)).get();
  const url = `${c.var.config.appOrigin}/connect#token=${token}`;
  await sendFromRequest(
    c,
    connectInviteMail({
      to: invite.email,
      inviter: p.name || p.email,
      accountName: account?.name ?? "Postroom",
      kind: invite.kind,
      reconnect: invite.mailboxId !== null,
      url,
    }),
    INVITATION_NOT_SENT,
  );
}

async function createInvite(
  c: Context<AppEnv>,
  fields: {
    email: string;
    kind: MailboxKind;
    mailboxId: string | null;
    windowDays?: number;
    syncScope?: SyncScope;
  },
): Promise<typeof connectInvites.$inferSelect> {
  const p = c.var.principal;
  const now = Date.now();
  const id = newId();
  await c.var.db.batch([
    // One live invitation per address: a new one replaces any pending one.
    c.var.db
      .update(connectInvites)
      .set({ revokedAt: now })
      .where(
        and(
          eq(connectInvites.accountId, p.accountId),
          eq(connectInvites.email, fields.email),
          isNull(connectInvites.usedAt),
          isNull(connectInvites.revokedAt),
        ),
      ),
    c.var.db.insert(connectInvites).values({
      id,
      accountId: p.accountId,
      email: fields.email,
      kind: fields.kind,
      mailboxId: fields.mailboxId,
      windowDays: fields.windowDays ?? 30,
      syncScope: fields.syncScope ?? "all",
      tokenHash: await sha256Hex(randomToken()),
      invitedBy: p.userId,
      createdAt: now,
      expiresAt: now + CONNECT_INVITE_TTL_MS,
    }),
    auditInsert(c, {
      accountId: p.accountId,
      action: fields.mailboxId ? "connection.reconnect_requested" : "connection.invite_created",
      actor: { userId: p.userId, email: p.email },
      target: fields.mailboxId ? { type: "inbox", id: fields.mailboxId } : { type: "connect_invite", id },
      details: { email: fields.email, kind: fields.kind },
    }),
  ]);
  await mailConnectLink(c, { id, ...fields });
  return (await c.var.db.select().from(connectInvites).where(eq(connectInvites.id, id)).get())!;
}

async function findInvite(c: Context<AppEnv>, inviteId: string) {
  const invite = await c.var.db
    .select()
    .from(connectInvites)
    .where(and(eq(connectInvites.accountId, c.var.principal.accountId), eq(connectInvites.id, inviteId)))
    .get();
  if (!invite) throw notFound("Invitation");
  return invite;
}

async function findMailbox(c: Context<AppEnv>, inboxId: string) {
  const mailbox = await c.var.db
    .select()
    .from(mailboxes)
    .where(and(eq(mailboxes.accountId, c.var.principal.accountId), eq(mailboxes.id, inboxId)))
    .get();
  if (!mailbox) throw notFound("Inbox");
  return mailbox;
}

export const connectionRoutes = new Hono<AppEnv>()
  .use(requireSession, requireRole(...ADMIN_ROLES), originCheck)
  .get("/", async (c) => {
    const accountId = c.var.principal.accountId;
    const [inboxes, invites] = await Promise.all([
      c.var.db.select().from(mailboxes).where(eq(mailboxes.accountId, accountId)).orderBy(asc(mailboxes.address)).all(),
      c.var.db
        .select()
        .from(connectInvites)
        .where(eq(connectInvites.accountId, accountId))
        .orderBy(desc(connectInvites.createdAt))
        .limit(200)
        .all(),
    ]);
    return c.json({
      connections: inboxes.map(toConnectionView),
      invites: invites.map(toInviteView),
      // Where "Request a shared address" puts new addresses; null when the server has none.
      hostedDomain: hostedDomain(c.env),
    });
  })
  /** POST /api/connections/hosted — a new shared inbox on the hosted domain, there at once. */
  .post("/hosted", validate("json", requestHostedAddressRequest), async (c) => {
    const mailbox = await requestHostedAddress(c, c.req.valid("json").localPart);
    return c.json({ connection: toConnectionView(mailbox) }, 201);
  })
  .post("/invites", validate("json", createConnectInviteRequest), async (c) => {
    const { email, kind, windowDays, syncScope } = c.req.valid("json");
    const existing = await c.var.db
      .select({ id: mailboxes.id, disconnectedAt: mailboxes.disconnectedAt })
      .from(mailboxes)
      .where(and(eq(mailboxes.accountId, c.var.principal.accountId), eq(mailboxes.address, email)))
      .get();
    if (existing && existing.disconnectedAt === null) {
      throw new ApiError(409, "already_connected", `${email} is already connected; send a reconnect link instead`, {
        inboxId: existing.id,
      });
    }
    await throttle(c);
    // A kept archive of the same address comes back to life in place, with its conversations.
    const invite = await createInvite(c, { email, kind, windowDays, syncScope, mailboxId: existing?.id ?? null });
    return c.json({ invite: toInviteView(invite) }, 201);
  })
  .post("/invites/:inviteId/resend", validate("param", inviteParam), async (c) => {
    const invite = await findInvite(c, c.req.valid("param").inviteId);
    const status = connectInviteStatus(invite);
    if (status === "used" || status === "revoked") {
      throw new ApiError(409, `invite_${status}`, `This invitation was ${status} and cannot be resent`);
    }
    await throttle(c);
    await mailConnectLink(c, invite);
    return c.json({ invite: toInviteView(await findInvite(c, invite.id)) });
  })
  .delete("/invites/:inviteId", validate("param", inviteParam), async (c) => {
    const p = c.var.principal;
    const invite = await findInvite(c, c.req.valid("param").inviteId);
    if (invite.usedAt !== null) throw new ApiError(409, "invite_used", "This invitation was already used");
    await c.var.db.batch([
      c.var.db
        .update(connectInvites)
        .set({ revokedAt: Date.now() })
        .where(and(eq(connectInvites.accountId, p.accountId), eq(connectInvites.id, invite.id))),
      auditInsert(c, {
        accountId: p.accountId,
        action: "connection.invite_revoked",
        actor: { userId: p.userId, email: p.email },
        target: { type: "connect_invite", id: invite.id },
        details: { email: invite.email },
      }),
    ]);
    return c.body(null, 204);
  })
  /**
   * Changes how much history (window) and which folders (scope) the inbox covers. Widening either
   * imports what it adds (listing is cheap; what is stored is not fetched again); narrowing keeps
   * what is already there and applies to mail from now on.
   */
  .patch("/:inboxId", validate("param", inboxParam), validate("json", updateConnectionRequest), async (c) => {
    const p = c.var.principal;
    const mailbox = await findMailbox(c, c.req.valid("param").inboxId);
    const body = c.req.valid("json");
    const windowDays = body.windowDays ?? mailbox.windowDays;
    const syncScope = body.syncScope ?? mailbox.syncScope;
    const changes = [
      ...(windowDays !== mailbox.windowDays
        ? [{ action: "connection.window_changed", details: { from: mailbox.windowDays, to: windowDays } }]
        : []),
      ...(syncScope !== mailbox.syncScope
        ? [{ action: "connection.scope_changed", details: { from: mailbox.syncScope, to: syncScope } }]
        : []),
    ];
    if (changes.length > 0) {
      await c.var.db.batch([
        c.var.db
          .update(mailboxes)
          .set({ windowDays, syncScope })
          .where(and(eq(mailboxes.accountId, p.accountId), eq(mailboxes.id, mailbox.id))),
        ...changes.map((change) =>
          auditInsert(c, {
            accountId: p.accountId,
            action: change.action,
            actor: { userId: p.userId, email: p.email },
            target: { type: "inbox", id: mailbox.id },
            details: change.details,
          }),
        ),
      ]);
      if (mailbox.provider !== "hosted" && mailbox.disconnectedAt === null) {
        await c.env.MAILBOX.getByName(mailbox.id).configure({
          windowDays: windowDays === 0 ? null : windowDays,
          scope: syncScope,
        });
      }
    }
    return c.json({ connection: toConnectionView({ ...mailbox, windowDays, syncScope }) });
  })
  .post("/:inboxId/reconnect-link", validate("param", inboxParam), async (c) => {
    const mailbox = await findMailbox(c, c.req.valid("param").inboxId);
    if (mailbox.provider === "hosted") {
      throw new ApiError(409, "not_connectable", "A hosted address has no provider connection to repair");
    }
    await throttle(c);
    // The link goes to whoever holds the grant (a delegate, for a Microsoft 365 shared mailbox).
    const invite = await createInvite(c, {
      email: mailbox.grantEmail ?? mailbox.address,
      kind: mailbox.kind,
      mailboxId: mailbox.id,
    });
    return c.json({ invite: toInviteView(invite) }, 201);
  });

/**
 * DELETE /api/connections/:inboxId?threads=keep|delete — revokes the grant at the provider, stops
 * push and wipes the MailboxDO, then either keeps the inbox as a read-only archive with its
 * conversations or removes it and them.
 */
connectionRoutes.delete(
  "/:inboxId",
  validate("param", inboxParam),
  validate("query", deleteConnectionQuery),
  async (c) => {
    const p = c.var.principal;
    const mailbox = await findMailbox(c, c.req.valid("param").inboxId);
    const { threads } = c.req.valid("query");
    // Another connected mailbox on the same provider grant (say, the same Google account in another
    // workspace) would die with a revoke, so the grant is only handed back when nobody else uses it.
    const provider = mailbox.provider === "gmail" ? "google" : "microsoft";
    const shared = mailbox.grantSubject ? await grantInUse(c, provider, mailbox.grantSubject, mailbox.id) : false;
    await c.env.MAILBOX.getByName(mailbox.id).disconnect({ revokeAtProvider: !shared });
    const now = Date.now();
    const audit = auditInsert(c, {
      accountId: p.accountId,
      action: "connection.deleted",
      actor: { userId: p.userId, email: p.email },
      target: { type: "inbox", id: mailbox.id },
      details: { address: mailbox.address, threads },
    });
    // A hosted address stops receiving and stays reserved (never given to anyone else).
    const release = mailbox.provider === "hosted" ? [releaseHostedAddress(c, mailbox)] : [];
    if (threads === "keep") {
      await c.var.db.batch([
        c.var.db
          .update(mailboxes)
          .set({ disconnectedAt: now, grantEmail: null, grantSubject: null })
          .where(and(eq(mailboxes.accountId, p.accountId), eq(mailboxes.id, mailbox.id))),
        ...release,
        audit,
      ]);
    } else {
      await purgeMailboxMail(c.var.db, c.env.RAW_MAIL, p.accountId, mailbox.id);
      await c.var.db.batch([
        c.var.db
          .delete(inboxAccess)
          .where(and(eq(inboxAccess.accountId, p.accountId), eq(inboxAccess.mailboxId, mailbox.id))),
        c.var.db
          .update(connectInvites)
          .set({ revokedAt: now })
          .where(
            and(
              eq(connectInvites.accountId, p.accountId),
              eq(connectInvites.mailboxId, mailbox.id),
              isNull(connectInvites.usedAt),
            ),
          ),
        c.var.db.delete(mailboxes).where(and(eq(mailboxes.accountId, p.accountId), eq(mailboxes.id, mailbox.id))),
        ...release,
        audit,
      ]);
    }
    return c.body(null, 204);
  },
);

/** GET /api/connections/:inboxId/sync — backfill progress (done/total, ETA), phase, skipped items. */
connectionRoutes.get("/:inboxId/sync", validate("param", inboxParam), async (c) => {
  const p = c.var.principal;
  const mailbox = await findMailbox(c, c.req.valid("param").inboxId);
  const status = await c.env.MAILBOX.getByName(mailbox.id).syncStatus();
  const where = and(eq(skippedItems.accountId, p.accountId), eq(skippedItems.mailboxId, mailbox.id));
  const [skipped, total, stored] = await Promise.all([
    c.var.db.select().from(skippedItems).where(where).orderBy(desc(skippedItems.createdAt)).limit(50).all(),
    c.var.db.select({ n: count() }).from(skippedItems).where(where).get(),
    c.var.db
      .select({ n: count() })
      .from(messageSources)
      .where(and(eq(messageSources.accountId, p.accountId), eq(messageSources.mailboxId, mailbox.id)))
      .get(),
  ]);
  const view: SyncStatusView = {
    phase: status.phase,
    backfill: status.backfill,
    lastSyncAt: status.lastSyncAt,
    skipped: skipped.map((s) => ({
      providerMessageId: s.providerMessageId,
      reason: s.reason,
      detail: s.detail,
      at: s.createdAt,
    })),
    skippedCount: total?.n ?? 0,
    storedCount: stored?.n ?? 0,
  };
  return c.json(view);
});
