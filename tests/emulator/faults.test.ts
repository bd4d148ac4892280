import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isLoopbackAddress } from "../../emulator/admin/loopback";
import { DEFAULT_GOOGLE_CLIENT, type RunningEmulator } from "../../emulator/index";
import { type ApiClient, gmailClient, graphClient } from "./support/clients";
import { FIXED_NOW, json, startTestEmulator } from "./support/emulator";
import {
  GMAIL_SCOPES,
  REDIRECT_URI,
  googleSignIn,
  googleToken,
  locationParams,
  microsoftSignIn,
  microsoftToken,
} from "./support/oauth";
import { PushSink } from "./support/push-sink";

const SALES = "sales@demo.test";
const SAM = "sam@demo-ms.test";
const SUPPORT = "support@demo-ms.test";
const TOPIC = "projects/postroom-demo/topics/gmail";

let emulator: RunningEmulator;
let sink: PushSink;
let gmail: ApiClient;
let graph: ApiClient;

/** Calls the admin API over HTTP, as the dev script and other processes do. */
async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${emulator.url}/__emulator${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function deliver(subject: string, extra: Record<string, unknown> = {}) {
  emulator.admin.advanceClock(1500);
  return admin("POST", "/deliver", {
    to: SALES,
    from: "Customer <customer@example.com>",
    subject,
    text: "x",
    ...extra,
  });
}

async function historyIdsPushed(): Promise<string[]> {
  await emulator.pushIdle();
  return sink.matching("/push").map((r) => {
    const env = JSON.parse(r.body) as { message: { data: string } };
    return String((JSON.parse(Buffer.from(env.message.data, "base64").toString()) as { historyId: string }).historyId);
  });
}

beforeAll(async () => {
  sink = await new PushSink().start();
  emulator = await startTestEmulator({
    now: () => FIXED_NOW,
    gmailPushEndpoint: `${sink.url}/push`,
    settings: {
      google: { accessTokenTtlSeconds: 90 * 86_400 },
      microsoft: { accessTokenTtlSeconds: 90 * 86_400 },
      push: { initialBackoffMs: 20, maxBackoffMs: 50 },
      graph: { notificationInitialBackoffMs: 20, notificationMaxBackoffMs: 50, validationTimeoutMs: 1000 },
    },
  });
  gmail = await gmailClient(emulator, SALES, [GMAIL_SCOPES.modify]);
  graph = await graphClient(emulator, SAM, ["Mail.ReadWrite", "Mail.ReadWrite.Shared"]);
});
afterAll(async () => {
  await emulator.close();
  await sink.close();
});
beforeEach(async () => {
  await emulator.pushIdle();
  expect((await admin("DELETE", "/faults")).status).toBe(204);
  sink.echoValidation(() => ({ status: 204 }));
  sink.clear();
});

describe("admin API access", () => {
  it("should accept loopback addresses only", () => {
    expect(isLoopbackAddress("127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("::1")).toBe(true);
    expect(isLoopbackAddress("::ffff:127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("10.0.0.5")).toBe(false);
    expect(isLoopbackAddress("::ffff:192.168.1.2")).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  it.skipIf(!external)("should refuse admin calls arriving on a non-loopback interface", async () => {
    const open = await startTestEmulator({ host: "0.0.0.0" });
    try {
      const outside = await fetch(`http://${external}:${open.port}/__emulator/`, {
        headers: { "x-forwarded-for": "127.0.0.1" },
      });
      expect(outside.status).toBe(403);
      expect((await fetch(`http://${external}:${open.port}/google/.well-known/openid-configuration`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${open.port}/__emulator/`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
  if (!external)
    it("needs a non-loopback interface to check remote refusal", () =>
      console.warn("skipped: no external IPv4 interface"));

  it("should validate admin bodies", async () => {
    const res = await admin("POST", "/faults/errors", { target: "nowhere" });
    expect(res.status).toBe(400);
    expect((await json(res))["error"]).toMatch(/target/);
    expect((await admin("PATCH", "/settings", { gmail: { noSuchSetting: 1 } })).status).toBe(400);
  });
});

describe("5xx bursts and slow responses", () => {
  it("should fail the next N Gmail calls with Google's 503 body", async () => {
    await admin("POST", "/faults/errors", { target: "gmail", status: 503, count: 2 });
    const a = await gmail.get<{ error: { status: string; errors: Array<{ reason: string }> } }>("/profile");
    expect(a.status).toBe(503);
    expect(a.body.error.status).toBe("UNAVAILABLE");
    expect(a.body.error.errors[0]!.reason).toBe("backendError");
    expect((await gmail.get("/profile")).status).toBe(503);
    expect((await gmail.get("/profile")).status).toBe(200);
  });

  it("should fail Graph, Google OAuth and Microsoft identity calls with their own error bodies", async () => {
    await admin("POST", "/faults/errors", { target: "graph", status: 500 });
    const g = await graph.get<{ error: { code: string } }>("/me/messages");
    expect(g.status).toBe(500);
    expect(g.body.error.code).toBe("InternalServerError");

    await admin("POST", "/faults/errors", { target: "google-oauth", status: 502, pathIncludes: "/token" });
    expect((await fetch(emulator.urls.googleDiscovery)).status).toBe(200);
    expect((await googleToken(emulator, { grant_type: "refresh_token", refresh_token: "x" })).status).toBe(502);

    await admin("POST", "/faults/errors", { target: "microsoft-identity", status: 503 });
    const ms = await json(await microsoftToken(emulator, { grant_type: "refresh_token", refresh_token: "x" }));
    expect(ms["error"]).toBe("temporarily_unavailable");
    expect(ms["error_codes"]).toEqual([90033]);
  });

  it("should throttle Gmail and Graph with 429 and Retry-After in each provider's shape", async () => {
    await admin("POST", "/faults/errors", { target: "gmail", status: 429, count: 1 });
    const a = await gmail.get<{ error: { status: string; errors: Array<{ reason: string }> } }>("/profile");
    expect(a.status).toBe(429);
    expect(a.headers.get("retry-after")).toBe("1");
    expect(a.body.error.errors[0]!.reason).toBe("rateLimitExceeded");
    expect((await gmail.get("/profile")).status).toBe(200);
    await admin("POST", "/faults/errors", { target: "graph", status: 429, count: 1 });
    const g = await graph.get<{ error: { code: string } }>("/me/messages");
    expect(g.status).toBe(429);
    expect(g.headers.get("retry-after")).toBe("1");
    expect(g.body.error.code).toBe("TooManyRequests");
    expect((await admin("POST", "/faults/errors", { target: "gmail", status: 404 })).status).toBe(400);
  });

  it("should slow responses down for a number of calls", async () => {
    await admin("POST", "/faults/latency", { target: "google-oauth", ms: 250, count: 1 });
    let t = Date.now();
    await fetch(emulator.urls.googleDiscovery);
    expect(Date.now() - t).toBeGreaterThanOrEqual(240);
    t = Date.now();
    await fetch(emulator.urls.googleDiscovery);
    expect(Date.now() - t).toBeLessThan(200);
  });
});

describe("push faults", () => {
  beforeAll(async () => {
    await gmail.send("POST", "/watch", { topicName: TOPIC });
    await emulator.pushIdle();
  });

  it("should drop the next notification", async () => {
    await admin("POST", "/faults/push", { channel: "gmail", drop: 1 });
    await deliver("dropped");
    await deliver("kept");
    expect(await historyIdsPushed()).toHaveLength(1);
    expect(emulator.admin.pushLog("gmail").some((a) => a.status === "dropped")).toBe(true);
  });

  it("should duplicate the next notification", async () => {
    await admin("POST", "/faults/push", { channel: "gmail", duplicate: 1 });
    await deliver("twice");
    const ids = await historyIdsPushed();
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
    const messageIds = sink
      .matching("/push")
      .map((r) => (JSON.parse(r.body) as { message: { messageId: string } }).message.messageId);
    expect(messageIds[0]).toBe(messageIds[1]);
  });

  it("should delay the next notification", async () => {
    await admin("POST", "/faults/push", { channel: "gmail", delay: { ms: 300, count: 1 } });
    const t = Date.now();
    await deliver("late");
    await sink.waitFor(() => sink.matching("/push").length === 1);
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
  });

  it("should reorder held notifications newest first", async () => {
    await admin("POST", "/faults/push", { channel: "gmail", reorder: 3 });
    await deliver("one");
    await deliver("two");
    await emulator.pushIdle();
    expect(sink.matching("/push")).toHaveLength(0);
    await deliver("three");
    const ids = (await historyIdsPushed()).map(Number);
    expect(ids).toHaveLength(3);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });

  it("should lapse a watch so that nothing more is pushed", async () => {
    expect(await json(await admin("POST", "/gmail/lapse-watch", { account: SALES }))).toEqual({ lapsed: true });
    await deliver("after lapse");
    expect(await historyIdsPushed()).toHaveLength(0);
    await gmail.send("POST", "/watch", { topicName: TOPIC });
  });

  it("should apply the same switches to Graph notifications", async () => {
    const sub = await graph.send<{ id: string }>("POST", "/subscriptions", {
      changeType: "created",
      notificationUrl: `${sink.url}/graph`,
      resource: `users/${SUPPORT}/mailFolders('inbox')/messages`,
      expirationDateTime: new Date(emulator.admin.now() + 3_600_000).toISOString(),
      clientState: "cs",
    });
    expect(sub.status).toBe(201);
    await admin("POST", "/faults/push", { channel: "graph", duplicate: 1 });
    await admin("POST", "/deliver", { to: SUPPORT, from: "x@example.com", subject: "dup", text: "x" });
    await sink.waitFor(() => sink.matching("/graph").length === 2);

    expect(await json(await admin("POST", "/graph/lapse-subscription", { id: sub.body.id }))).toEqual({ lapsed: 1 });
    await admin("POST", "/deliver", { to: SUPPORT, from: "x@example.com", subject: "after lapse", text: "x" });
    await emulator.pushIdle();
    expect(sink.matching("/graph")).toHaveLength(2);
  });
});

describe("token faults", () => {
  it("should revoke, expire and idle Google refresh tokens, and expire access tokens", async () => {
    for (const fault of ["revoke", "expire", "idle"] as const) {
      const tokens = await googleSignIn(emulator, "maria@demo.test", ["openid", GMAIL_SCOPES.readonly], {
        prompt: "consent",
      });
      const res = await admin("POST", "/oauth/google/tokens", { account: "maria@demo.test", fault });
      expect((await json(res))["affected"], fault).toBeGreaterThan(0);
      const refreshed = await json(
        await googleToken(emulator, { grant_type: "refresh_token", refresh_token: tokens.refresh_token! }),
      );
      expect(refreshed["error"], fault).toBe("invalid_grant");
    }
    const tokens = await googleSignIn(emulator, "maria@demo.test", ["openid", GMAIL_SCOPES.readonly], {
      prompt: "consent",
    });
    await admin("POST", "/oauth/google/tokens", { account: "maria@demo.test", fault: "expire-access" });
    const res = await fetch(`${emulator.url}/gmail/v1/users/me/profile`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(res.status).toBe(401);
    expect(
      (await googleToken(emulator, { grant_type: "refresh_token", refresh_token: tokens.refresh_token! })).status,
    ).toBe(200);
  });

  it("should require MFA on the next Microsoft refresh", async () => {
    const tokens = await microsoftSignIn(emulator, SAM, ["openid", "offline_access", "Mail.Read"]);
    await admin("POST", "/oauth/microsoft/tokens", {
      account: SAM,
      fault: "require-mfa",
      error: "interaction_required",
    });
    const body = await json(
      await microsoftToken(emulator, { grant_type: "refresh_token", refresh_token: tokens.refresh_token! }),
    );
    expect(body).toMatchObject({ error: "interaction_required", error_codes: [50076] });
  });

  it("should remove consent for one scope", async () => {
    const client = await gmailClient(emulator, "maria@demo.test", [GMAIL_SCOPES.readonly]);
    expect((await client.get("/messages")).status).toBe(200);
    expect(
      (await admin("POST", "/oauth/google/remove-scope", { account: "maria@demo.test", scope: GMAIL_SCOPES.readonly }))
        .status,
    ).toBe(204);
    expect((await client.get("/messages")).status).toBe(403);

    const ms = await microsoftSignIn(emulator, SAM, ["openid", "offline_access", "Mail.Read", "Mail.Send"]);
    await admin("POST", "/oauth/microsoft/tokens", { account: SAM, fault: "revoke-consent", scope: "Mail.Send" });
    const narrowed = await json(
      await microsoftToken(emulator, { grant_type: "refresh_token", refresh_token: ms.refresh_token! }),
    );
    expect(String(narrowed["scope"])).not.toContain("Mail.Send");
    const asked = await json(
      await microsoftToken(emulator, {
        grant_type: "refresh_token",
        refresh_token: ms.refresh_token!,
        scope: "Mail.Send",
      }),
    );
    expect(asked["error_codes"]).toEqual([65001]);
  });

  it("should switch auto-consent on and off over the admin API", async () => {
    expect((await admin("PUT", "/oauth/google/auto-consent", { account: SALES })).status).toBe(204);
    const q = new URLSearchParams({
      client_id: DEFAULT_GOOGLE_CLIENT.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: "code",
      scope: "openid",
    });
    expect(
      locationParams(await fetch(`${emulator.urls.googleAuthorize}?${q}`, { redirect: "manual" })).get("code"),
    ).toBeTruthy();
    await admin("DELETE", "/oauth/google/auto-consent");
    expect((await fetch(`${emulator.urls.googleAuthorize}?${q}`, { redirect: "manual" })).status).toBe(200);
  });
});

describe("cursor expiry, clock, settings and delivery", () => {
  it("should expire Gmail history and Graph delta state", async () => {
    const start = (await gmail.get<{ historyId: string }>("/profile")).body.historyId;
    await admin("POST", "/gmail/expire-history", { account: SALES });
    expect((await gmail.get(`/history?startHistoryId=${start}`)).status).toBe(404);

    let page = await graph.get<{ "@odata.nextLink"?: string; "@odata.deltaLink"?: string }>(
      `/users/${SUPPORT}/mailFolders/inbox/messages/delta`,
    );
    while (page.body["@odata.nextLink"]) page = await graph.get(page.body["@odata.nextLink"]);
    await admin("POST", "/graph/expire-delta", { account: SUPPORT });
    expect((await graph.get(page.body["@odata.deltaLink"]!)).status).toBe(410);
  });

  it("should replay Graph delta changes the client has already seen", async () => {
    let page = await graph.get<{ "@odata.nextLink"?: string; "@odata.deltaLink"?: string }>(
      `/users/${SUPPORT}/mailFolders/inbox/messages/delta`,
    );
    while (page.body["@odata.nextLink"]) page = await graph.get(page.body["@odata.nextLink"]);
    await admin("POST", "/deliver", { to: SUPPORT, from: "x@example.com", subject: "replayed", text: "x" });
    const round = await graph.get<{ value: Array<{ subject: string }>; "@odata.deltaLink": string }>(
      page.body["@odata.deltaLink"]!,
    );
    expect(round.body.value.map((v) => v.subject)).toEqual(["replayed"]);
    expect((await admin("POST", "/graph/replay-delta", { account: SUPPORT, changes: 1 })).status).toBe(204);
    const replay = await graph.get<{ value: Array<{ subject: string }> }>(round.body["@odata.deltaLink"]);
    expect(replay.body.value.map((v) => v.subject)).toEqual(["replayed"]);
  });

  it("should move the clock and change settings", async () => {
    const before = (await json<{ now: number }>(await admin("GET", "/clock"))).now;
    const after = (await json<{ now: number }>(await admin("POST", "/clock/advance", { ms: 5000 }))).now;
    expect(after - before).toBe(5000);
    const settings = await json<{ gmail: { concurrencyPerUser: number } }>(
      await admin("PATCH", "/settings", { gmail: { concurrencyPerUser: 7 } }),
    );
    expect(settings.gmail.concurrencyPerUser).toBe(7);
  });

  it("should deliver new mail and replies into a thread, then push", async () => {
    const created = await json<{ deliveries: Array<{ address: string; threadId: string; id: string }> }>(
      await deliver("New conversation"),
    );
    const [first] = created.deliveries;
    expect(first!.address).toBe(SALES);
    const reply = await json<{ deliveries: Array<{ threadId: string; id: string }> }>(
      await deliver("", { replyToThread: first!.threadId, subject: undefined }),
    );
    expect(reply.deliveries[0]!.threadId).toBe(first!.threadId);
    const raw = await gmail.get<{ raw: string }>(`/messages/${reply.deliveries[0]!.id}?format=raw`);
    const text = Buffer.from(raw.body.raw, "base64url").toString();
    expect(text).toContain("Subject: Re: New conversation");
    expect(text).toMatch(/In-Reply-To: <[^>]+>/);
    expect(await historyIdsPushed()).toHaveLength(2);
    expect((await admin("POST", "/deliver", { to: SALES, replyToThread: "nope" })).status).toBe(404);
    expect((await json<{ messages: unknown[] }>(await admin("GET", "/outbox"))).messages).toBeInstanceOf(Array);
  });

  it("should trigger lifecycle events over the admin API", async () => {
    await graph.send("POST", "/subscriptions", {
      changeType: "created",
      notificationUrl: `${sink.url}/graph`,
      lifecycleNotificationUrl: `${sink.url}/lifecycle`,
      resource: `users/${SUPPORT}/mailFolders('inbox')/messages`,
      expirationDateTime: new Date(emulator.admin.now() + 3_600_000).toISOString(),
    });
    const res = await json(await admin("POST", "/graph/lifecycle", { account: SUPPORT, event: "missed" }));
    expect(res["sent"]).toBe(1);
    await sink.waitFor(() => sink.matching("/lifecycle").length === 1);
    expect(sink.matching("/lifecycle")[0]!.body).toContain('"lifecycleEvent":"missed"');
  });
});
