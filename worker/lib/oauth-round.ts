/**
 * One OAuth round trip, as both the connect flow and "Continue with Google/Microsoft" run it: a
 * single-use state stored as a SHA-256 and pinned to the browser by an HttpOnly cookie, PKCE and a
 * nonce derived from it, and spending the state exactly once when the provider sends the user back.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";
import { oauthStates } from "../db/schema";
import type { AuthorizeInput, OAuthProvider } from "../providers/oauth-types";
import { sha256Hex } from "./crypto";
import { newRound } from "./oauth-state";

export const OAUTH_STATE_TTL_MS = 10 * 60 * 1000;

type StateFields = Omit<typeof oauthStates.$inferInsert, "stateHash" | "createdAt" | "expiresAt">;

/** Stores the state, sets the browser cookie, and returns the provider's authorization URL. */
export async function startRound(
  c: Context<AppEnv>,
  cookieName: string,
  oauth: OAuthProvider,
  state: StateFields,
  authorize: Omit<AuthorizeInput, "state" | "codeChallenge" | "nonce">,
): Promise<string> {
  const round = await newRound(c.env.TOKEN_ENCRYPTION_KEYS);
  const now = Date.now();
  await c.var.db.insert(oauthStates).values({
    ...state,
    stateHash: await sha256Hex(round.state),
    createdAt: now,
    expiresAt: now + OAUTH_STATE_TTL_MS,
  });
  // The state is also pinned to this browser, so a state injected from elsewhere is refused.
  setCookie(c, cookieName, round.state, {
    path: "/",
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    maxAge: OAUTH_STATE_TTL_MS / 1000,
  });
  return oauth.authorizeUrl({
    ...authorize,
    state: round.state,
    codeChallenge: round.codeChallenge,
    nonce: round.nonce,
  });
}

/**
 * Spends the state the provider sent back, whatever happens next: a state is good for one callback
 * only. Null when it is unknown, spent, expired, of another purpose, or not this browser's.
 */
export async function spendState(
  c: Context<AppEnv>,
  cookieName: string,
  state: string,
  purpose: "connect" | "signin",
): Promise<typeof oauthStates.$inferSelect | null> {
  const cookieState = getCookie(c, cookieName);
  deleteCookie(c, cookieName, { path: "/", secure: true });
  const now = Date.now();
  const spent = await c.var.db
    .update(oauthStates)
    .set({ usedAt: now })
    .where(
      and(
        eq(oauthStates.stateHash, await sha256Hex(state)),
        eq(oauthStates.purpose, purpose),
        isNull(oauthStates.usedAt),
        gt(oauthStates.expiresAt, now),
      ),
    )
    .returning()
    .get();
  return spent && cookieState === state ? spent : null;
}
