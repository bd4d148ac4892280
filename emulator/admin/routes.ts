import { type Context, Hono } from "hono";
import { z } from "zod";
import { type DeepPartial, type Tunables } from "../config";
import { type AppEnv } from "../context";
import { DEMO_ACCOUNTS } from "../world/accounts";
import { AdminError, type Controls } from "./controls";
import { FAULT_TARGETS } from "./faults";
import { loopbackOnly } from "./loopback";

const target = z.enum(["google-oauth", "gmail", "microsoft-identity", "graph", "all"]) satisfies z.ZodType<
  (typeof FAULT_TARGETS)[number] | "all"
>;
const account = z.object({ account: z.string().min(3) });
const selector = z.object({ id: z.string().optional(), account: z.string().optional() });
const channel = z.enum(["gmail", "graph"]);

const schemas = {
  deliver: z.object({
    to: z.union([z.string(), z.array(z.string()).min(1)]),
    from: z.string().optional(),
    cc: z.union([z.string(), z.array(z.string())]).optional(),
    subject: z.string().optional(),
    text: z.string().optional(),
    html: z.string().optional(),
    raw: z.string().optional(),
    replyToThread: z.string().optional(),
    receivedAt: z.number().int().positive().optional(),
  }),
  advance: z.object({ ms: z.number().nonnegative() }),
  autoConsent: z.object({ account: z.string(), scopes: z.array(z.string()).optional(), deny: z.boolean().optional() }),
  googleFault: account.extend({ fault: z.enum(["revoke", "password-change", "expire", "idle", "expire-access"]) }),
  microsoftFault: account.extend({
    fault: z.enum([
      "revoke",
      "password-change-user",
      "password-reset-admin",
      "require-mfa",
      "block-conditional-access",
      "revoke-consent",
      "expire",
      "expire-access",
    ]),
    error: z.enum(["invalid_grant", "interaction_required", "consent_required"]).optional(),
    scope: z.string().optional(),
  }),
  removeScope: account.extend({ scope: z.string() }),
  pubsubRoute: z.object({ topicName: z.string(), pushEndpoint: z.string().url(), audience: z.string().optional() }),
  pushEndpoint: z.object({ url: z.string().url().optional(), audience: z.string().optional() }),
  expireDelta: account.extend({ mode: z.enum(["expired", "reset"]).optional() }),
  lifecycle: selector.extend({ event: z.enum(["reauthorizationRequired", "subscriptionRemoved", "missed"]) }),
  errors: z.object({
    target,
    /** A 5xx, or 429: the provider's own throttling answer with Retry-After: 1. */
    status: z.union([z.literal(429), z.number().int().min(500).max(599)]).optional(),
    count: z.number().int().positive().optional(),
    pathIncludes: z.string().optional(),
  }),
  latency: z.object({
    target,
    ms: z.number().int().nonnegative(),
    count: z.number().int().positive().nullable().optional(),
    pathIncludes: z.string().optional(),
  }),
  push: z.object({
    channel,
    drop: z.number().int().nonnegative().optional(),
    duplicate: z.number().int().nonnegative().optional(),
    delay: z.object({ ms: z.number().int().nonnegative(), count: z.number().int().nonnegative() }).optional(),
    reorder: z.number().int().nonnegative().optional(),
  }),
};

async function body<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let json: unknown = {};
  const text = await c.req.text();
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new AdminError(400, "body must be JSON");
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new AdminError(400, parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  return parsed.data;
}

