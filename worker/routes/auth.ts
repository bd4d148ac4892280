/**
 * Sign-up, sign-in by emailed link, invitation acceptance, sessions. Answers to "send me a link"
 * are the same whether or not the address has an account, so the endpoint cannot enumerate users.
 */
import { and, asc, desc, eq, gt, isNull, ne } from "drizzle-orm";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import {
  acceptInviteRequest,
  signInRequest,
  signUpRequest,
  switchAccountRequest,
  verifyLinkRequest,
  type SessionView,
} from "../contracts";
import { signupAllowed } from "../config";
import { accounts, invites, magicLinks, sessions, users } from "../db/schema";
import { ApiError, forbidden } from "../errors";
import { auditInsert } from "../lib/audit";
import { randomToken, sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { enforceRateLimit } from "../lib/rate-limit";
import { clearSessionCookie, revokeUserSessions, startSession } from "../lib/sessions";
import { validate } from "../lib/validate";
import type { OutgoingMail } from "../mail/mailer";
import { MAIL_NOT_SENT, sendFromRequest } from "../mail/send-from-request";
import { contributorNoticeMail, signInMail, signUpMail } from "../mail/templates";
import { originCheck } from "../middleware/origin-check";
import { requireSession } from "../middleware/session";

export const MAGIC_LINK_TTL_MS = 15 * 60 * 1000;

const invalidLink = () =>
  new ApiError(400, "invalid_link", "This link is not valid. Ask for a new one from the sign-in page.");

const sendMail = (c: Context<AppEnv>, mail: OutgoingMail) => sendFromRequest(c, mail, MAIL_NOT_SENT);

async function throttleSignIn(c: Context<AppEnv>, email: string): Promise<void> {
  const { rateLimits } = c.var.config;
  await enforceRateLimit(c, `signin:ip:${c.var.clientIp ?? "unknown"}`, rateLimits.signinPerIp, rateLimits.windowMs);
  await enforceRateLimit(c, `signin:email:${email}`, rateLimits.signinPerEmail, rateLimits.windowMs);
}

async function issueLink(
  c: Context<AppEnv>,
  email: string,
  purpose: "signin" | "signup",
  accountName: string | null,
): Promise<string> {
  const token = randomToken();
  const now = Date.now();
  await c.var.db.insert(magicLinks).values({
    tokenHash: await sha256Hex(token),
    email,
    purpose,
    accountName,
    createdAt: now,
    expiresAt: now + MAGIC_LINK_TTL_MS,
  });
  // The link opens a page that asks for a click before spending the token, so mail scanners that
  // prefetch links cannot use it up.
  return `${c.var.config.appOrigin}/auth/verify#token=${token}`;
}

/** The account a sign-in lands in when an address belongs to several: the one used most recently. */
function activeMemberships(c: Context<AppEnv>, email: string) {
  return c.var.db
    .select({ id: users.id, accountId: users.accountId, role: users.role, lastSignInAt: users.lastSignInAt })
    .from(users)
    .where(and(eq(users.email, email), isNull(users.removedAt)))
    .orderBy(desc(users.lastSignInAt), asc(users.createdAt))
    .all();
}

export const authRoutes = new Hono<AppEnv>()
  .use(originCheck)
  .post("/signin", validate("json", signInRequest), async (c) => {
    const { email } = c.req.valid("json");
    await throttleSignIn(c, email);
    const memberships = await activeMemberships(c, email);
    if (memberships.some((m) => m.role !== "contributor")) {
      await sendMail(c, signInMail(email, await issueLink(c, email, "signin", null)));
    } else if (memberships.length > 0) {
      await sendMail(c, contributorNoticeMail(email));
    }
    return c.json({ ok: true, message: "If this address has a Postroom account, a sign-in link is on its way." }, 202);
  })
  .post("/signup", validate("json", signUpRequest), async (c) => {
    const { email, accountName } = c.req.valid("json");
    if (!signupAllowed(c.var.config, email)) {
      throw c.var.config.signup.mode === "closed"
        ? new ApiError(403, "signup_disabled", "Sign-up is turned off here; ask an admin for an invitation")
        : new ApiError(403, "signup_domain_not_allowed", "Sign-up is limited to certain email domains on this server");
    }
    await throttleSignIn(c, email);
    await sendMail(c, signUpMail(email, accountName, await issueLink(c, email, "signup", accountName)));
    return c.json({ ok: true, message: "Check your email to confirm the address and create the workspace." }, 202);
  })
  .post("/verify", validate("json", verifyLinkRequest), async (c) => {
    const tokenHash = await sha256Hex(c.req.valid("json").token);
    const now = Date.now();
    // Spending the link is one conditional UPDATE, so two concurrent clicks cannot both succeed.
    const link = await c.var.db
      .update(magicLinks)
      .set({ usedAt: now })
      .where(and(eq(magicLinks.tokenHash, tokenHash), isNull(magicLinks.usedAt), gt(magicLinks.expiresAt, now)))
      .returning()
      .get();
    if (!link) {
      const known = await c.var.db.select().from(magicLinks).where(eq(magicLinks.tokenHash, tokenHash)).get();
      if (!known) throw invalidLink();
      if (known.usedAt !== null) {
        throw new ApiError(
          400,
          "link_used",
          "This link has already been used. Ask for a new one from the sign-in page.",
        );
      }
      throw new ApiError(400, "link_expired", "This link has expired. Ask for a new one from the sign-in page.");
    }

    if (link.purpose === "signup") {
      const accountId = newId();
      const userId = newId();
      await c.var.db.batch([
        c.var.db.insert(accounts).values({ id: accountId, name: link.accountName ?? "My team", createdAt: now }),
        c.var.db.insert(users).values({ id: userId, accountId, email: link.email, role: "owner", createdAt: now }),
        auditInsert(c, {
          accountId,
          action: "account.created",
          actor: { userId, email: link.email },
          target: { type: "account", id: accountId },
          details: { name: link.accountName },
        }),
      ]);
      await startSession(c, { id: userId, accountId });
      return c.json({ ok: true, accountId });
    }

    const member = (await activeMemberships(c, link.email)).find((m) => m.role !== "contributor");
    if (!member) throw forbidden("This address no longer has access to a Postroom account");
    await startSession(c, { id: member.id, accountId: member.accountId });
    await auditInsert(c, {
      accountId: member.accountId,
      action: "auth.signin",
      actor: { userId: member.id, email: link.email },
      details: { method: "magic_link" },
    });
    return c.json({ ok: true, accountId: member.accountId });
  })
  .post("/accept-invite", validate("json", acceptInviteRequest), async (c) => {
    const tokenHash = await sha256Hex(c.req.valid("json").token);
    const now = Date.now();
    const invite = await c.var.db
      .update(invites)
      .set({ acceptedAt: now })
      .where(
        and(
          eq(invites.tokenHash, tokenHash),
          isNull(invites.acceptedAt),
          isNull(invites.revokedAt),
          gt(invites.expiresAt, now),
        ),
      )
      .returning()
      .get();
    if (!invite) {
      const known = await c.var.db.select().from(invites).where(eq(invites.tokenHash, tokenHash)).get();
      if (!known) throw invalidLink();
      if (known.acceptedAt !== null)
        throw new ApiError(400, "link_used", "This invitation has already been accepted. Sign in instead.");
      if (known.revokedAt !== null)
        throw new ApiError(400, "invite_revoked", "This invitation was withdrawn. Ask the person who invited you.");
      throw new ApiError(
        400,
        "link_expired",
        "This invitation has expired. Ask the person who invited you to resend it.",
      );
    }
    const existing = await c.var.db
      .select()
      .from(users)
      .where(and(eq(users.accountId, invite.accountId), eq(users.email, invite.email)))
      .get();
    let userId: string;
    if (!existing) {
      userId = newId();
      await c.var.db
        .insert(users)
        .values({ id: userId, accountId: invite.accountId, email: invite.email, role: invite.role, createdAt: now });
    } else {
      userId = existing.id;
      // A removed user comes back, and a contributor gains app access, with the invited role; an
      // active member keeps the role they already have.
      if (existing.removedAt !== null || existing.role === "contributor") {
        await c.var.db
          .update(users)
          .set({ role: invite.role, removedAt: null })
          .where(and(eq(users.accountId, invite.accountId), eq(users.id, userId)));
      }
    }
    await auditInsert(c, {
      accountId: invite.accountId,
      action: "invite.accepted",
      actor: { userId, email: invite.email },
      target: { type: "invite", id: invite.id },
      details: { role: invite.role },
    });
    await startSession(c, { id: userId, accountId: invite.accountId });
    return c.json({ ok: true, accountId: invite.accountId });
  })
  .post("/signout", requireSession, async (c) => {
    const { accountId, userId, email, sessionIdHash } = c.var.principal;
    await c.var.db.batch([
      c.var.db
        .update(sessions)
        .set({ revokedAt: Date.now() })
        .where(and(eq(sessions.accountId, accountId), eq(sessions.idHash, sessionIdHash))),
      auditInsert(c, { accountId, action: "auth.signout", actor: { userId, email } }),
    ]);
    clearSessionCookie(c);
    return c.json({ ok: true });
  })
  .post("/signout-all", requireSession, async (c) => {
    const { accountId, userId, email } = c.var.principal;
    await revokeUserSessions(c, accountId, userId);
    await auditInsert(c, { accountId, action: "auth.signout_all", actor: { userId, email } });
    clearSessionCookie(c);
    return c.json({ ok: true });
  })
  .get("/sessions", requireSession, async (c) => {
    const { accountId, userId, sessionIdHash } = c.var.principal;
    const rows = await c.var.db
      .select()
      .from(sessions)
      .where(
        and(
          eq(sessions.accountId, accountId),
          eq(sessions.userId, userId),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, Date.now()),
        ),
      )
      .orderBy(desc(sessions.lastSeenAt))
      .all();
    const list: SessionView[] = rows.map((s) => ({
      // The first 16 hex digits of the hash name a session without being usable as one.
      id: s.idHash.slice(0, 16),
      current: s.idHash === sessionIdHash,
      createdAt: s.createdAt,
      lastSeenAt: s.lastSeenAt,
      ip: s.ip,
      userAgent: s.userAgent,
    }));
    return c.json({ sessions: list });
  })
  .post("/switch", requireSession, validate("json", switchAccountRequest), async (c) => {
    const { accountId } = c.req.valid("json");
    const { email, sessionIdHash, accountId: currentAccount } = c.var.principal;
    const target = await c.var.db
      .select({ id: users.id, accountId: users.accountId })
      .from(users)
      .where(
        and(
          eq(users.accountId, accountId),
          eq(users.email, email),
          isNull(users.removedAt),
          ne(users.role, "contributor"),
        ),
      )
      .get();
    if (!target) throw new ApiError(404, "not_found", "Account not found");
    await c.var.db
      .update(sessions)
      .set({ revokedAt: Date.now() })
      .where(and(eq(sessions.accountId, currentAccount), eq(sessions.idHash, sessionIdHash)));
    await startSession(c, target);
    await auditInsert(c, {
      accountId: target.accountId,
      action: "auth.switched_account",
      actor: { userId: target.id, email },
      details: { from: currentAccount },
    });
    return c.json({ ok: true, accountId: target.accountId });
  });
