/** Inviting teammates into the account. Tokens are emailed once and stored only as a SHA-256. */
import { and, desc, eq, isNull } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { createInviteRequest, idSchema, type InvitableRole, type InviteView } from "../contracts";
import { accounts, invites, users } from "../db/schema";
import { ApiError, forbidden, notFound } from "../errors";
import { auditInsert } from "../lib/audit";
import { randomToken, sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { enforceRateLimit } from "../lib/rate-limit";
import { canInvite } from "../lib/role-policy";
import { validate } from "../lib/validate";
import { INVITATION_NOT_SENT, sendFromRequest } from "../mail/send-from-request";
import { inviteMail } from "../mail/templates";
import { originCheck } from "../middleware/origin-check";
import { ADMIN_ROLES, requireRole, requireSession } from "../middleware/session";

export const INVITE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

const inviteParam = z.object({ inviteId: idSchema });

export function inviteStatus(i: typeof invites.$inferSelect, now = Date.now()): InviteView["status"] {
  if (i.acceptedAt !== null) return "accepted";
  if (i.revokedAt !== null) return "revoked";
  return i.expiresAt <= now ? "expired" : "pending";
}

const toInviteView = (i: typeof invites.$inferSelect): InviteView => ({
  id: i.id,
  email: i.email,
  role: i.role,
  status: inviteStatus(i),
  createdAt: i.createdAt,
  expiresAt: i.expiresAt,
});

async function throttleInvites(c: Context<AppEnv>): Promise<void> {
  const { rateLimits } = c.var.config;
  await enforceRateLimit(
    c,
    `invite:account:${c.var.principal.accountId}`,
    rateLimits.invitesPerAccount,
    rateLimits.windowMs,
  );
  await enforceRateLimit(
    c,
    `invite:ip:${c.var.clientIp ?? "unknown"}`,
    rateLimits.invitesPerAccount,
    rateLimits.windowMs,
  );
}

/** Emails a fresh token for the invite; the previous token (if any) stops working. */
async function sendInvite(c: Context<AppEnv>, invite: { id: string; email: string; role: InvitableRole }) {
  const p = c.var.principal;
  const token = randomToken();
  const now = Date.now();
  await c.var.db
    .update(invites)
    .set({ tokenHash: await sha256Hex(token), expiresAt: now + INVITE_TTL_MS })
    .where(and(eq(invites.accountId, p.accountId), eq(invites.id, invite.id)));
  const account = await c.var.db.select().from(accounts).where(eq(accounts.id, p.accountId)).get();
  const url = `${c.var.config.appOrigin}/auth/invite#token=${token}`;
  await sendFromRequest(
    c,
    inviteMail(invite.email, p.name || p.email, account?.name ?? "Postroom", invite.role, url),
    INVITATION_NOT_SENT,
  );
}

async function findInvite(c: Context<AppEnv>, inviteId: string) {
  const invite = await c.var.db
    .select()
    .from(invites)
    .where(and(eq(invites.accountId, c.var.principal.accountId), eq(invites.id, inviteId)))
    .get();
  if (!invite) throw notFound("Invitation");
  return invite;
}

export const inviteRoutes = new Hono<AppEnv>()
  .use(requireSession, requireRole(...ADMIN_ROLES), originCheck)
  .get("/", async (c) => {
    const rows = await c.var.db
      .select()
      .from(invites)
      .where(eq(invites.accountId, c.var.principal.accountId))
      .orderBy(desc(invites.createdAt))
      .limit(500)
      .all();
    return c.json({ invites: rows.map(toInviteView) });
  })
  .post("/", validate("json", createInviteRequest), async (c) => {
    const { email, role } = c.req.valid("json");
    const p = c.var.principal;
    if (!canInvite(p.role, role)) throw forbidden("Only an owner can invite another owner");
    const member = await c.var.db
      .select({ role: users.role })
      .from(users)
      .where(and(eq(users.accountId, p.accountId), eq(users.email, email), isNull(users.removedAt)))
      .get();
    if (member && member.role !== "contributor") {
      throw new ApiError(409, "already_member", `${email} is already a member of this account`);
    }
    await throttleInvites(c);
    const now = Date.now();
    const id = newId();
    // A new invitation replaces any pending one for the same address.
    await c.var.db.batch([
      c.var.db
        .update(invites)
        .set({ revokedAt: now })
        .where(
          and(
            eq(invites.accountId, p.accountId),
            eq(invites.email, email),
            isNull(invites.acceptedAt),
            isNull(invites.revokedAt),
          ),
        ),
      c.var.db.insert(invites).values({
        id,
        accountId: p.accountId,
        email,
        role,
        // Replaced by the emailed token's hash in sendInvite; a random placeholder keeps it unusable until then.
        tokenHash: await sha256Hex(randomToken()),
        invitedBy: p.userId,
        createdAt: now,
        expiresAt: now + INVITE_TTL_MS,
      }),
      auditInsert(c, {
        accountId: p.accountId,
        action: "invite.created",
        actor: { userId: p.userId, email: p.email },
        target: { type: "invite", id },
        details: { email, role },
      }),
    ]);
    await sendInvite(c, { id, email, role });
    return c.json({ invite: toInviteView(await findInvite(c, id)) }, 201);
  })
  .post("/:inviteId/resend", validate("param", inviteParam), async (c) => {
    const p = c.var.principal;
    const invite = await findInvite(c, c.req.valid("param").inviteId);
    const status = inviteStatus(invite);
    if (status === "accepted" || status === "revoked") {
      throw new ApiError(409, `invite_${status}`, `This invitation was ${status} and cannot be resent`);
    }
    await throttleInvites(c);
    await sendInvite(c, invite);
    await auditInsert(c, {
      accountId: p.accountId,
      action: "invite.resent",
      actor: { userId: p.userId, email: p.email },
      target: { type: "invite", id: invite.id },
      details: { email: invite.email },
    });
    return c.json({ invite: toInviteView(await findInvite(c, invite.id)) });
  })
  .delete("/:inviteId", validate("param", inviteParam), async (c) => {
    const p = c.var.principal;
    const invite = await findInvite(c, c.req.valid("param").inviteId);
    if (inviteStatus(invite) === "accepted") {
      throw new ApiError(409, "invite_accepted", "This invitation was already accepted; remove the user instead");
    }
    await c.var.db.batch([
      c.var.db
        .update(invites)
        .set({ revokedAt: Date.now() })
        .where(and(eq(invites.accountId, p.accountId), eq(invites.id, invite.id))),
      auditInsert(c, {
        accountId: p.accountId,
        action: "invite.revoked",
        actor: { userId: p.userId, email: p.email },
        target: { type: "invite", id: invite.id },
        details: { email: invite.email },
      }),
    ]);
    return c.body(null, 204);
  });