/** `/__emulator/...`: fault switches, mail delivery, clock and settings. Loopback callers only. */
export function adminRoutes(controls: Controls, info: () => Record<string, unknown>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", loopbackOnly);
  app.onError((err, c) => {
    if (err instanceof AdminError) return c.json({ error: err.message }, err.status);
    return c.json({ error: err instanceof Error ? err.message : String(err) }, 400);
  });

  app.get("/", (c) => c.json(info()));
  app.get("/accounts", (c) => c.json({ accounts: DEMO_ACCOUNTS }));

  app.post("/deliver", async (c) => c.json(controls.deliver(await body(c, schemas.deliver)), 201));
  // `?from=<n>` answers only the messages from the n-th on (the whole outbox can be megabytes).
  app.get("/outbox", (c) => {
    const all = controls.outbox();
    const from = Math.max(0, Number(c.req.query("from") ?? 0) || 0);
    return c.json({ total: all.length, messages: all.slice(from) });
  });

  app.get("/clock", (c) => c.json({ now: controls.now() }));
  app.post("/clock/advance", async (c) => c.json({ now: controls.advanceClock((await body(c, schemas.advance)).ms) }));

  app.get("/settings", (c) => c.json(controls.settings()));
  app.patch("/settings", async (c) => {
    const patch = (await body(c, z.record(z.string(), z.record(z.string(), z.unknown())))) as DeepPartial<Tunables>;
    return c.json(controls.configure(patch));
  });
  app.post("/quotas/reset", (c) => {
    controls.resetQuotas();
    return c.body(null, 204);
  });

  app.put("/oauth/:provider/auto-consent", async (c) => {
    const provider = channelProvider(c.req.param("provider"));
    controls.setAutoConsent(provider, await body(c, schemas.autoConsent));
    return c.body(null, 204);
  });
  app.delete("/oauth/:provider/auto-consent", (c) => {
    controls.setAutoConsent(channelProvider(c.req.param("provider")), null);
    return c.body(null, 204);
  });
  app.post("/oauth/google/tokens", async (c) => {
    const b = await body(c, schemas.googleFault);
    return c.json({ affected: controls.googleTokenFault(b.account, b.fault) });
  });
  app.post("/oauth/google/remove-scope", async (c) => {
    const b = await body(c, schemas.removeScope);
    controls.removeGoogleScope(b.account, b.scope);
    return c.body(null, 204);
  });
  app.post("/oauth/microsoft/tokens", async (c) => {
    const b = await body(c, schemas.microsoftFault);
    return c.json({ affected: controls.microsoftTokenFault(b.account, b.fault, { error: b.error, scope: b.scope }) });
  });

  app.post("/gmail/expire-history", async (c) =>
    c.json({ historyFloor: controls.expireGmailHistory((await body(c, account)).account) }),
  );
  app.post("/gmail/delete-message", async (c) => {
    const b = await body(c, account.extend({ id: z.string().min(1) }));
    return c.json({ deleted: controls.deleteGmailMessage(b.account, b.id) });
  });
  app.post("/gmail/lapse-watch", async (c) =>
    c.json({ lapsed: controls.lapseGmailWatch((await body(c, account)).account) }),
  );
  app.get("/gmail/push-dropped", (c) => c.json({ dropped: controls.gmailRateLimited() }));
  app.put("/pubsub/route", async (c) => {
    const b = await body(c, schemas.pubsubRoute);
    controls.routePubSubTopic(b.topicName, b.pushEndpoint, b.audience);
    return c.body(null, 204);
  });
  app.put("/pubsub/endpoint", async (c) => {
    const b = await body(c, schemas.pushEndpoint);
    controls.setGmailPushEndpoint(b.url, b.audience);
    return c.body(null, 204);
  });

  app.post("/graph/expire-delta", async (c) => {
    const b = await body(c, schemas.expireDelta);
    controls.expireGraphDelta(b.account, b.mode);
    return c.body(null, 204);
  });
  app.post("/graph/replay-delta", async (c) => {
    const b = await body(c, account.extend({ changes: z.number().int().positive() }));
    controls.replayGraphDelta(b.account, b.changes);
    return c.body(null, 204);
  });
  app.get("/graph/subscriptions", (c) => c.json({ subscriptions: controls.graphSubscriptions() }));
  app.get("/oauth/issued", (c) => c.json(controls.issuedSecrets()));
  app.post("/graph/lapse-subscription", async (c) =>
    c.json({ lapsed: controls.lapseGraphSubscription(await body(c, selector)) }),
  );
  app.post("/graph/lifecycle", async (c) => {
    const b = await body(c, schemas.lifecycle);
    return c.json({ sent: controls.graphLifecycle(b, b.event) });
  });

  app.post("/faults/errors", async (c) => {
    controls.errorBurst(await body(c, schemas.errors));
    return c.body(null, 204);
  });
  app.post("/faults/latency", async (c) => {
    controls.slowResponses(await body(c, schemas.latency));
    return c.body(null, 204);
  });
  app.post("/faults/push", async (c) => {
    const b = await body(c, schemas.push);
    const { channel: ch, ...faults } = b;
    return c.json(controls.pushFaults(ch, faults));
  });
  app.post("/faults/push/:channel/flush", (c) => {
    controls.flushHeldPushes(channel.parse(c.req.param("channel")));
    return c.body(null, 204);
  });
  app.delete("/faults", (c) => {
    controls.clearFaults();
    return c.body(null, 204);
  });
  app.get("/push/log", (c) => {
    const ch = c.req.query("channel");
    return c.json({ attempts: controls.pushLog(ch ? channel.parse(ch) : undefined) });
  });

  return app;
}

function channelProvider(value: string): "google" | "microsoft" {
  if (value === "google" || value === "microsoft") return value;
  throw new AdminError(404, `unknown provider ${value}`);
}
