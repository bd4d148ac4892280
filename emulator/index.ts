import { createAdaptorServer } from "@hono/node-server";
import { Server as HttpServer } from "node:http";
import { type AddressInfo } from "node:net";
import { Hono } from "hono";
import { type DeliverInput, Controls } from "./admin/controls";
import { faultMiddleware } from "./admin/fault-middleware";
import { Faults } from "./admin/faults";
import { adminRoutes } from "./admin/routes";
import { DEFAULT_GOOGLE_CLIENT, DEFAULT_MICROSOFT_CLIENT, type OAuthClient } from "./auth/clients";
import { AuthStore } from "./auth/store";
import { type DeepPartial, type Tunables, defaultTunables, mergeTunables } from "./config";
import { type AppEnv, type EmulatorContext } from "./context";
import { createClock } from "./core/clock";
import { createSigningKey } from "./core/keys";
import { type PersistedWorld, debounced, loadWorld, saveWorld } from "./core/persistence";
import { PushChannel } from "./core/push-channel";
import { ConcurrencyGate, RateBuckets } from "./core/quota";
import { gmailRoutes } from "./google/gmail";
import { gmailBatchRoutes } from "./google/gmail-batch";
import { GmailPush } from "./google/gmail-push";
import { googleOAuthRoutes } from "./google/oauth";
import { graphRoutes } from "./microsoft/graph";
import { GraphSubscriptions } from "./microsoft/graph-subscriptions";
import { microsoftIdentityRoutes } from "./microsoft/identity";
import { renderHome } from "./ui/home";
import { DEMO_ACCOUNTS, DEMO_IDENTITIES } from "./world/accounts";
import { defaultCorpusDir } from "./world/corpus";
import { seedDemoWorld } from "./world/demo";
import { Directory, hasMailbox } from "./world/directory";
import { PostOffice, type DeliveryResult } from "./world/post-office";
import { Mailboxes } from "./world/world";

export { DEMO_ACCOUNTS, DEMO_IDENTITIES, DEFAULT_GOOGLE_CLIENT, DEFAULT_MICROSOFT_CLIENT };
export type { DemoAccount } from "./world/accounts";
export type { OAuthClient } from "./auth/clients";
export type { Tunables, DeepPartial } from "./config";
export type { DeliverInput } from "./admin/controls";
export type { DeliveryResult } from "./world/post-office";
export { Controls } from "./admin/controls";

export interface EmulatorOptions {
  /** 0 = an ephemeral port. Default 8788. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Seed of the demo world; the same seed and clock give the same mailboxes. Default 1. */
  seed?: number;
  /** "demo" fills the mailboxes; "empty" keeps the same accounts with no mail. Default "demo". */
  world?: "demo" | "empty";
  /** JSON file that keeps the world (mail, grants, subscriptions, keys) across restarts, for dev. */
  statePath?: string;
  /** Epoch-ms clock; the admin API can move it forward on top of this. Default Date.now. */
  now?: () => number;
  /** Where Gmail watch notifications are pushed (Pub/Sub push subscription endpoint). */
  gmailPushEndpoint?: string;
  /** `aud` of push JWTs. Default: the push endpoint URL, as Pub/Sub does. */
  pushAudience?: string;
  /** `email` claim of push JWTs (the push subscription's service account). */
  pushServiceAccountEmail?: string;
  /** Issuer of Google id_tokens and push JWTs. Default `${url}/google`. */
  issuerGoogle?: string;
  /** Issuer prefix for Microsoft tokens (`${prefix}/${tenantId}/v2.0`). Default `${url}/microsoft`. */
  issuerMicrosoft?: string;
  /** Overrides of the tunable behaviour (quotas, unsettled provider facts, timeouts). */
  settings?: DeepPartial<Tunables>;
  /** Registered OAuth clients; defaults to one local client per provider. */
  clients?: { google?: OAuthClient[]; microsoft?: OAuthClient[] };
  /** MIME samples folded into the demo world; null leaves them out. Default ../shared/corpora. */
  corpusDir?: string | null;
}

