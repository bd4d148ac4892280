/**
 * POST /webhooks/microsoft — Microsoft Graph change and lifecycle notifications, and Graph's
 * validation handshake for both. Subscriptions are made with the inbox in the notification URL
 * (`?inbox=`), so a notification goes straight to that mailbox's DO; one made before that names only
 * its subscription, and the mailbox is found by subscription id in D1. Either way the DO checks the
 * subscription id and the clientState (which only it holds) and treats the notification as a hint to
 * read its deltas. Answers fast: Graph counts any reply slower
 * than about 3 s against the endpoint, and the DO does the work after the reply.
 */
import { and, eq, inArray, isNull } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { idSchema } from "../contracts";
import { mailboxes } from "../db/schema";
import { ApiError } from "../errors";
import { log } from "../lib/log";

/** Graph's tokens are about a hundred characters; anything far longer is not Graph. */
const MAX_VALIDATION_TOKEN = 1_024;

const notificationSchema = z.object({
  subscriptionId: z.string().min(1).max(256),
  // Graph sends null when a subscription was made without one; ours always have one.
  clientState: z.string().max(256).nullable().optional(),
  changeType: z.string().max(64).optional(),
  lifecycleEvent: z.string().min(1).max(64).optional(),
  resource: z.string().max(2_048).optional(),
  tenantId: z.string().max(128).nullable().optional(),
});

const batchSchema = z.object({ value: z.array(notificationSchema).min(1).max(1_000) });

export const microsoftWebhookRoutes = new Hono<AppEnv>().post("/", async (c) => {
  const validationToken = c.req.query("validationToken");
  if (validationToken !== undefined) {
    if (validationToken.length === 0 || validationToken.length > MAX_VALIDATION_TOKEN) {
      throw new ApiError(400, "bad_request", "The validation token is missing or too long");
    }
    // Echoed byte for byte, as plain text that no browser will sniff into HTML.
    return c.body(validationToken, 200, {
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
    });
  }

  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ApiError(400, "bad_request", "The notification body is not JSON");
  }
  const parsed = batchSchema.safeParse(body);
  if (!parsed.success) throw new ApiError(400, "bad_request", "The body is not a batch of Graph notifications");

  // One DO call per distinct (subscription, clientState, event): Graph batches and repeats freely.
  const distinct = new Map<string, z.infer<typeof notificationSchema>>();
  for (const n of parsed.data.value) {
    distinct.set(JSON.stringify([n.subscriptionId, n.clientState ?? null, n.lifecycleEvent ?? null]), n);
  }
  const mailboxBySubscription = await mailboxesFor(c, parsed.data.value);

  const outcomes = await Promise.allSettled(
    [...distinct.values()].map(async (n) => {
      const mailboxId = mailboxBySubscription.get(n.subscriptionId);
      // Unknown subscription: someone else's, or one we replaced. Nothing to do, and nothing to say.
      if (!mailboxId) return;
      const r = await c.env.MAILBOX.getByName(mailboxId).graphNotification({
        subscriptionId: n.subscriptionId,
        clientState: n.clientState ?? null,
        lifecycleEvent: n.lifecycleEvent ?? null,
      });
      if (!r.ok) log.warn("webhook_microsoft_refused", { mailboxId, reason: r.error });
    }),
  );
  if (outcomes.some((o) => o.status === "rejected")) {
    // A mailbox could not take its hint: let Graph deliver the batch again (every hint is idempotent).
    log.error("webhook_microsoft_failed", {
      errors: outcomes.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : [])),
    });
    throw new ApiError(503, "unavailable", "Try again later");
  }
  return c.body(null, 202);
});

/** Which mailbox each notification is for: the one the URL names, or else by subscription id in D1. */
async function mailboxesFor(
  c: Context<AppEnv>,
  notifications: z.infer<typeof notificationSchema>[],
): Promise<Map<string, string>> {
  const ids = [...new Set(notifications.map((n) => n.subscriptionId))];
  const named = idSchema.safeParse(c.req.query("inbox"));
  if (named.success) return new Map(ids.map((id) => [id, named.data]));
  const owners = await c.var.db
    .select({ id: mailboxes.id, subscriptionId: mailboxes.graphSubscriptionId })
    .from(mailboxes)
    .where(
      and(
        eq(mailboxes.provider, "graph"),
        inArray(mailboxes.graphSubscriptionId, ids),
        isNull(mailboxes.disconnectedAt),
      ),
    )
    .all();
  return new Map(owners.map((o) => [o.subscriptionId!, o.id]));
}
