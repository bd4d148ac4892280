import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningEmulator } from "../../emulator/index";
import { type ApiClient, gmailClient, graphClient } from "./support/clients";
import { FIXED_NOW, startTestEmulator } from "./support/emulator";
import { GMAIL_SCOPES } from "./support/oauth";
import { loadFixture, shapeProblems } from "./support/shapes";

const graphFixture = loadFixture("graph.json");
const gmailFixture = loadFixture("gmail.json");
const SALES = "sales@demo.test";
const SUPPORT = "support@demo-ms.test";

let emulator: RunningEmulator;
let gmail: ApiClient;
let graph: ApiClient;
let messageId: string;

type GoogleError = {
  error: { code: number; message: string; status: string; errors: Array<{ reason: string; domain: string }> };
};

beforeAll(async () => {
  emulator = await startTestEmulator({
    now: () => FIXED_NOW,
    settings: { google: { accessTokenTtlSeconds: 86_400 }, microsoft: { accessTokenTtlSeconds: 86_400 } },
  });
  messageId = emulator.deliver({ to: SALES, from: "a@example.com", subject: "Quota", text: "x" }).deliveries[0]!.id;
  emulator.deliver({ to: SUPPORT, from: "a@example.com", subject: "Quota", text: "x" });
  gmail = await gmailClient(emulator, SALES, [GMAIL_SCOPES.readonly]);
  graph = await graphClient(emulator, "sam@demo-ms.test", ["Mail.Read", "Mail.Read.Shared"]);
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.admin.clearFaults();
  emulator.admin.resetQuotas();
  emulator.admin.configure({
    gmail: { quotaModel: "current", userUnitsPerMinute: null, rateLimitStatus: 429, concurrencyPerUser: 10 },
    graph: { requestsPerWindow: 10_000, windowMs: 600_000, concurrencyPerMailbox: 4 },
  });
});

async function spend(n: number, path: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await gmail.get(path)).status);
  return statuses;
}