export interface ProviderUrls {
  googleAuthorize: string;
  googleToken: string;
  googleRevoke: string;
  googleUserinfo: string;
  googleDiscovery: string;
  googleJwks: string;
  gmailBase: string;
  microsoftAuthority: (tenant?: string) => string;
  microsoftJwks: (tenant?: string) => string;
  graphBase: string;
  admin: string;
}

export interface RunningEmulator {
  url: string;
  port: number;
  urls: ProviderUrls;
  /** Fault switches, clock, settings and world operations (the same as the admin API). */
  admin: Controls;
  /** Delivers a message into sandbox mailboxes (then the usual push / notifications follow). */
  deliver(input: DeliverInput): DeliveryResult;
  /** Waits until no push or change notification is in flight. */
  pushIdle(): Promise<void>;
  close(): Promise<void>;
}

export function providerUrls(url: string): ProviderUrls {
  return {
    googleAuthorize: `${url}/google/o/oauth2/v2/auth`,
    googleToken: `${url}/google/token`,
    googleRevoke: `${url}/google/revoke`,
    googleUserinfo: `${url}/google/v1/userinfo`,
    googleDiscovery: `${url}/google/.well-known/openid-configuration`,
    googleJwks: `${url}/google/oauth2/v3/certs`,
    gmailBase: url,
    microsoftAuthority: (tenant = "common") => `${url}/microsoft/${tenant}`,
    microsoftJwks: (tenant = "common") => `${url}/microsoft/${tenant}/discovery/v2.0/keys`,
    graphBase: `${url}/graph`,
    admin: `${url}/__emulator`,
  };
}

function startHistoryId(seed: number, index: number): number {
  return 100_000 + ((seed * 7919 + index * 104_729) % 800_000);
}

/**
 * Node closes a keep-alive connection after 5 s idle, and a client (workerd's fetch) that sends its
 * next request on it at that moment sees "Network connection lost". Idle connections stay open until
 * the client closes them, as they do with the real providers for far longer than 5 s.
 */
export function keepIdleConnections(server: unknown): void {
  if (server instanceof HttpServer) {
    server.keepAliveTimeout = 0;
    server.headersTimeout = 0;
  }
}

