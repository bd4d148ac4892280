/**
 * Pub/Sub push verification: every way a token or body can be wrong is refused. The end-to-end
 * path (a real emulator push replayed into the route) is in gmail-sync.test.ts, which owns the
 * mailbox it syncs.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { parseGmailNotice, verifyPushToken, type PushExpectations } from "../../worker/webhooks/pubsub-verify";
import { call } from "../support/http";

const SA = "gmail-push@postroom-demo.iam.gserviceaccount.com";
const AUD = "https://postroom.example/webhooks/google";
const ISS = "https://accounts.google.com";

let expectations: PushExpectations;
let sign: (claims: Record<string, unknown>, opts?: { kid?: string; key?: CryptoKey }) => Promise<string>;
let otherKey: CryptoKey;
let publicJwk: JWK;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  otherKey = (await generateKeyPair("RS256")).privateKey;
  publicJwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  expectations = {
    keys: createLocalJWKSet({ keys: [publicJwk] }),
    issuers: [ISS, "accounts.google.com"],
    audience: AUD,
    serviceAccount: SA,
  };
  sign = (claims, opts = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: opts.kid ?? "k1" }).sign(opts.key ?? privateKey);
});

const now = () => Math.floor(Date.now() / 1000);
const good = () => ({ iss: ISS, aud: AUD, email: SA, email_verified: true, iat: now(), exp: now() + 3600, sub: "1" });

describe("Pub/Sub push token verification", () => {
  it("accepts a well-formed token, with either spelling of Google's issuer", async () => {
    expect(await verifyPushToken(`Bearer ${await sign(good())}`, expectations)).toEqual({ ok: true });
    expect(
      await verifyPushToken(`Bearer ${await sign({ ...good(), iss: "accounts.google.com" })}`, expectations),
    ).toEqual({ ok: true });
  });

  const refusals: [string, () => Promise<string | undefined>][] = [
    ["no Authorization header", async () => undefined],
    ["not a bearer token", async () => "Basic dXNlcjpwYXNz"],
    ["garbage", async () => "Bearer not.a.jwt"],
    ["wrong audience", async () => `Bearer ${await sign({ ...good(), aud: "https://evil.example/webhooks/google" })}`],
    ["wrong issuer", async () => `Bearer ${await sign({ ...good(), iss: "https://evil.example" })}`],
    [
      "wrong service account",
      async () => `Bearer ${await sign({ ...good(), email: "attacker@evil.iam.gserviceaccount.com" })}`,
    ],
    ["unverified email", async () => `Bearer ${await sign({ ...good(), email_verified: false })}`],
    ["expired beyond the skew", async () => `Bearer ${await sign({ ...good(), iat: now() - 7200, exp: now() - 600 })}`],
    ["unknown kid", async () => `Bearer ${await sign(good(), { kid: "nope", key: otherKey })}`],
    ["right kid, wrong key", async () => `Bearer ${await sign(good(), { key: otherKey })}`],
    [
      "alg confusion (HS256 keyed with the public key)",
      async () =>
        `Bearer ${await new SignJWT(good())
          .setProtectedHeader({ alg: "HS256", kid: "k1" })
          .sign(new TextEncoder().encode(JSON.stringify(publicJwk)))}`,
    ],
    [
      "alg none",
      async () =>
        `Bearer ${btoa(JSON.stringify({ alg: "none", kid: "k1" })).replace(/=+$/, "")}.${btoa(JSON.stringify(good())).replace(/=+$/, "")}.`,
    ],
  ];
  for (const [name, header] of refusals) {
    it(`refuses: ${name}`, async () => {
      expect((await verifyPushToken(await header(), expectations)).ok).toBe(false);
    });
  }
});

describe("Gmail notification body", () => {
  const envelope = (data: string) => ({
    message: { data, messageId: "1", publishTime: new Date().toISOString() },
    subscription: "projects/p/subscriptions/s",
  });
  const b64 = (s: string) => btoa(s);
  const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  it("decodes standard and URL-safe base64, and a string or numeric historyId", () => {
    for (const enc of [b64, b64url]) {
      expect(parseGmailNotice(envelope(enc('{"emailAddress": "Sales@Demo.test", "historyId": "1234"}')))).toEqual({
        ok: true,
        emailAddress: "sales@demo.test",
        historyId: "1234",
      });
      expect(parseGmailNotice(envelope(enc('{"emailAddress":"sales@demo.test","historyId":1744}')))).toMatchObject({
        ok: true,
        historyId: "1744",
      });
    }
  });

  it("refuses malformed envelopes and payloads", () => {
    expect(parseGmailNotice({})).toMatchObject({ ok: false });
    expect(parseGmailNotice(envelope("%%%"))).toMatchObject({ ok: false });
    expect(parseGmailNotice(envelope(b64("not json")))).toMatchObject({ ok: false });
    expect(parseGmailNotice(envelope(b64('{"emailAddress":"x","historyId":"1"}')))).toMatchObject({ ok: false });
    expect(parseGmailNotice(envelope(b64('{"emailAddress":"a@b.co","historyId":"-1"}')))).toMatchObject({ ok: false });
  });
});

describe("POST /webhooks/google", () => {
  it("refuses an unsigned or forged push with 401 JSON, before reading the body", async () => {
    const body = { message: { data: btoa('{"emailAddress":"sales@demo.test","historyId":"1"}') }, subscription: "s" };
    const unsigned = await call("/webhooks/google", { body, origin: null });
    expect(unsigned.status).toBe(401);
    expect(unsigned.json.error.code).toBe("unauthenticated");
    const forged = await call("/webhooks/google", {
      body,
      origin: null,
      headers: { authorization: `Bearer ${await sign({ ...good(), aud: "http://127.0.0.1:8787/webhooks/google" })}` },
    });
    expect(forged.status).toBe(401);
  });

  it("refuses an oversized body with 413", async () => {
    const r = await call("/webhooks/google", { rawBody: "x".repeat(100_000), origin: null });
    expect(r.status).toBe(413);
  });
});