describe("Gmail per-user quota", () => {
  it("should default to the current model: 6,000 units per minute with messages.get at 20 units", async () => {
    const statuses = await spend(301, `/messages/${messageId}?format=minimal`);
    expect(statuses.slice(0, 300).every((s) => s === 200)).toBe(true);
    expect(statuses[300]).toBe(429);
  });

  it("should answer 429 RESOURCE_EXHAUSTED with Retry-After, and refill over time", async () => {
    emulator.admin.configure({ gmail: { userUnitsPerMinute: 100 } });
    expect(await spend(5, `/messages/${messageId}`)).toEqual([200, 200, 200, 200, 200]);
    const over = await gmail.get<GoogleError>(`/messages/${messageId}`);
    expect(over.status).toBe(429);
    expect(shapeProblems(over.body, gmailFixture.shapes["Error"]!)).toEqual([]);
    expect(shapeProblems(over.body.error, gmailFixture.shapes["Error#body"]!)).toEqual([]);
    expect(over.body.error.status).toBe("RESOURCE_EXHAUSTED");
    expect(over.body.error.errors[0]).toMatchObject({ reason: "rateLimitExceeded", domain: "usageLimits" });
    const retryAfter = Number(over.headers.get("retry-after"));
    expect(retryAfter).toBe(12);
    // One budget for all methods: once it is spent even a 1-unit call waits.
    expect((await gmail.get("/profile")).status).toBe(429);
    emulator.admin.advanceClock(retryAfter * 1000);
    expect((await gmail.get(`/messages/${messageId}`)).status).toBe(200);
    expect((await gmail.get(`/messages/${messageId}`)).status).toBe(429);
    emulator.admin.advanceClock(60_000);
    expect(await spend(5, `/messages/${messageId}`)).toEqual([200, 200, 200, 200, 200]);
  });

  it("should answer the documented 403 userRateLimitExceeded when configured", async () => {
    emulator.admin.configure({ gmail: { userUnitsPerMinute: 20, rateLimitStatus: 403 } });
    expect((await gmail.get(`/messages/${messageId}`)).status).toBe(200);
    const over = await gmail.get<GoogleError>(`/messages/${messageId}`);
    expect(over.status).toBe(403);
    expect(over.body.error).toMatchObject({ code: 403, message: "User Rate Limit Exceeded" });
    expect(over.body.error.errors[0]).toMatchObject({ reason: "userRateLimitExceeded", domain: "usageLimits" });
    expect(over.headers.get("retry-after")).toBeTruthy();
  });

  it("should use the previous model's costs when configured (messages.get at 5 units)", async () => {
    emulator.admin.configure({ gmail: { quotaModel: "previous", userUnitsPerMinute: 100 } });
    const statuses = await spend(21, `/messages/${messageId}`);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses[20]).toBe(429);
  });

  it("should charge per method cost (send = 100 units) and allow overrides", async () => {
    emulator.admin.configure({ gmail: { userUnitsPerMinute: 150, methodCosts: { "gmail.users.getProfile": 60 } } });
    expect(await spend(3, "/profile")).toEqual([200, 200, 429]);
    emulator.admin.configure({ gmail: { methodCosts: {} } });
  });

  it("should cap concurrent requests per user with 429 'Too many concurrent requests for user'", async () => {
    emulator.admin.configure({ gmail: { concurrencyPerUser: 2 } });
    emulator.admin.slowResponses({ target: "gmail", ms: 150, count: 3 });
    const results = await Promise.all([1, 2, 3].map(() => gmail.get<GoogleError>("/profile")));
    const refused = results.filter((r) => r.status === 429);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.body.error.message).toBe("Too many concurrent requests for user");
  });

  it("should return 429s inside a 200 batch envelope", async () => {
    emulator.admin.configure({ gmail: { userUnitsPerMinute: 40 } });
    const boundary = "b";
    const part = `--${boundary}\r\nContent-Type: application/http\r\n\r\nGET /gmail/v1/users/me/messages/${messageId}\r\n\r\n`;
    const res = await fetch(`${emulator.url}/batch/gmail/v1`, {
      method: "POST",
      headers: { authorization: `Bearer ${gmail.token}`, "content-type": `multipart/mixed; boundary=${boundary}` },
      body: part.repeat(3) + `--${boundary}--`,
    });
    expect(res.status).toBe(200);
    const statuses = [...(await res.text()).matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses.sort()).toEqual([200, 200, 429]);
  });
});

describe("Graph per-mailbox throttling", () => {
  it("should answer 429 TooManyRequests with Retry-After past the window budget, per mailbox", async () => {
    emulator.admin.configure({ graph: { requestsPerWindow: 5, windowMs: 60_000 } });
    for (let i = 0; i < 5; i++) expect((await graph.get(`/users/${SUPPORT}/messages?$top=1`)).status).toBe(200);
    const over = await graph.get<{ error: Record<string, unknown> }>(`/users/${SUPPORT}/messages?$top=1`);
    expect(over.status).toBe(429);
    expect(shapeProblems(over.body.error, graphFixture.shapes["throttled#body"]!)).toEqual([]);
    expect(over.body.error).toMatchObject({ code: "TooManyRequests", message: "Please retry again later." });
    expect(over.body.error["innerError"]).toMatchObject({ code: "429", status: "429", message: "Please retry after" });
    const retryAfter = Number(over.headers.get("retry-after"));
    expect(retryAfter).toBe(12);
    // Another mailbox is not affected.
    expect((await graph.get("/me/messages?$top=1")).status).toBe(200);
    emulator.admin.advanceClock(retryAfter * 1000);
    expect((await graph.get(`/users/${SUPPORT}/messages?$top=1`)).status).toBe(200);
  });

  it("should allow 4 concurrent requests per mailbox and refuse the fifth", async () => {
    emulator.admin.slowResponses({ target: "graph", ms: 200, count: 5 });
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => graph.get(`/users/${SUPPORT}/messages?$top=1`)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect(results.find((r) => r.status === 429)!.headers.get("retry-after")).toBe("1");
  });
});
