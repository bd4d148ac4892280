import { env } from "cloudflare:workers";
import { ulid } from "ulid";
import { call, cookieFrom } from "./http";
import { latestToken } from "./outbox";

let counter = 0;
/** A fresh address per call, so tests in one file never collide. */
export const uniqueEmail = (label = "user") => `${label}-${Date.now().toString(36)}-${++counter}@example.com`;

export interface Actor {
  email: string;
  userId: string;
  accountId: string;
  cookie: string;
}

async function me(cookie: string) {
  const r = await call("/api/me", { cookie });
  if (r.status !== 200) throw new Error(`GET /api/me answered ${r.status}: ${r.text}`);
  return r.json as { user: { id: string }; account: { id: string } };
}

/** Signs up through the real flow (request link, read the outbox, verify) and returns the owner. */
export async function signUp(accountName = "Acme", email = uniqueEmail("owner")): Promise<Actor> {
  const r = await call("/api/auth/signup", { body: { email, accountName } });
  if (r.status !== 202) throw new Error(`signup answered ${r.status}: ${r.text}`);
  const token = await latestToken(email, "/auth/verify");
  const v = await call("/api/auth/verify", { body: { token } });
  if (v.status !== 200) throw new Error(`verify answered ${v.status}: ${v.text}`);
  const cookie = cookieFrom(v);
  const m = await me(cookie);
  return { email, userId: m.user.id, accountId: m.account.id, cookie };
}

/** Invites `email` with `role` as `by`, accepts through the emailed link, and returns the new user. */
export async function invite(
  by: Actor,
  role: "owner" | "admin" | "member" | "light",
  email = uniqueEmail(role),
): Promise<Actor> {
  const r = await call("/api/invites", { cookie: by.cookie, body: { email, role } });
  if (r.status !== 201) throw new Error(`invite answered ${r.status}: ${r.text}`);
  const token = await latestToken(email, "/auth/invite");
  const a = await call("/api/auth/accept-invite", { body: { token } });
  if (a.status !== 200) throw new Error(`accept answered ${a.status}: ${a.text}`);
  const cookie = cookieFrom(a);
  const m = await me(cookie);
  return { email, userId: m.user.id, accountId: m.account.id, cookie };
}

/** A contributor as the connect flow will create one: a user row with no app access. */
export async function addContributor(
  accountId: string,
  email = uniqueEmail("contrib"),
): Promise<{ userId: string; email: string }> {
  const userId = ulid();
  await env.DB.prepare(
    `INSERT INTO users (id, account_id, email, name, role, created_at) VALUES (?, ?, ?, '', 'contributor', ?)`,
  )
    .bind(userId, accountId, email, Date.now())
    .run();
  return { userId, email };
}

/** An inbox row as the connect flow will create one. */
export async function addMailbox(accountId: string, address = uniqueEmail("inbox")): Promise<string> {
  const id = ulid();
  await env.DB.prepare(
    `INSERT INTO mailboxes (id, account_id, address, display_name, provider, kind, created_at) VALUES (?, ?, ?, '', 'gmail', 'shared', ?)`,
  )
    .bind(id, accountId, address, Date.now())
    .run();
  return id;
}
