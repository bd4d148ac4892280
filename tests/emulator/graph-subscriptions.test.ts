import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningEmulator } from "../../emulator/index";
import { type ApiClient, graphClient } from "./support/clients";
import { FIXED_NOW, startTestEmulator } from "./support/emulator";
import { PushSink, type ReceivedRequest } from "./support/push-sink";
import { type Csdl, csdlProblems, loadCsdl, loadFixture, shapeProblems } from "./support/shapes";

const fixture = loadFixture("graph.json");
const csdl: Csdl | undefined = loadCsdl();
const SAM = "sam@demo-ms.test";
const SUPPORT = "support@demo-ms.test";
const MINUTE = 60_000;

let emulator: RunningEmulator;
let sink: PushSink;
let graph: ApiClient;

type Subscription = { id: string; expirationDateTime: string; clientState: string | null; resource: string };
type Notification = {
  subscriptionId: string;
  changeType: string;
  clientState: string;
  resource: string;
  resourceData: { id: string };
};
type Lifecycle = { subscriptionId: string; lifecycleEvent: string };

const bodyOf = <T>(r: ReceivedRequest) => JSON.parse(r.body) as { value: T[] };
const expiry = (minutes: number) => new Date(emulator.admin.now() + minutes * MINUTE).toISOString();

function subscribe(extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return graph.send<Subscription & { error?: { code: string; message: string } }>(
    "POST",
    "/subscriptions",
    {
      changeType: "created,updated",
      notificationUrl: `${sink.url}/webhooks/graph/notify?tenant=demo`,
      lifecycleNotificationUrl: `${sink.url}/webhooks/graph/lifecycle`,
      resource: `users/${SUPPORT}/mailFolders('inbox')/messages`,
      expirationDateTime: expiry(60),
      clientState: "secret-client-state",
      latestSupportedTlsVersion: "v1_2",
      ...extra,
    },
    headers,
  );
}

beforeAll(async () => {
  sink = await new PushSink().start();
  emulator = await startTestEmulator({
    now: () => FIXED_NOW,
    settings: {
      microsoft: { accessTokenTtlSeconds: 30 * 86_400 },
      graph: {
        validationTimeoutMs: 400,
        notificationTimeoutMs: 400,
        notificationInitialBackoffMs: 20,
        notificationMaxBackoffMs: 80,
        notificationRetryWindowMs: 2_000,
      },
    },
  });
  graph = await graphClient(emulator, SAM, ["User.Read", "Mail.ReadWrite", "Mail.ReadWrite.Shared"]);
});
afterAll(async () => {
  await emulator.close();
  await sink.close();
});
beforeEach(async () => {
  await emulator.pushIdle();
  for (const s of emulator.admin.graphSubscriptions()) await graph.send("DELETE", `/subscriptions/${s.id}`);
  emulator.admin.configure({ graph: { subscriptionMaxMinutes: 4230 } });
  sink.echoValidation();
  sink.clear();
});

