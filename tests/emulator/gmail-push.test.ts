import { readFileSync } from "node:fs";
import path from "node:path";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningEmulator } from "../../emulator/index";
import { type ApiClient, gmailClient } from "./support/clients";
import { FIXED_NOW, startTestEmulator } from "./support/emulator";
import { GMAIL_SCOPES } from "./support/oauth";
import { PushSink, type ReceivedRequest } from "./support/push-sink";
import { REFERENCE_DIR, hasReference, loadFixture, shapeProblems } from "./support/shapes";

const fixture = loadFixture("pubsub.json");
const SALES = "sales@demo.test";
const TOPIC = "projects/postroom-demo/topics/gmail";
const SERVICE_ACCOUNT = "push-test@postroom-demo.iam.gserviceaccount.com";

let emulator: RunningEmulator;
let sink: PushSink;
let gmail: ApiClient;

interface Envelope {
  message: { data: string; messageId: string; message_id: string; publishTime: string; publish_time: string };
  subscription: string;
  deliveryAttempt?: number;
}

const envelope = (r: ReceivedRequest) => JSON.parse(r.body) as Envelope;
function decodeData(data: string): { emailAddress: string; historyId: string | number } {
  // Tolerant decoding: either alphabet, with or without padding.
  return JSON.parse(Buffer.from(data.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")) as {
    emailAddress: string;
    historyId: string | number;
  };
}
async function settle() {
  await emulator.pushIdle();
}
function deliver(subject = "Hello") {
  // Gmail caps notifications at 1/s per user: each delivery happens a second after the previous one.
  emulator.admin.advanceClock(1000);
  return emulator.deliver({ to: SALES, from: "customer@example.com", subject, text: "x" });
}

beforeAll(async () => {
  sink = await new PushSink().start();
  emulator = await startTestEmulator({
    now: () => FIXED_NOW,
    gmailPushEndpoint: `${sink.url}/webhooks/google/pubsub`,
    pushServiceAccountEmail: SERVICE_ACCOUNT,
    settings: {
      google: { accessTokenTtlSeconds: 90 * 86_400 },
      push: { initialBackoffMs: 20, maxBackoffMs: 80, ackTimeoutMs: 400, maxAttempts: 5 },
    },
  });
  gmail = await gmailClient(emulator, SALES, [GMAIL_SCOPES.readonly]);
});
afterAll(async () => {
  await emulator.close();
  await sink.close();
});
beforeEach(async () => {
  await settle();
  emulator.admin.clearFaults();
  emulator.admin.configure({
    push: { dataEncoding: "base64", historyIdType: "string", maxPerSecondPerUser: 1, includeDeliveryAttempt: false },
  });
  emulator.admin.setGmailPushEndpoint(`${sink.url}/webhooks/google/pubsub`, "");
  sink.responder = () => ({ status: 204 });
  emulator.admin.advanceClock(2000);
  sink.clear();
});

async function watch(
  body: Record<string, unknown> = { topicName: TOPIC, labelIds: ["INBOX"], labelFilterBehavior: "INCLUDE" },
) {
  const res = await gmail.send<{ historyId: string; expiration: string }>("POST", "/watch", body);
  expect(res.status).toBe(200);
  return res.body;
}

describe("watch and the first notification", () => {
  it("should answer with the baseline and push one notification straight away", async () => {
    const res = await watch();
    expect(Number(res.expiration)).toBe(emulator.admin.now() + 7 * 86_400_000);
    await sink.waitFor(() => sink.requests.length === 1);
    await settle();
    const req = sink.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.headers["content-type"]).toContain("application/json");
    const env = envelope(req);
    expect(shapeProblems(env, fixture.shapes["envelope"]!)).toEqual([]);
    expect(shapeProblems(env.message, fixture.shapes["message"]!)).toEqual([]);
    expect(env.message.message_id).toBe(env.message.messageId);
    expect(decodeData(env.message.data)).toEqual({ emailAddress: SALES, historyId: res.historyId });
    expect(env.message.data).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it("should sign the push with a JWT that verifies against the emulator's JWKS", async () => {
    await watch();
    await sink.waitFor(() => sink.requests.length === 1);
    const auth = String(sink.requests[0]!.headers["authorization"]);
    expect(auth).toMatch(/^Bearer /);
    const jwks = createRemoteJWKSet(new URL(emulator.urls.googleJwks));
    const { payload, protectedHeader } = await jwtVerify(auth.slice(7), jwks, {
      issuer: `${emulator.url}/google`,
      audience: `${sink.url}/webhooks/google/pubsub`,
      algorithms: ["RS256"],
      currentDate: new Date(emulator.admin.now()),
      clockTolerance: 300,
    });
    expect(protectedHeader.kid).toBeTruthy();
    expect(shapeProblems(payload, fixture.shapes["jwt"]!)).toEqual([]);
    expect(payload).toMatchObject({ email: SERVICE_ACCOUNT, email_verified: true });
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it("should use a configured audience instead of the endpoint URL", async () => {
    emulator.admin.setGmailPushEndpoint(`${sink.url}/webhooks/google/pubsub`, "https://postroom.example/push");
    await watch();
    await sink.waitFor(() => sink.requests.length === 1);
    const token = String(sink.requests[0]!.headers["authorization"]).slice(7);
    await expect(
      jwtVerify(token, createRemoteJWKSet(new URL(emulator.urls.googleJwks)), {
        audience: "https://postroom.example/push",
        currentDate: new Date(emulator.admin.now()),
      }),
    ).resolves.toBeTruthy();
  });

  it("should reject a topic name that is not projects/*/topics/*", async () => {
    expect((await gmail.send("POST", "/watch", { topicName: "gmail" })).status).toBe(400);
  });

  it.skipIf(!hasReference)("should match Google's published push envelope schema", async () => {
    const schema = JSON.parse(
      readFileSync(path.join(REFERENCE_DIR, "pubsub-v1.push-envelope.schema.json"), "utf8"),
    ) as {
      definitions: Record<string, { properties: Record<string, { type?: string; format?: string }> }>;
    };
    await watch();
    await sink.waitFor(() => sink.requests.length === 1);
    const env = envelope(sink.requests[0]!) as unknown as Record<string, unknown>;
    const checks: Array<[Record<string, unknown>, string]> = [
      [env, "MessagePublishedData"],
      [env["message"] as Record<string, unknown>, "PubsubMessage"],
    ];
    for (const [value, def] of checks) {
      for (const [key, prop] of Object.entries(schema.definitions[def]!.properties)) {
        if (!(key in value) || !prop.type) continue;
        expect(typeof value[key] === "number" ? "integer" : typeof value[key], `${def}.${key}`).toBe(prop.type);
        if (prop.format === "date-time") expect(Number.isNaN(Date.parse(String(value[key])))).toBe(false);
      }
    }
  });
});

describe("notifications after mailbox changes", () => {
  it("should push the new historyId after a delivery, usable as a history.list trigger", async () => {
    const { historyId: baseline } = await watch();
    await sink.waitFor(() => sink.requests.length === 1);
    deliver("First");
    await sink.waitFor(() => sink.requests.length === 2);
    const pushed = decodeData(envelope(sink.requests[1]!).message.data);
    expect(Number(pushed.historyId)).toBeGreaterThan(Number(baseline));
    const history = await gmail.get<{ history: unknown[]; historyId: string }>(`/history?startHistoryId=${baseline}`);
    expect(history.body.history).toHaveLength(1);
    expect(history.body.historyId).toBe(String(pushed.historyId));
  });

  it("should respect the watch label filter", async () => {
    await watch({ topicName: TOPIC, labelIds: ["STARRED"], labelFilterBehavior: "include" });
    await sink.waitFor(() => sink.requests.length === 1);
    deliver("Not starred");
    await settle();
    expect(sink.requests).toHaveLength(1);
    await watch({ topicName: TOPIC, labelIds: ["STARRED"], labelFilterBehavior: "exclude" });
    deliver("Excluded filter lets inbox mail through");
    await sink.waitFor(() => sink.requests.length === 3);
  });

  it("should send data as base64url and historyId as a number when configured", async () => {
    emulator.admin.configure({ push: { dataEncoding: "base64url", historyIdType: "number" } });
    await watch();
    await sink.waitFor(() => sink.requests.length === 1);
    const { data } = envelope(sink.requests[0]!).message;
    expect(data).toMatch(/^[A-Za-z0-9_-]+$/);
    const decoded = Buffer.from(data, "base64url").toString("utf8");
    expect(decoded).toMatch(/"historyId": \d+\}$/);
    expect(typeof decodeData(data).historyId).toBe("number");
  });

  it("should drop notifications above 1 event per second per user, and not with the cap disabled", async () => {
    await watch();
    await sink.waitFor(() => sink.requests.length === 1);
    emulator.deliver({ to: SALES, from: "a@example.com", subject: "burst 1", text: "x" });
    emulator.deliver({ to: SALES, from: "a@example.com", subject: "burst 2", text: "x" });
    await settle();
    expect(sink.requests).toHaveLength(1);
    expect(emulator.admin.gmailRateLimited().length).toBeGreaterThanOrEqual(2);
    emulator.admin.configure({ push: { maxPerSecondPerUser: 0 } });
    emulator.deliver({ to: SALES, from: "a@example.com", subject: "burst 3", text: "x" });
    emulator.deliver({ to: SALES, from: "a@example.com", subject: "burst 4", text: "x" });
    await sink.waitFor(() => sink.requests.length === 3);
  });

  it("should retry with backoff until the endpoint acknowledges, with deliveryAttempt when configured", async () => {
    emulator.admin.configure({ push: { includeDeliveryAttempt: true } });
    let calls = 0;
    sink.responder = () => ({ status: ++calls <= 2 ? 503 : 204 });
    await watch();
    await sink.waitFor(() => sink.requests.length === 3);
    await settle();
    const envs = sink.requests.map(envelope);
    expect(new Set(envs.map((e) => e.message.messageId)).size).toBe(1);
    expect(envs.map((e) => e.deliveryAttempt)).toEqual([1, 2, 3]);
    expect(sink.requests[1]!.at - sink.requests[0]!.at).toBeGreaterThanOrEqual(15);
    expect(
      emulator.admin
        .pushLog("gmail")
        .slice(-3)
        .map((a) => a.status),
    ).toEqual([503, 503, 204]);
  });

  it("should treat a slow endpoint as unacknowledged and redeliver", async () => {
    let calls = 0;
    sink.responder = () => ({ status: 204, delayMs: ++calls === 1 ? 600 : 0 });
    await watch();
    await sink.waitFor(() => sink.requests.length === 2);
    await settle();
    expect(
      emulator.admin
        .pushLog("gmail")
        .slice(-2)
        .map((a) => a.status),
    ).toEqual(["timeout", 204]);
  });

  it("should route a topic to its own push endpoint", async () => {
    emulator.admin.routePubSubTopic("projects/postroom-demo/topics/other", `${sink.url}/other-endpoint`);
    await watch({ topicName: "projects/postroom-demo/topics/other" });
    await sink.waitFor(() => sink.requests.length === 1);
    expect(sink.requests[0]!.url).toBe("/other-endpoint");
    expect(envelope(sink.requests[0]!).subscription).toContain("other");
  });
});

describe("watch lifecycle", () => {
  it("should stop notifying after stop()", async () => {
    await watch();
    await sink.waitFor(() => sink.requests.length === 1);
    const res = await gmail.send("POST", "/stop");
    expect(res.status).toBe(204);
    deliver();
    await settle();
    expect(sink.requests).toHaveLength(1);
  });

  it("should lapse silently after seven days without renewal", async () => {
    await watch();
    await sink.waitFor(() => sink.requests.length === 1);
    emulator.admin.advanceClock(7 * 86_400_000 + 1000);
    deliver();
    await settle();
    expect(sink.requests).toHaveLength(1);
  });
});
