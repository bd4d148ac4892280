/**
 * The public connect flow an invitee follows: describe the invitation, start OAuth with the chosen
 * provider, and come back to the provider's own callback. Every refusal stores nothing and ends on
 * the connect result page with a code the page explains.
 */
import { and, eq, isNull } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { deleteCookie } from "hono/cookie";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import {
  describeConnectRequest,
  startConnectRequest,
  type ConnectDescription,
  type ConnectProvider,
} from "../contracts";
import { accounts, connectInvites, mailboxes, users } from "../db/schema";
import { ApiError } from "../errors";
import { auditInsert } from "../lib/audit";
import { sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import { startRound, spendState } from "../lib/oauth-round";
import { roundFor } from "../lib/oauth-state";
import { validate } from "../lib/validate";
import { originCheck } from "../middleware/origin-check";
import { readProviderConfig } from "../providers/config";
import { GmailClient } from "../providers/gmail";
import { GoogleOAuth } from "../providers/google-oauth";
import { GraphClient } from "../providers/graph";
import { MicrosoftOAuth } from "../providers/microsoft-oauth";
import { missingScopes, type OAuthProvider, type TokenSet } from "../providers/oauth-types";

export const STATE_COOKIE = "__Host-postroom_oauth";

export function oauthProvider(env: Env, id: ConnectProvider): OAuthProvider {
  const config = readProviderConfig(env);
  return id === "google" ? new GoogleOAuth(config.google) : new MicrosoftOAuth(config.microsoft);
}

export const callbackUrl = (c: Context<AppEnv>, provider: ConnectProvider) =>
  `${c.var.config.appOrigin}/auth/callback/${provider}`;

type LiveInvite = typeof connectInvites.$inferSelect;

async function liveInvite(c: Context<AppEnv>, token: string): Promise<LiveInvite> {
  const invite = await c.var.db
    .select()
    .from(connectInvites)
    .where(eq(connectInvites.tokenHash, await sha256Hex(token)))
    .get();
  if (!invite) throw new ApiError(400, "invalid_link", "This link is not valid. Ask your admin for a new one.");
  if (invite.usedAt !== null)
    throw new ApiError(400, "link_used", "This link was already used to connect the mailbox.");
  if (invite.revokedAt !== null)
    throw new ApiError(400, "invite_revoked", "This invitation was withdrawn. Ask your admin.");
  if (invite.expiresAt <= Date.now())
    throw new ApiError(400, "link_expired", "This link has expired. Ask your admin to resend it.");
  return invite;
}

/** Where the browser lands after the provider: the connect page explains each outcome code. */
const resultUrl = (c: Context<AppEnv>, outcome: Record<string, string>) =>
  `${c.var.config.appOrigin}/connect/result?${new URLSearchParams(outcome).toString()}`;

export const connectRoutes = new Hono<AppEnv>()
  .use(originCheck)
  .post("/describe", validate("json", describeConnectRequest), async (c) => {
    const invite = await liveInvite(c, c.req.valid("json").token);
    const account = await c.var.db.select().from(accounts).where(eq(accounts.id, invite.accountId)).get();
    const inviter = await c.var.db
      .select({ name: users.name, email: users.email })
      .from(users)
      .where(and(eq(users.accountId, invite.accountId), eq(users.id, invite.invitedBy)))
      .get();
    const accountName = account?.name ?? "Postroom";
    // A reconnect link may go to a delegate: the page names the mailbox being repaired, and who signs in.
    const address = (await mailboxAddress(c, invite)) ?? invite.email;
    const description: ConnectDescription = {
      address,
      signInAs: invite.email,
      kind: invite.kind,
      accountName,
      invitedBy: inviter ? inviter.name || inviter.email : "An admin",
      reconnect: invite.mailboxId !== null,
      audience:
        invite.kind === "shared"
          ? `Everyone on ${accountName} who is given access to this inbox will read its mail and send as ${address}.`
          : `Only people an admin of ${accountName} gives access to this inbox will read its mail and send as ${address}.`,
    };
    return c.json(description);
  })
  .post("/start", validate("json", startConnectRequest), async (c) => {
    const { token, provider, acknowledgeShared } = c.req.valid("json");
    const invite = await liveInvite(c, token);
    if (invite.kind === "shared" && !acknowledgeShared && invite.mailboxId === null) {
      throw new ApiError(
        400,
        "acknowledgement_required",
        `Confirm that everyone with access on the account will be able to read ${invite.email} and send as it`,
      );
    }
    const authorizeUrl = await startRound(
      c,
      STATE_COOKIE,
      oauthProvider(c.env, provider),
      {
        purpose: "connect",
        provider,
        accountId: invite.accountId,
        connectInviteId: invite.id,
        acknowledgedShared: acknowledgeShared,
      },
      { redirectUri: callbackUrl(c, provider), loginHint: invite.email, kind: invite.kind },
    );
    return c.json({ authorizeUrl });
  });

const callbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(200).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});

