/**
 * The embed token matrix: only a token the partner's own key signed, for this deployment, for the
 * partner's inbox, at most fifteen minutes long and never used before is exchanged for a widget
 * session. Everything else is refused with the same 401 and starts nothing.
 */
import { env } from "cloudflare:workers";
import { SignJWT, UnsecuredJWT, exportSPKI, importJWK } from "jose";
import { ulid } from "ulid";
import { beforeAll, describe, expect, it } from "vitest";
import { addMailbox, signUp, type Actor } from "../support/accounts";
import {
  embedCall,
  exchange,
  publishedKeyPair,
  registerPartner,
  signHs256,
  signWithKey,
  storeMail,
  type Partner,
} from "../support/embed";
import { call } from "../support/http";

let owner: Actor;
let inboxA: string;
let inboxB: string;
let partner: Partner;
const A = "creators@embed-a.test";
const B = "billing@embed-b.test";
const now = () => Math.floor(Date.now() / 1000);

async function sessionCount(): Promise<number> {
  const r = await env.DB.prepare(`SELECT count(*) AS n FROM embed_sessions WHERE account_id = ?`)
    .bind(owner.accountId)
    .first<{ n: number }>();
  return r!.n;
}

async function refused(token: string): Promise<void> {
  const before = await sessionCount();
  const r = await exchange(token);
  expect(r.status, r.text).toBe(401);
  expect(r.json.error.code).toBe("invalid_embed_token");
  expect(r.text).not.toContain("accessToken");
  expect(await sessionCount()).toBe(before);
}

beforeAll(async () => {
  owner = await signUp("Embed Tokens Co");
  inboxA = await addMailbox(owner.accountId, A);
  inboxB = await addMailbox(owner.accountId, B);
  partner = await registerPartner(owner, inboxA);
});

