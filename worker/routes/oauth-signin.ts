/**
 * "Continue with Google / Microsoft" for people who already have a Postroom user: OIDC with PKCE
 * and a nonce, the id_token verified with jose, and the verified address matched to a user. It
 * never creates an account (sign-up stays behind the emailed link and its configuration).
 */
import { and, asc, desc, eq, isNull, ne } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { deleteCookie } from "hono/cookie";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { CONNECT_PROVIDERS, type ConnectProvider } from "../contracts";
import { users } from "../db/schema";
import { auditInsert } from "../lib/audit";
import { log } from "../lib/log";
import { spendState, startRound } from "../lib/oauth-round";
import { roundFor } from "../lib/oauth-state";
import { enforceRateLimit } from "../lib/rate-limit";
import { startSession } from "../lib/sessions";
import { validate } from "../lib/validate";
import { originCheck } from "../middleware/origin-check";
import { oauthProvider } from "./connect";

const SIGNIN_COOKIE = "__Host-postroom_signin";
const startRequest = z.object({ provider: z.enum(CONNECT_PROVIDERS) }).strict();
const callbackQuery = z.object({
  code: z.string().max(4096).optional(),
  state: z.string().max(200).optional(),
  error: z.string().max(200).optional(),
});

const signinCallbackUrl = (c: Context<AppEnv>, provider: ConnectProvider) =>
  `${c.var.config.appOrigin}/auth/signin/callback/${provider}`;

const failed = (c: Context<AppEnv>, code: string) =>
  c.redirect(`${c.var.config.appOrigin}/signin?error=${encodeURIComponent(code)}`);

export const oauthSigninStartRoutes = new Hono<AppEnv>()
  .use(originCheck)
  .post("/start", validate("json", startRequest), async (c) => {
    const { provider } = c.req.valid("json");
    const { rateLimits } = c.var.config;
    await enforceRateLimit(c, `signin:ip:${c.var.clientIp ?? "unknown"}`, rateLimits.signinPerIp, rateLimits.windowMs);
    const authorizeUrl = await startRound(
      c,
      SIGNIN_COOKIE,
      oauthProvider(c.env, provider),
      { purpose: "signin", provider },
      { redirectUri: signinCallbackUrl(c, provider), kind: "signin" },
    );
    return c.json({ authorizeUrl });
  });

/** GET /auth/signin/callback/:provider */
export const oauthSigninCallbackRoutes = new Hono<AppEnv>().get("/:provider{google|microsoft}", async (c) => {
  const provider = c.req.param("provider") as ConnectProvider;
  const q = callbackQuery.safeParse(c.req.query());
  if (!q.success || !q.data.state) {
    deleteCookie(c, SIGNIN_COOKIE, { path: "/", secure: true });
    return failed(c, "invalid_state");
  }
  const { state, code, error } = q.data;
  const spent = await spendState(c, SIGNIN_COOKIE, state, "signin");
  if (!spent || spent.provider !== provider) return failed(c, "invalid_state");
  if (error || !code) return failed(c, error === "access_denied" ? "declined" : "provider_error");

  const oauth = oauthProvider(c.env, provider);
  const round = await roundFor(c.env.TOKEN_ENCRYPTION_KEYS, state);
  const exchanged = await oauth.exchangeCode({
    code,
    codeVerifier: round.codeVerifier,
    redirectUri: signinCallbackUrl(c, provider),
  });
  if (!exchanged.ok) return failed(c, "exchange_failed");
  const idToken = exchanged.tokens.idToken;
  const verified = idToken ? await oauth.verifyIdToken(idToken, round.nonce) : null;
  if (!verified?.ok) {
    log.warn("signin_id_token_refused", { provider, reason: verified?.reason ?? "missing" });
    return failed(c, "identity_unverified");
  }
  // Google: only a verified `email`. Microsoft: `preferred_username`, whose domain the tenant must
  // have verified, never the free-form `email` claim, which a tenant admin can set to anything.
  const claims = verified.claims as { email?: string; email_verified?: boolean; preferred_username?: string };
  const email =
    provider === "google" ? (claims.email_verified === true ? claims.email : undefined) : claims.preferred_username;
  if (!email) return failed(c, "identity_unverified");

  const member = await c.var.db
    .select({ id: users.id, accountId: users.accountId })
    .from(users)
    .where(and(eq(users.email, email.toLowerCase()), isNull(users.removedAt), ne(users.role, "contributor")))
    .orderBy(desc(users.lastSignInAt), asc(users.createdAt))
    .get();
  if (!member) return failed(c, "no_account");
  await startSession(c, member);
  await auditInsert(c, {
    accountId: member.accountId,
    action: "auth.signin",
    actor: { userId: member.id, email: email.toLowerCase() },
    details: { method: provider },
  });
  return c.redirect(`${c.var.config.appOrigin}/`);
});
