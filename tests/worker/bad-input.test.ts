import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ulid } from "ulid";
import { addMailbox, invite, signUp, type Actor } from "../support/accounts";
import { call, type CallResult } from "../support/http";

const TABLES = ["accounts", "users", "sessions", "magic_links", "invites", "mailboxes", "inbox_access", "audit_events"];

async function snapshot(): Promise<string> {
  const parts: unknown[] = [];
  for (const t of TABLES) parts.push((await env.DB.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()).results);
  return JSON.stringify(parts);
}

function expectJsonError(r: CallResult, status: number, code?: string) {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toMatch(/application\/json/);
  expect(typeof r.json.error.message).toBe("string");
  expect(r.json.error.message.length).toBeGreaterThan(0);
  if (code) expect(r.json.error.code).toBe(code);
  expect(r.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
}

describe("bad input gets a clear 4xx and changes nothing", () => {
  let owner: Actor;
  let member: Actor;
  let inboxId: string;
  beforeAll(async () => {
    owner = await signUp();
    member = await invite(owner, "member");
    inboxId = await addMailbox(owner.accountId);
  });

  const cases: { name: string; run: () => Promise<CallResult>; status: number; code?: string }[] = [
    { name: "malformed JSON", run: () => call("/api/auth/signin", { rawBody: "{not json" }), status: 400 },
    {
      name: "JSON that is not an object",
      run: () => call("/api/auth/signin", { rawBody: "[1,2]" }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "wrong type",
      run: () => call("/api/auth/signin", { body: { email: 42 } }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "missing field",
      run: () => call("/api/auth/signup", { body: { email: "a@b.co" } }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "unknown field",
      run: () => call("/api/auth/signin", { body: { email: "a@b.co", admin: true } }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "not an email",
      run: () => call("/api/auth/signin", { body: { email: "not-an-email" } }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "header injection in an email address",
      run: () =>
        call("/api/invites", { cookie: owner.cookie, body: { email: "a@b.co\r\nBcc: x@y.z", role: "member" } }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "role that does not exist",
      run: () => call(`/api/users/${member.userId}`, { cookie: owner.cookie, method: "PATCH", body: { role: "god" } }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "contributor is not a role one can grant",
      run: () =>
        call(`/api/users/${member.userId}`, { cookie: owner.cookie, method: "PATCH", body: { role: "contributor" } }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "huge body",
      run: () => call("/api/auth/signin", { rawBody: JSON.stringify({ email: "a@b.co", pad: "x".repeat(200_000) }) }),
      status: 413,
      code: "payload_too_large",
    },
    {
      name: "malformed id",
      run: () => call("/api/users/not-an-id", { cookie: owner.cookie, method: "DELETE" }),
      status: 400,
      code: "invalid_request",
    },
    {
      name: "unknown user id",
      run: () => call(`/api/users/${ulid()}`, { cookie: owner.cookie, method: "DELETE" }),
      status: 404,
      code: "not_found",
    },
    {
      name: "unknown invite id",
      run: () => call(`/api/invites/${ulid()}/resend`, { cookie: owner.cookie, method: "POST" }),
      status: 404,
      code: "not_found",
    },
    {
      name: "unknown inbox id",
      run: () => call(`/api/inboxes/${ulid()}`, { cookie: owner.cookie }),
      status: 404,
      code: "not_found",
    },
    {
      name: "unknown user in inbox access",
      run: () =>
        call(`/api/inboxes/${inboxId}/access`, { cookie: owner.cookie, method: "PUT", body: { userIds: [ulid()] } }),
      status: 400,
      code: "unknown_users",
    },
    {
      name: "bad query value",
      run: () => call("/api/audit?limit=100000", { cookie: owner.cookie }),
      status: 400,
      code: "invalid_request",
    },
    { name: "unknown route", run: () => call("/api/nothing-here"), status: 404, code: "route_not_found" },
    {
      name: "forged connect link",
      run: () => call("/api/connect/describe", { body: { token: "F".repeat(43) } }),
      status: 400,
      code: "invalid_link",
    },
    {
      name: "connect start with an unknown provider",
      run: () => call("/api/connect/start", { body: { token: "F".repeat(43), provider: "yahoo" } }),
      status: 400,
      code: "invalid_request",
    },
    { name: "wrong method", run: () => call("/api/me", { cookie: owner.cookie, method: "DELETE" }), status: 404 },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const before = await snapshot();
      const r = await c.run();
      expectJsonError(r, c.status, c.code);
      expect(await snapshot()).toBe(before);
    });
  }

  it("an OAuth callback with a forged state is refused and stores nothing", async () => {
    const before = await snapshot();
    const r = await call("/auth/callback/google?state=forged-state-value&code=abc");
    expect(r.status).toBe(302);
    expect(new URL(r.headers.get("location")!).searchParams.get("outcome")).toBe("invalid_state");
    const wrongProvider = await call("/auth/callback/yahoo?state=x&code=y");
    expect(wrongProvider.status).toBe(404);
    expect(await snapshot()).toBe(before);
  });

  it("an invalid request lists what was wrong, field by field", async () => {
    const r = await call("/api/auth/signup", { body: { email: "nope", accountName: "" } });
    expect(r.status).toBe(400);
    const paths = r.json.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(["accountName", "email"]);
  });
});
