import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, cookieFrom } from "../support/http";
import { latestToken } from "../support/outbox";

const TABLES = [
  "accounts",
  "users",
  "sessions",
  "invites",
  "mailboxes",
  "inbox_access",
  "audit_events",
  "embed_partners",
  "embed_partner_origins",
];

async function runSeed(): Promise<void> {
  const statements = env.TEST_SEED_SQL.split("\n")
    .filter((line) => line.trim() && !line.startsWith("--"))
    .map((line) => env.DB.prepare(line));
  await env.DB.batch(statements);
}

async function dumpAll(): Promise<string> {
  const out: unknown[] = [];
  for (const t of TABLES) out.push((await env.DB.prepare(`SELECT * FROM ${t} ORDER BY 1`).all()).results);
  return JSON.stringify(out);
}

describe("the demo seed", () => {
  it("is idempotent: running it twice changes nothing", async () => {
    await runSeed();
    const once = await dumpAll();
    await runSeed();
    expect(await dumpAll()).toBe(once);
  });

  it("lets the demo owner sign in by magic link", async () => {
    await runSeed();
    expect((await call("/api/auth/signin", { body: { email: "alex@demo.test" } })).status).toBe(202);
    const v = await call("/api/auth/verify", { body: { token: await latestToken("alex@demo.test", "/auth/verify") } });
    const me = await call("/api/me", { cookie: cookieFrom(v) });
    expect(me.json.user).toMatchObject({ email: "alex@demo.test", role: "owner" });
    expect(me.json.account.name).toBe("Demo Co");
    const users = await call("/api/users", { cookie: cookieFrom(v) });
    expect(users.json.users.map((u: { role: string }) => u.role).sort()).toEqual(["admin", "light", "member", "owner"]);
  });
});