export interface Refusal {
  outcome: string;
  detail?: string;
  /** The provider's id of the account that signed in, once its id_token was verified. */
  subject?: string;
}

/** GET /auth/callback/:provider — the exact redirect URI registered with each provider. */
export const callbackRoutes = new Hono<AppEnv>().get("/:provider{google|microsoft}", async (c) => {
  const provider = c.req.param("provider") as ConnectProvider;
  const q = callbackQuery.safeParse(c.req.query());
  if (!q.success || !q.data.state) {
    deleteCookie(c, STATE_COOKIE, { path: "/", secure: true });
    return c.redirect(resultUrl(c, { outcome: "invalid_callback" }));
  }
  const { code, state, error } = q.data;
  const spent = await spendState(c, STATE_COOKIE, state, "connect");
  if (!spent) return c.redirect(resultUrl(c, { outcome: "invalid_state" }));
  if (spent.provider !== provider) return c.redirect(resultUrl(c, { outcome: "wrong_provider" }));
  if (!spent.connectInviteId || !spent.accountId) {
    return c.redirect(resultUrl(c, { outcome: "invalid_state" }));
  }
  if (error || !code) {
    return c.redirect(resultUrl(c, { outcome: error === "access_denied" ? "declined" : "provider_error" }));
  }

  const invite = await c.var.db
    .select()
    .from(connectInvites)
    .where(and(eq(connectInvites.accountId, spent.accountId), eq(connectInvites.id, spent.connectInviteId)))
    .get();
  if (!invite || invite.usedAt !== null || invite.revokedAt !== null || invite.expiresAt <= Date.now()) {
    return c.redirect(resultUrl(c, { outcome: "invite_unusable" }));
  }

  const oauth = oauthProvider(c.env, provider);
  const round = await roundFor(c.env.TOKEN_ENCRYPTION_KEYS, state);
  // Never retried: an authorization code is single use, and a retry could only fail or double-spend.
  const exchanged = await oauth.exchangeCode({
    code,
    codeVerifier: round.codeVerifier,
    redirectUri: callbackUrl(c, provider),
  });
  if (!exchanged.ok) {
    log.warn("connect_exchange_failed", { provider, providerCode: exchanged.providerCode });
    return c.redirect(resultUrl(c, { outcome: "exchange_failed" }));
  }
  const tokens = exchanged.tokens;
  const verdict = await checkGrant(c, oauth, invite, tokens, round.nonce);
  if ("outcome" in verdict) {
    // Nothing is kept. The fresh grant goes back to the provider only when no connected mailbox
    // runs on the same account's grant: revoking at Google ends every token of that grant.
    if (verdict.subject && !(await grantInUse(c, provider, verdict.subject))) {
      await oauth.revoke(tokens.refreshToken ?? tokens.accessToken).catch(() => undefined);
    }
    return c.redirect(
      resultUrl(c, { outcome: verdict.outcome, ...(verdict.detail ? { detail: verdict.detail } : {}) }),
    );
  }
  const mailboxId = await storeConnection(c, invite, provider, tokens, verdict);
  return c.redirect(
    resultUrl(c, { outcome: invite.mailboxId ? "reconnected" : "connected", address: invite.email, inbox: mailboxId }),
  );
});

interface Identity {
  grantEmail: string;
  grantSubject: string;
}

async function checkGrant(
  c: Context<AppEnv>,
  oauth: OAuthProvider,
  invite: LiveInvite,
  tokens: TokenSet,
  nonce: string,
): Promise<Identity | Refusal> {
  if (!tokens.idToken) return { outcome: "identity_unverified" };
  const id = await oauth.verifyIdToken(tokens.idToken, nonce);
  if (!id.ok) {
    log.warn("connect_id_token_refused", { provider: oauth.id, reason: id.reason });
    return { outcome: "identity_unverified" };
  }
  const claims = id.claims as { sub?: string; oid?: string };
  const subject = oauth.id === "google" ? claims.sub : claims.oid;
  const refuse = (outcome: string, detail?: string): Refusal => ({
    outcome,
    ...(detail ? { detail } : {}),
    ...(subject ? { subject } : {}),
  });
  const missing = missingScopes(oauth.requiredScopes(invite.kind), tokens.scopes);
  if (missing.length > 0) return refuse("missing_scope", missing.join(" "));
  if (!tokens.refreshToken) return refuse("no_offline_access");

  const apis = readProviderConfig(c.env);
  const target = (await mailboxAddress(c, invite)) ?? invite.email;
  if (oauth.id === "google") {
    const profile = await new GmailClient(apis.google.gmailApiBase, tokens.accessToken).getProfile();
    if (!profile.ok) return refuse("mailbox_unreachable");
    const address = profile.value.emailAddress.toLowerCase();
    if (address !== target) return refuse("wrong_account", address);
    return { grantEmail: address, grantSubject: claims.sub ?? "" };
  }
  const graph = new GraphClient(apis.microsoft.graphApiBase, tokens.accessToken);
  const me = await graph.me();
  if (!me.ok) return refuse("mailbox_unreachable");
  if (me.address === target) return { grantEmail: me.address, grantSubject: claims.oid ?? me.id };
  // A Microsoft 365 shared mailbox has no sign-in of its own: a delegate with Full Access connects it.
  if (invite.kind === "shared" && (await graph.canReadMailbox(target))) {
    return { grantEmail: me.address, grantSubject: claims.oid ?? me.id };
  }
  return refuse(invite.kind === "shared" ? "no_delegate_access" : "wrong_account", me.address);
}

