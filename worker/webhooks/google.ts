/**
 * POST /webhooks/google — Gmail change notifications through Pub/Sub push. Verified before anything
 * happens; then each connected mailbox with that address gets a hint and syncs from its own cursor.
 * Answers fast: the DO does the work.
 */
import { and, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { createRemoteJWKSet } from "jose";
import type { AppEnv } from "../app-env";
import { mailboxes } from "../db/schema";
import { ApiError } from "../errors";
import { log } from "../lib/log";
import { readProviderConfig } from "../providers/config";
import { discover } from "../providers/oidc";
import { parseGmailNotice, verifyPushToken } from "./pubsub-verify";

const jwksByUri = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function googleKeys(uri: string) {
  let set = jwksByUri.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri));
    jwksByUri.set(uri, set);
  }
  return set;
}

export const googleWebhookRoutes = new Hono<AppEnv>().post("/", async (c) => {
  const issuer = readProviderConfig(c.env).google.issuer;
  const discovery = await discover(`${issuer}/.well-known/openid-configuration`);
  const auth = await verifyPushToken(c.req.header("authorization"), {
    keys: googleKeys(discovery.jwks_uri),
    // Google documents both spellings of its issuer.
    issuers: [discovery.issuer, discovery.issuer.replace(/^https:\/\//, "")],
    audience: c.env.PUBSUB_PUSH_AUDIENCE || `${c.var.config.appOrigin}/webhooks/google`,
    serviceAccount: c.env.PUBSUB_PUSH_SERVICE_ACCOUNT,
  });
  if (!auth.ok) {
    log.warn("webhook_google_refused", { reason: auth.reason });
    throw new ApiError(401, "unauthenticated", "The push request could not be verified");
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ApiError(400, "bad_request", "The push body is not JSON");
  }
  const notice = parseGmailNotice(body);
  if (!notice.ok)
    throw new ApiError(400, "bad_request", "The push body is not a Gmail notification", { reason: notice.reason });

  // The address is all a Gmail notification names; every workspace that connected it gets the hint,
  // and each MailboxDO reads only its own grant's history.
  const targets = await c.var.db
    .select({ id: mailboxes.id })
    .from(mailboxes)
    .where(
      and(
        eq(mailboxes.provider, "gmail"),
        eq(mailboxes.address, notice.emailAddress),
        isNull(mailboxes.disconnectedAt),
      ),
    )
    .all();
  await Promise.all(targets.map((t) => c.env.MAILBOX.getByName(t.id).hint(notice.historyId)));
  return c.body(null, 204);
});
