/** Partner sites and their embed tokens for the Worker tests, through the real routes and jose. */
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { ulid } from "ulid";
import type { Actor } from "./accounts";
import { APP_ORIGIN, call, type CallResult } from "./http";

export const PARTNER_ORIGIN = "https://portal.partner.test";

export interface Partner {
  id: string;
  secret: string | null;
}

export async function registerPartner(
  owner: Actor,
  inboxId: string,
  options: {
    origins?: string[];
    permissions?: ("read" | "reply" | "notes")[];
    key?: { type: "hs256" } | { type: "jwks"; jwksUrl: string };
    name?: string;
  } = {},
): Promise<Partner> {
  const r = await call("/api/partners", {
    cookie: owner.cookie,
    body: {
      name: options.name ?? "Brand Portal",
      origins: options.origins ?? [PARTNER_ORIGIN],
      inboxId,
      permissions: options.permissions ?? ["read", "reply", "notes"],
      key: options.key ?? { type: "hs256" },
    },
  });
  if (r.status !== 201) throw new Error(`registering a partner answered ${r.status}: ${r.text}`);
  return { id: r.json.partner.id, secret: r.json.secret };
}

export interface Claims {
  iss: string;
  aud?: string;
  sub?: string;
  name?: string;
  inbox: string;
  permissions?: string[];
  contact?: string;
  jti?: string;
  iat?: number;
  exp?: number;
}

const nowS = () => Math.floor(Date.now() / 1000);

function payload(c: Claims): Record<string, unknown> {
  const iat = c.iat ?? nowS();
  return {
    iss: c.iss,
    aud: c.aud ?? APP_ORIGIN,
    sub: c.sub ?? "creator-42",
    name: c.name ?? "Maya Chen",
    inbox: c.inbox,
    permissions: c.permissions ?? ["read", "reply", "notes"],
    ...(c.contact ? { contact: c.contact } : {}),
    jti: c.jti ?? ulid(),
    iat,
    exp: c.exp ?? iat + 600,
  };
}

export function signHs256(secret: string, claims: Claims): Promise<string> {
  return new SignJWT(payload(claims)).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret));
}

/** A partner-side key pair whose public half is published at a loopback JWKS URL. */
export async function publishedKeyPair(
  alg: "ES256" | "RS256",
): Promise<{ jwksUrl: string; privateKey: CryptoKey; publicJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), alg, kid: ulid(), use: "sig" };
  const jwksUrl = `${env.TEST_PUSH_RELAY_URL}/__partner/jwks/${ulid()}`;
  const put = await fetch(jwksUrl, { method: "PUT", body: JSON.stringify({ keys: [publicJwk] }) });
  if (put.status !== 204) throw new Error(`publishing the JWKS answered ${put.status}`);
  return { jwksUrl, privateKey, publicJwk };
}

export function signWithKey(alg: "ES256" | "RS256", key: CryptoKey, kid: string, claims: Claims): Promise<string> {
  return new SignJWT(payload(claims)).setProtectedHeader({ alg, kid }).sign(key);
}

export function exchange(token: string, origin: string = APP_ORIGIN): Promise<CallResult> {
  return call("/api/embed/session", { body: { token }, origin });
}

export function embedCall(
  accessToken: string,
  path: string,
  options: { body?: unknown; origin?: string | null; method?: string } = {},
): Promise<CallResult> {
  return call(`/api/embed${path}`, {
    headers: {
      authorization: `Bearer ${accessToken}`,
      ...(options.origin && options.body === undefined ? { origin: options.origin } : {}),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.method ? { method: options.method } : {}),
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
  });
}

/** A conversation in an inbox, stored through the real message store as sync would store it. */
export async function storeMail(
  accountId: string,
  mailboxId: string,
  m: { from: string; to: string; subject: string; text: string },
): Promise<string> {
  const { drizzle } = await import("drizzle-orm/d1");
  const schema = await import("../../worker/db/schema");
  const { storeMessage } = await import("../../worker/sync/store-message");
  const raw = [
    `From: ${m.from}`,
    `To: ${m.to}`,
    `Subject: ${m.subject}`,
    "Date: Mon, 16 Nov 2026 10:00:00 +0000",
    `Message-ID: <${ulid()}@customer.test>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    m.text,
    "",
  ].join("\r\n");
  const r = await storeMessage(drizzle(env.DB, { schema }), env.RAW_MAIL, {
    accountId,
    mailboxId,
    providerMessageId: ulid(),
    providerThreadId: null,
    providerThreadReliable: false,
    labels: ["INBOX"],
    outbound: false,
    receivedAt: Date.now(),
    raw: new TextEncoder().encode(raw),
  });
  if (!("threadId" in r)) throw new Error(`not stored: ${r.status}`);
  return r.threadId;
}