/** Starts the provider emulator on loopback (or the given host) and resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? "127.0.0.1";
  const seed = options.seed ?? 1;
  const worldKind = options.world ?? "demo";
  const clock = createClock(options.now);
  const tunables = mergeTunables(defaultTunables(), options.settings);
  const persisted = options.statePath ? loadWorld(options.statePath) : undefined;

  const directory = new Directory([...DEMO_IDENTITIES]);
  const mailboxes = new Mailboxes(persisted?.mailboxes ?? { gmail: {}, graph: {}, outbox: [] }, directory);
  const save = debounced(() => {
    if (options.statePath) saveWorld(options.statePath, snapshot());
  }, 300);
  const auth = new AuthStore(persisted?.auth ?? { grants: {}, refreshTokens: {} }, () => save.schedule());
  const keys = {
    google: await createSigningKey("emulator-google-1", persisted?.keys.google),
    microsoft: await createSigningKey("emulator-microsoft-1", persisted?.keys.microsoft),
  };

  let baseUrl = "";
  const faults = new Faults();
  const retryPolicy = (section: "push" | "graph") => ({
    timeoutMs: () => (section === "push" ? tunables.push.ackTimeoutMs : tunables.graph.notificationTimeoutMs),
    initialBackoffMs: () =>
      section === "push" ? tunables.push.initialBackoffMs : tunables.graph.notificationInitialBackoffMs,
    maxBackoffMs: () => (section === "push" ? tunables.push.maxBackoffMs : tunables.graph.notificationMaxBackoffMs),
    mayRetry: (attempt: number, elapsedMs: number) =>
      section === "push" ? attempt < tunables.push.maxAttempts : elapsedMs < tunables.graph.notificationRetryWindowMs,
  });
  let gmailPush: GmailPush | undefined;
  const ctx: EmulatorContext = {
    tunables,
    clock,
    directory,
    mailboxes,
    postOffice: new PostOffice(mailboxes, clock),
    auth,
    clients: {
      google: options.clients?.google ?? [DEFAULT_GOOGLE_CLIENT],
      microsoft: options.clients?.microsoft ?? [DEFAULT_MICROSOFT_CLIENT],
    },
    keys,
    faults,
    channels: {
      gmail: new PushChannel("gmail", () => faults.push.gmail, retryPolicy("push"), clock.now),
      graph: new PushChannel("graph", () => faults.push.graph, retryPolicy("graph"), clock.now),
    },
    quotas: {
      gmail: new RateBuckets(clock.now),
      graph: new RateBuckets(clock.now),
      gmailGate: new ConcurrencyGate(),
      graphGate: new ConcurrencyGate(),
    },
    onWatch: (address) => gmailPush?.onWatch(address),
    baseUrl: () => baseUrl,
    googleIssuer: () => options.issuerGoogle ?? `${baseUrl}/google`,
    microsoftIssuerBase: () => options.issuerMicrosoft ?? `${baseUrl}/microsoft`,
    pubsub: {
      defaultEndpoint: options.gmailPushEndpoint,
      audience: options.pushAudience,
      serviceAccountEmail: options.pushServiceAccountEmail ?? "gmail-push@postroom-demo.iam.gserviceaccount.com",
      routes: new Map(),
    },
  };

  if (!persisted) {
    DEMO_IDENTITIES.filter(hasMailbox).forEach((identity, i) => mailboxes.ensure(identity, startHistoryId(seed, i)));
    if (worldKind === "demo") {
      const corpusDir = options.corpusDir === null ? undefined : (options.corpusDir ?? defaultCorpusDir());
      seedDemoWorld(mailboxes, directory, { seed, now: clock.now(), corpusDir });
    }
  }

  gmailPush = new GmailPush(ctx);
  const subscriptions = new GraphSubscriptions(ctx, persisted?.subscriptions ?? {});
  const controls = new Controls(ctx, gmailPush, subscriptions);
  const createdAt = persisted?.createdAt ?? clock.now();
  const snapshot = (): PersistedWorld => ({
    version: 1,
    seed: persisted?.seed ?? seed,
    world: persisted?.world ?? worldKind,
    createdAt,
    mailboxes: mailboxes.state,
    auth: auth.state,
    subscriptions: subscriptions.state,
    keys: { google: keys.google.privateJwk, microsoft: keys.microsoft.privateJwk },
  });
  mailboxes.events.on("changed", () => save.schedule());

  const app = new Hono<AppEnv>({ strict: false });
  app.use("*", faultMiddleware(ctx));
  app.get("/", (c) => c.html(renderHome(baseUrl, DEMO_ACCOUNTS, ctx.clients)));
  app.route("/google", googleOAuthRoutes(ctx));
  app.route("/microsoft", microsoftIdentityRoutes(ctx));
  app.route("/", gmailRoutes(ctx));
  app.route(
    "/",
    gmailBatchRoutes((req, env) => Promise.resolve(app.fetch(req, env))),
  );
  app.route("/", graphRoutes(ctx, subscriptions));
  app.route(
    "/__emulator",
    adminRoutes(controls, () => ({
      url: baseUrl,
      seed,
      world: worldKind,
      now: clock.now(),
      urls: providerUrls(baseUrl),
    })),
  );
  app.notFound((c) =>
    c.json(
      { error: { code: 404, message: `No such endpoint in the provider emulator: ${c.req.method} ${c.req.path}` } },
      404,
    ),
  );
  app.onError((err, c) => {
    console.error(
      JSON.stringify({
        level: "error",
        msg: "emulator handler failed",
        path: c.req.path,
        error: String(err instanceof Error ? (err.stack ?? err.message) : err),
      }),
    );
    return c.json({ error: { code: 500, message: "Internal error encountered.", status: "INTERNAL" } }, 500);
  });

  const server = createAdaptorServer({ fetch: app.fetch, hostname: host });
  keepIdleConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8788, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (options.statePath && !persisted) save.flush();

  let closed = false;
  return {
    url: baseUrl,
    port,
    urls: providerUrls(baseUrl),
    admin: controls,
    deliver: (input) => controls.deliver(input),
    pushIdle: () => controls.pushIdle(),
    async close() {
      if (closed) return;
      closed = true;
      ctx.channels.gmail.close();
      ctx.channels.graph.close();
      if (options.statePath) save.flush();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
    },
  };
}