describe("embed tokens", () => {
  it("a fresh token signed with the partner's secret opens a session on the partner's inbox", async () => {
    const threadId = await storeMail(owner.accountId, inboxA, {
      from: "Ana <ana@customer.test>",
      to: A,
      subject: "Campaign brief",
      text: "Here is the brief.",
    });
    const r = await exchange(await signHs256(partner.secret!, { iss: partner.id, inbox: A }));
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({
      partner: { id: partner.id, name: "Brand Portal" },
      inbox: { address: A },
      user: { id: "creator-42", name: "Maya Chen" },
      permissions: ["read", "reply", "notes"],
    });
    const list = await embedCall(r.json.accessToken, "/threads");
    expect(list.status).toBe(200);
    expect(list.json.threads.map((t: { id: string }) => t.id)).toContain(threadId);
    // Partner users see the conversation, not the team's assignees, tags or read state.
    expect(Object.keys(list.json.threads[0]).sort()).toEqual(
      ["from", "id", "lastMessageAt", "messageCount", "snippet", "subject"].sort(),
    );
  });

  it("refuses an expired token", async () => {
    await refused(await signHs256(partner.secret!, { iss: partner.id, inbox: A, iat: now() - 900, exp: now() - 120 }));
  });

  it("refuses a token signed with another secret (forged)", async () => {
    await refused(await signHs256("prs_not-the-partners-secret-at-all-000000", { iss: partner.id, inbox: A }));
  });

  it("refuses a token for another audience", async () => {
    await refused(
      await signHs256(partner.secret!, { iss: partner.id, inbox: A, aud: "https://other-postroom.example" }),
    );
  });

  it("refuses a token naming another partner, or none that exists", async () => {
    const other = await registerPartner(owner, inboxA, { name: "Other Portal" });
    // Signed with the first partner's secret but claiming to be the other partner.
    await refused(await signHs256(partner.secret!, { iss: other.id, inbox: A }));
    await refused(await signHs256(partner.secret!, { iss: ulid(), inbox: A }));
  });

  it("refuses a replayed token: the jti is accepted once", async () => {
    const token = await signHs256(partner.secret!, { iss: partner.id, inbox: A });
    expect((await exchange(token)).status).toBe(201);
    await refused(token);
    // The same jti in a newly signed token is a replay too.
    const jti = ulid();
    expect((await exchange(await signHs256(partner.secret!, { iss: partner.id, inbox: A, jti }))).status).toBe(201);
    await refused(await signHs256(partner.secret!, { iss: partner.id, inbox: A, jti }));
  });

  it("refuses a token that lives longer than fifteen minutes, and accepts exactly fifteen", async () => {
    const iat = now();
    await refused(await signHs256(partner.secret!, { iss: partner.id, inbox: A, iat, exp: iat + 15 * 60 + 1 }));
    await refused(await signHs256(partner.secret!, { iss: partner.id, inbox: A, iat: iat + 3600, exp: iat + 3700 }));
    expect(
      (await exchange(await signHs256(partner.secret!, { iss: partner.id, inbox: A, iat, exp: iat + 900 }))).status,
    ).toBe(201);
  });

  it("refuses tokens without a jti, a user or a name", async () => {
    const secret = new TextEncoder().encode(partner.secret!);
    const base = { aud: "http://127.0.0.1:8787", inbox: A, permissions: ["read"], name: "Maya", sub: "u1" };
    const { sub: _sub, ...noSub } = base;
    const { name: _name, ...noName } = base;
    for (const claims of [base, { ...noSub, jti: ulid() }, { ...noName, jti: ulid() }]) {
      await refused(
        await new SignJWT(claims)
          .setProtectedHeader({ alg: "HS256" })
          .setIssuer(partner.id)
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(secret),
      );
    }
  });

  it("refuses an unsigned token (alg none)", async () => {
    const unsigned = new UnsecuredJWT({ inbox: A, permissions: ["read"], name: "Maya", jti: ulid() })
      .setIssuer(partner.id)
      .setAudience("http://127.0.0.1:8787")
      .setSubject("creator-42")
      .setIssuedAt()
      .setExpirationTime("5m")
      .encode();
    await refused(unsigned);
  });

  it("a token for inbox B cannot open the partner's inbox A, nor can its session reach B's conversations", async () => {
    await refused(await signHs256(partner.secret!, { iss: partner.id, inbox: B }));
    const inB = await storeMail(owner.accountId, inboxB, {
      from: "Bo <bo@customer.test>",
      to: B,
      subject: "Invoice 12",
      text: "Billing only.",
    });
    const r = await exchange(await signHs256(partner.secret!, { iss: partner.id, inbox: A }));
    const list = await embedCall(r.json.accessToken, "/threads");
    expect(list.json.threads.map((t: { id: string }) => t.id)).not.toContain(inB);
    expect((await embedCall(r.json.accessToken, `/threads/${inB}`)).status).toBe(404);
    expect((await embedCall(r.json.accessToken, `/threads/${inB}/reply`, { body: { text: "hi" } })).status).toBe(404);
    expect((await embedCall(r.json.accessToken, `/threads/${inB}/notes`, { body: { body: "hi" } })).status).toBe(404);
  });

  it("a JWKS partner's ES256 and RS256 tokens are accepted; HS256 signed with its public key is not", async () => {
    for (const alg of ["ES256", "RS256"] as const) {
      const keys = await publishedKeyPair(alg);
      const jwksPartner = await registerPartner(owner, inboxA, { key: { type: "jwks", jwksUrl: keys.jwksUrl } });
      expect(jwksPartner.secret).toBeNull();
      const good = await signWithKey(alg, keys.privateKey, keys.publicJwk.kid!, { iss: jwksPartner.id, inbox: A });
      expect((await exchange(good)).status).toBe(201);
      // Algorithm confusion: the public key, which anyone can fetch, used as an HMAC secret.
      const publicKey = await importJWK(keys.publicJwk, alg, { extractable: true });
      for (const secret of [await exportSPKI(publicKey as CryptoKey), JSON.stringify(keys.publicJwk)]) {
        await refused(await signHs256(secret, { iss: jwksPartner.id, inbox: A }));
      }
      // A key the partner did not publish.
      const stranger = await publishedKeyPair(alg);
      await refused(
        await signWithKey(alg, stranger.privateKey, keys.publicJwk.kid!, { iss: jwksPartner.id, inbox: A }),
      );
    }
  });

  it("permissions are what both the partner and the token allow", async () => {
    const readOnly = await registerPartner(owner, inboxA, { permissions: ["read"] });
    const threadId = await storeMail(owner.accountId, inboxA, {
      from: "Cy <cy@customer.test>",
      to: A,
      subject: "Read only",
      text: "Hello",
    });
    const r = await exchange(await signHs256(readOnly.secret!, { iss: readOnly.id, inbox: A }));
    expect(r.json.permissions).toEqual(["read"]);
    expect((await embedCall(r.json.accessToken, `/threads/${threadId}/reply`, { body: { text: "hi" } })).status).toBe(
      403,
    );
    expect((await embedCall(r.json.accessToken, `/threads/${threadId}/notes`, { body: { body: "hi" } })).status).toBe(
      403,
    );
    const view = await embedCall(r.json.accessToken, `/threads/${threadId}`);
    expect(view.json.notes).toBeNull();

    const narrow = await exchange(
      await signHs256(partner.secret!, { iss: partner.id, inbox: A, permissions: ["read"] }),
    );
    expect(narrow.json.permissions).toEqual(["read"]);
    await refused(await signHs256(partner.secret!, { iss: partner.id, inbox: A, permissions: ["reply"] }));
  });

  it("rotating the key ends old sessions and the old secret; revoking refuses every token", async () => {
    const p = await registerPartner(owner, inboxA);
    const session = await exchange(await signHs256(p.secret!, { iss: p.id, inbox: A }));
    expect((await embedCall(session.json.accessToken, "/threads")).status).toBe(200);
    const rotated = await call(`/api/partners/${p.id}/rotate`, { cookie: owner.cookie, body: {} });
    expect(rotated.status).toBe(200);
    expect(rotated.json.secret).toMatch(/^prs_/);
    expect(rotated.json.secret).not.toBe(p.secret);
    expect((await embedCall(session.json.accessToken, "/threads")).status).toBe(401);
    await refused(await signHs256(p.secret!, { iss: p.id, inbox: A }));
    const fresh = await exchange(await signHs256(rotated.json.secret, { iss: p.id, inbox: A }));
    expect(fresh.status).toBe(201);

    expect((await call(`/api/partners/${p.id}/revoke`, { cookie: owner.cookie, method: "POST" })).status).toBe(200);
    expect((await embedCall(fresh.json.accessToken, "/threads")).status).toBe(401);
    await refused(await signHs256(rotated.json.secret, { iss: p.id, inbox: A }));
  });

  it("the HS256 secret is shown once and stored only sealed", async () => {
    const p = await registerPartner(owner, inboxA);
    const list = await call("/api/partners", { cookie: owner.cookie });
    expect(list.text).not.toContain(p.secret!);
    for (const table of ["embed_partners", "audit_events", "embed_sessions"]) {
      const rows = await env.DB.prepare(`SELECT * FROM ${table} WHERE account_id = ?`).bind(owner.accountId).all();
      expect(JSON.stringify(rows.results)).not.toContain(p.secret!);
      expect(JSON.stringify(rows.results)).not.toContain(p.secret!.slice(4, 30));
    }
    const row = await env.DB.prepare(`SELECT sealed_secret FROM embed_partners WHERE id = ?`)
      .bind(p.id)
      .first<{ sealed_secret: string }>();
    expect(row!.sealed_secret).toMatch(/^v1\.test1\./);
  });
});