describe("creating a subscription", () => {
  it("should validate both URLs with the plain-text handshake and return 201", async () => {
    const res = await subscribe();
    expect(res.status).toBe(201);
    expect(shapeProblems(res.body, fixture.shapes["subscription"]!)).toEqual([]);
    if (csdl) expect(csdlProblems(csdl, res.body, "subscription")).toEqual([]);
    expect(res.body.clientState).toBe("secret-client-state");
    const handshakes = sink.requests.filter((r) => r.url.includes("validationToken="));
    expect(handshakes.map((r) => new URL(r.url, "http://x").pathname).sort()).toEqual([
      "/webhooks/graph/lifecycle",
      "/webhooks/graph/notify",
    ]);
    for (const h of handshakes) {
      expect(h.method).toBe("POST");
      expect(h.headers["content-type"]).toContain("text/plain");
      expect(new URL(h.url, "http://x").searchParams.get("tenant") ?? "demo").toBe("demo");
    }
  });

  it("should not create the subscription when the handshake fails, answers late or echoes the wrong token", async () => {
    sink.responder = () => ({ status: 500 });
    const failed = await subscribe();
    expect(failed.status).toBe(400);
    expect(failed.body.error!.code).toBe("ValidationError");

    sink.responder = () => ({ status: 200, body: "not the token" });
    expect((await subscribe()).status).toBe(400);

    sink.echoValidation();
    const slow = sink.responder;
    sink.responder = (req) => ({ ...slow(req), delayMs: 600 });
    const late = await subscribe();
    expect(late.status).toBe(400);
    expect(late.body.error!.message).toBe("Subscription validation request timed out.");
    expect(emulator.admin.graphSubscriptions()).toHaveLength(0);
  });

  it("should cap the expiry at the configured maximum (4,230 or 10,080 minutes)", async () => {
    const tooLong = await subscribe({ expirationDateTime: expiry(10_000) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error!.message).toContain("4230 minutes");
    expect((await subscribe({ expirationDateTime: expiry(4200) })).status).toBe(201);
    emulator.admin.configure({ graph: { subscriptionMaxMinutes: 10_080 } });
    expect((await subscribe({ expirationDateTime: expiry(10_000) })).status).toBe(201);
    expect((await subscribe({ expirationDateTime: expiry(10_100) })).status).toBe(400);
    expect((await subscribe({ expirationDateTime: expiry(2000), includeResourceData: true })).status).toBe(400);
  });

  it("should reject bad input: change type, clientState length, plain http off loopback, other tenants", async () => {
    expect((await subscribe({ changeType: "moved" })).status).toBe(400);
    expect((await subscribe({ clientState: "x".repeat(129) })).status).toBe(400);
    expect((await subscribe({ notificationUrl: "http://postroom.example/notify" })).status).toBe(400);
    expect((await subscribe({ resource: "users/ops@northwind.test/messages" })).status).toBe(403);
    expect((await subscribe({ resource: "me/contacts" })).status).toBe(400);
  });
});

describe("change notifications", () => {
  it("should POST documented notifications with clientState and the immutable id when asked", async () => {
    const sub = await subscribe({}, { prefer: 'IdType="ImmutableId"' });
    emulator.deliver({ to: SUPPORT, from: "x@example.com", subject: "Notify me", text: "hi" });
    await sink.waitFor(() => sink.matching("/webhooks/graph/notify").length === 1);
    const req = sink.matching("/webhooks/graph/notify")[0]!;
    expect(req.url).toBe("/webhooks/graph/notify?tenant=demo");
    const body = bodyOf<Notification>(req);
    expect(shapeProblems(body, fixture.shapes["notificationCollection"]!)).toEqual([]);
    const n = body.value[0]!;
    expect(shapeProblems(n, fixture.shapes["notification"]!)).toEqual([]);
    expect(shapeProblems(n.resourceData, fixture.shapes["notification#resourceData"]!)).toEqual([]);
    if (csdl) expect(csdlProblems(csdl, n, "changeNotification")).toEqual([]);
    expect(n).toMatchObject({ subscriptionId: sub.body.id, changeType: "created", clientState: "secret-client-state" });
    const msg = await graph.get(`/users/${SUPPORT}/messages/${n.resourceData.id}`, { prefer: 'IdType="ImmutableId"' });
    expect(msg.body["subject"]).toBe("Notify me");

    await graph.send(
      "PATCH",
      `/users/${SUPPORT}/messages/${n.resourceData.id}`,
      { isRead: true },
      { prefer: 'IdType="ImmutableId"' },
    );
    await sink.waitFor(() => sink.matching("/webhooks/graph/notify").length === 2);
    expect(bodyOf<Notification>(sink.matching("/webhooks/graph/notify")[1]!).value[0]!.changeType).toBe("updated");
  });

  it("should only notify for the subscribed folder and change types", async () => {
    await subscribe({ changeType: "created" });
    emulator.deliver({ to: SAM, from: "x@example.com", subject: "Not support", text: "x" });
    const delivered = emulator.deliver({ to: SUPPORT, from: "x@example.com", subject: "Support", text: "x" });
    await sink.waitFor(() => sink.matching("/webhooks/graph/notify").length === 1);
    const id = bodyOf<Notification>(sink.matching("/webhooks/graph/notify")[0]!).value[0]!.resourceData.id;
    await graph.send("PATCH", `/users/${SUPPORT}/messages/${id}`, { isRead: true });
    await emulator.pushIdle();
    expect(sink.matching("/webhooks/graph/notify")).toHaveLength(1);
    expect(delivered.deliveries).toHaveLength(1);
  });

  it("should retry until the endpoint answers 2xx", async () => {
    await subscribe();
    let n = 0;
    sink.echoValidation(() => ({ status: ++n <= 2 ? 503 : 202 }));
    emulator.deliver({ to: SUPPORT, from: "x@example.com", subject: "Retry", text: "x" });
    await sink.waitFor(() => sink.matching("/webhooks/graph/notify").length === 3);
    await emulator.pushIdle();
    const bodies = sink.matching("/webhooks/graph/notify").map((r) => r.body);
    expect(new Set(bodies).size).toBe(1);
    expect(
      emulator.admin
        .pushLog("graph")
        .slice(-3)
        .map((a) => a.status),
    ).toEqual([503, 503, 202]);
  });
});

describe("renewal, deletion and expiry", () => {
  it("should renew with PATCH and refuse to add a lifecycle URL that way", async () => {
    const sub = await subscribe({ lifecycleNotificationUrl: undefined });
    const renewed = await graph.send<Subscription>("PATCH", `/subscriptions/${sub.body.id}`, {
      expirationDateTime: expiry(4000),
    });
    expect(renewed.status).toBe(200);
    expect(Date.parse(renewed.body.expirationDateTime)).toBe(Date.parse(expiry(4000)));
    expect(
      (await graph.send("PATCH", `/subscriptions/${sub.body.id}`, { lifecycleNotificationUrl: `${sink.url}/l` }))
        .status,
    ).toBe(400);
    expect(
      (await graph.send("PATCH", `/subscriptions/${sub.body.id}`, { expirationDateTime: expiry(5000) })).status,
    ).toBe(400);
  });

  it("should delete with 204 and stop notifying", async () => {
    const sub = await subscribe();
    expect((await graph.send("DELETE", `/subscriptions/${sub.body.id}`)).status).toBe(204);
    expect((await graph.get(`/subscriptions/${sub.body.id}`)).status).toBe(404);
    emulator.deliver({ to: SUPPORT, from: "x@example.com", subject: "After delete", text: "x" });
    await emulator.pushIdle();
    expect(sink.matching("/webhooks/graph/notify")).toHaveLength(0);
  });

  it("should stop at its expiry and disappear", async () => {
    const sub = await subscribe({ expirationDateTime: expiry(30) });
    expect((await graph.get<{ value: unknown[] }>("/subscriptions")).body.value).toHaveLength(1);
    emulator.admin.advanceClock(31 * MINUTE);
    emulator.deliver({ to: SUPPORT, from: "x@example.com", subject: "After expiry", text: "x" });
    await emulator.pushIdle();
    expect(sink.matching("/webhooks/graph/notify")).toHaveLength(0);
    expect((await graph.get(`/subscriptions/${sub.body.id}`)).status).toBe(404);
  });
});

describe("lifecycle notifications", () => {
  it("should send reauthorizationRequired, accept reauthorize, and remove on subscriptionRemoved", async () => {
    const sub = await subscribe();
    expect(emulator.admin.graphLifecycle({ id: sub.body.id }, "reauthorizationRequired")).toBe(1);
    await sink.waitFor(() => sink.matching("/webhooks/graph/lifecycle").length === 1);
    const event = bodyOf<Lifecycle>(sink.matching("/webhooks/graph/lifecycle")[0]!).value[0]!;
    expect(shapeProblems(event, fixture.shapes["lifecycleNotification"]!)).toEqual([]);
    expect(event).toMatchObject({ subscriptionId: sub.body.id, lifecycleEvent: "reauthorizationRequired" });
    expect((await graph.send("POST", `/subscriptions/${sub.body.id}/reauthorize`)).status).toBe(204);

    emulator.admin.graphLifecycle({ id: sub.body.id }, "missed");
    await sink.waitFor(() => sink.matching("/webhooks/graph/lifecycle").length === 2);
    emulator.admin.graphLifecycle({ id: sub.body.id }, "subscriptionRemoved");
    await sink.waitFor(() => sink.matching("/webhooks/graph/lifecycle").length === 3);
    expect(
      sink.matching("/webhooks/graph/lifecycle").map((r) => bodyOf<Lifecycle>(r).value[0]!.lifecycleEvent),
    ).toEqual(["reauthorizationRequired", "missed", "subscriptionRemoved"]);
    expect((await graph.get(`/subscriptions/${sub.body.id}`)).status).toBe(404);
  });

  it("should ask for reauthorization when the creator's grant is revoked", async () => {
    await subscribe();
    emulator.admin.microsoftTokenFault(SAM, "revoke");
    await sink.waitFor(() => sink.matching("/webhooks/graph/lifecycle").length === 1);
    expect(bodyOf<Lifecycle>(sink.matching("/webhooks/graph/lifecycle")[0]!).value[0]!.lifecycleEvent).toBe(
      "reauthorizationRequired",
    );
  });
});