/**
 * Whether any connected mailbox (in any account) runs on this provider account's grant. Deliberately
 * not scoped to one tenant: it answers yes or no and returns nothing, and it protects every tenant's
 * connection from a revoke that would end the shared grant.
 */
export async function grantInUse(
  c: Context<AppEnv>,
  provider: ConnectProvider,
  subject: string,
  exceptMailboxId?: string,
) {
  const rows = await c.var.db
    .select({ id: mailboxes.id })
    .from(mailboxes)
    .where(
      and(
        eq(mailboxes.provider, provider === "google" ? "gmail" : "graph"),
        eq(mailboxes.grantSubject, subject),
        isNull(mailboxes.disconnectedAt),
      ),
    )
    .limit(2)
    .all();
  return rows.some((r) => r.id !== exceptMailboxId);
}

/** For a reconnect, the address of the mailbox being repaired (which may differ from the delegate invited). */
async function mailboxAddress(c: Context<AppEnv>, invite: LiveInvite): Promise<string | null> {
  if (!invite.mailboxId) return null;
  const m = await c.var.db
    .select({ address: mailboxes.address })
    .from(mailboxes)
    .where(and(eq(mailboxes.accountId, invite.accountId), eq(mailboxes.id, invite.mailboxId)))
    .get();
  return m?.address ?? null;
}

async function storeConnection(
  c: Context<AppEnv>,
  invite: LiveInvite,
  provider: ConnectProvider,
  tokens: TokenSet,
  identity: Identity,
): Promise<string> {
  const now = Date.now();
  const reconnecting = invite.mailboxId !== null;
  const mailboxId = invite.mailboxId ?? newId();
  const address = (await mailboxAddress(c, invite)) ?? invite.email;
  const db = c.var.db;
  const existingUser = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.accountId, invite.accountId), eq(users.email, identity.grantEmail)))
    .get();
  const actor = { userId: existingUser?.id ?? "", email: identity.grantEmail };

  if (!reconnecting) {
    await db.batch([
      db.insert(mailboxes).values({
        id: mailboxId,
        accountId: invite.accountId,
        address,
        displayName: "",
        provider: provider === "google" ? "gmail" : "graph",
        kind: invite.kind,
        createdAt: now,
        health: "good",
        healthChangedAt: now,
        grantEmail: identity.grantEmail,
        grantSubject: identity.grantSubject,
        connectedAt: now,
        windowDays: invite.windowDays,
        syncScope: invite.syncScope,
      }),
      // The person who connected becomes a contributor (no app access) unless already a user.
      db
        .insert(users)
        .values({
          id: newId(),
          accountId: invite.accountId,
          email: identity.grantEmail,
          role: "contributor",
          createdAt: now,
        })
        .onConflictDoNothing(),
    ]);
  }
  const stub = c.env.MAILBOX.getByName(mailboxId);
  const stored = await stub.storeGrant({
    accountId: invite.accountId,
    mailboxId,
    provider,
    address,
    grantEmail: identity.grantEmail,
    kind: invite.kind,
    refreshToken: tokens.refreshToken!,
    accessToken: tokens.accessToken,
    accessExpiresAt: tokens.expiresAt,
    scopes: tokens.scopes,
    windowDays: invite.windowDays === 0 ? null : invite.windowDays,
    scope: invite.syncScope,
  });
  if (!stored.ok) throw new Error("mailbox object bound to another mailbox");
  await db.batch([
    db
      .update(mailboxes)
      .set({
        grantEmail: identity.grantEmail,
        grantSubject: identity.grantSubject,
        connectedAt: now,
        disconnectedAt: null,
      })
      .where(and(eq(mailboxes.accountId, invite.accountId), eq(mailboxes.id, mailboxId))),
    db
      .update(connectInvites)
      .set({ usedAt: now })
      .where(and(eq(connectInvites.accountId, invite.accountId), eq(connectInvites.id, invite.id))),
    auditInsert(c, {
      accountId: invite.accountId,
      action: reconnecting ? "connection.reconnected" : "connection.connected",
      actor,
      target: { type: "inbox", id: mailboxId },
      details: { address, provider, kind: invite.kind, grantEmail: identity.grantEmail },
    }),
  ]);
  return mailboxId;
}
