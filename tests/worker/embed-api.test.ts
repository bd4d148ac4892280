/**
 * The embedded inbox around its tokens: registering partner sites (owners and admins only, exact
 * origins, audited), CORS as an exact allow-list, the frame page's per-partner frame-ancestors, the
 * contact filter, and notes written through a partner shown in the app's thread attributed.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { addMailbox, invite, signUp, type Actor } from "../support/accounts";
import {
  embedCall,
  exchange,
  PARTNER_ORIGIN,
  registerPartner,
  signHs256,
  storeMail,
  type Partner,
} from "../support/embed";
import { APP_ORIGIN, call } from "../support/http";

let owner: Actor;
let member: Actor;
let inbox: string;
let partner: Partner;
const ADDRESS = "creators@embed-api.test";

beforeAll(async () => {
  owner = await signUp("Embed API Co");
  member = await invite(owner, "member");
  inbox = await addMailbox(owner.accountId, ADDRESS);
  partner = await registerPartner(owner, inbox, { origins: [PARTNER_ORIGIN, "http://127.0.0.1:8790"] });
});

const session = async (claims: { contact?: string } = {}) => {
  const r = await exchange(await signHs256(partner.secret!, { iss: partner.id, inbox: ADDRESS, ...claims }));
  expect(r.status, r.text).toBe(201);
  return r.json.accessToken as string;
};

describe("Settings › Partner sites", () => {
  it("lists partners with their origins, inbox and the audience to sign for, never a secret", async () => {
    const r = await call("/api/partners", { cookie: owner.cookie });
    expect(r.status).toBe(200);
    expect(r.json.audience).toBe(APP_ORIGIN);
    expect(r.json.partners[0]).toMatchObject({
      id: partner.id,
      name: "Brand Portal",
      origins: ["http://127.0.0.1:8790", PARTNER_ORIGIN],
      inbox: { id: inbox, address: ADDRESS },
      permissions: ["read", "reply", "notes"],
      keyType: "hs256",
      keyVersion: 1,
      revokedAt: null,
    });
    expect(r.text).not.toContain(partner.secret!);
    const audit = await call("/api/audit?action=partner.registered", { cookie: owner.cookie });
    expect(audit.json.events[0]).toMatchObject({ targetId: partner.id, actorUserId: owner.userId });
  });

  it("is for owners and admins only", async () => {
    expect((await call("/api/partners", { cookie: member.cookie })).status).toBe(403);
    const r = await call("/api/partners", {
      cookie: member.cookie,
      body: { name: "X", origins: [PARTNER_ORIGIN], inboxId: inbox, permissions: ["read"], key: { type: "hs256" } },
    });
    expect(r.status).toBe(403);
  });

  it("refuses origins that are not exact, inboxes of other accounts and permissions without read", async () => {
    const other = await signUp("Someone Else");
    const theirs = await addMailbox(other.accountId);
    const base = {
      name: "X",
      origins: [PARTNER_ORIGIN],
      inboxId: inbox,
      permissions: ["read"],
      key: { type: "hs256" },
    };
    for (const body of [
      { ...base, origins: ["https://portal.partner.test/path"] },
      { ...base, origins: ["http://portal.partner.test"] },
      { ...base, origins: ["*"] },
      { ...base, origins: [] },
      { ...base, permissions: ["reply"] },
      { ...base, inboxId: theirs },
      { ...base, key: { type: "jwks", jwksUrl: "http://keys.partner.test/jwks.json" } },
      { ...base, key: { type: "rsa" } },
    ]) {
      const r = await call("/api/partners", { cookie: owner.cookie, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe("invalid_request");
    }
  });

  it("changes origins, inbox and permissions, audited; narrowing ends current sessions", async () => {
    const p = await registerPartner(owner, inbox);
    const token = (await exchange(await signHs256(p.secret!, { iss: p.id, inbox: ADDRESS }))).json.accessToken;
    const r = await call(`/api/partners/${p.id}`, {
      cookie: owner.cookie,
      method: "PATCH",
      body: { origins: ["https://new.partner.test"], permissions: ["read"] },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.partner).toMatchObject({ origins: ["https://new.partner.test"], permissions: ["read"] });
    expect((await embedCall(token, "/threads")).status).toBe(401);
    const audit = await call("/api/audit?action=partner.updated", { cookie: owner.cookie });
    expect(audit.json.events[0]).toMatchObject({ targetId: p.id });
  });
});

describe("CORS and framing", () => {
  it("answers a preflight only for a registered origin, naming exactly that origin", async () => {
    const ok = await call("/api/embed/threads", {
      method: "OPTIONS",
      headers: { origin: PARTNER_ORIGIN, "access-control-request-method": "GET" },
      origin: null,
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(PARTNER_ORIGIN);
    expect(ok.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();
    expect(ok.headers.get("vary")).toContain("Origin");
    for (const origin of ["https://evil.test", "https://portal.partner.test.evil.test", "null"]) {
      const no = await call("/api/embed/threads", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "GET" },
        origin: null,
      });
      expect(no.status).toBe(403);
      expect(no.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("names the partner's origin on responses to it, and no other", async () => {
    const token = await session();
    const mine = await embedCall(token, "/threads", { origin: PARTNER_ORIGIN });
    expect(mine.status).toBe(200);
    expect(mine.headers.get("access-control-allow-origin")).toBe(PARTNER_ORIGIN);
    const theirs = await embedCall(token, "/threads", { origin: "https://evil.test" });
    expect(theirs.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses an exchange or a reply from an origin that is neither the widget nor the partner", async () => {
    const token = await signHs256(partner.secret!, { iss: partner.id, inbox: ADDRESS });
    const r = await exchange(token, "https://evil.test");
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe("bad_origin");
    const fromPartner = await exchange(
      await signHs256(partner.secret!, { iss: partner.id, inbox: ADDRESS }),
      PARTNER_ORIGIN,
    );
    expect(fromPartner.status).toBe(201);
    expect(fromPartner.headers.get("access-control-allow-origin")).toBe(PARTNER_ORIGIN);
    const threadId = await storeMail(owner.accountId, inbox, {
      from: "Ana <ana@customer.test>",
      to: ADDRESS,
      subject: "Origin",
      text: "x",
    });
    const note = await embedCall(fromPartner.json.accessToken, `/threads/${threadId}/notes`, {
      body: { body: "from evil" },
      origin: "https://evil.test",
    });
    expect(note.status).toBe(403);
  });

  it("the frame page may be framed by exactly the partner's origins; the app by nobody", async () => {
    const page = await call(`/widget/${partner.id}`);
    expect(page.status, "run `npm run build` first: the frame page is a built asset").toBe(200);
    const csp = page.headers.get("content-security-policy")!;
    expect(/frame-ancestors ([^;]*)/.exec(csp)![1]!.split(" ").sort()).toEqual(
      ["http://127.0.0.1:8790", PARTNER_ORIGIN].sort(),
    );
    expect(csp).toContain("script-src 'self'");
    expect(page.headers.get("x-frame-options")).toBeNull();
    expect(page.text).toContain(`name="postroom-origins" content="http://127.0.0.1:8790 ${PARTNER_ORIGIN}"`);

    const unknown = await call("/widget/01J00000000000000000000000");
    expect(/frame-ancestors ([^;]*)/.exec(unknown.headers.get("content-security-policy")!)![1]).toBe("'none'");
    const app = await call("/api/me");
    expect(app.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(app.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("reading and notes through a partner", () => {
  it("a contact-bound token sees only that contact's conversations", async () => {
    const withAna = await storeMail(owner.accountId, inbox, {
      from: "Ana <ANA@creator.test>",
      to: ADDRESS,
      subject: "Ana's post",
      text: "Draft attached.",
    });
    const withBo = await storeMail(owner.accountId, inbox, {
      from: "Bo <bo@creator.test>",
      to: ADDRESS,
      subject: "Bo's post",
      text: "Draft.",
    });
    // Ana is only one of the recipients here, in capitals: she still took part.
    const toAna = await storeMail(owner.accountId, inbox, {
      from: "Cy <cy@creator.test>",
      to: `${ADDRESS}, Ana <Ana@Creator.test>`,
      subject: "Cy copies Ana",
      text: "See below.",
    });
    const token = await session({ contact: "ana@creator.test" });
    const ids = (await embedCall(token, "/threads")).json.threads.map((t: { id: string }) => t.id);
    expect(ids).toContain(withAna);
    expect(ids).toContain(toAna);
    expect(ids).not.toContain(withBo);
    expect((await embedCall(token, `/threads/${withBo}`)).status).toBe(404);
    expect((await embedCall(token, `/threads/${withAna}`)).status).toBe(200);
    expect((await embedCall(token, `/threads/${toAna}`)).status).toBe(200);
  });

  it("a note written in the widget shows in the app's thread as the partner user's, via the partner", async () => {
    const threadId = await storeMail(owner.accountId, inbox, {
      from: "Cy <cy@creator.test>",
      to: ADDRESS,
      subject: "Note me",
      text: "Hello",
    });
    const token = await session();
    const r = await embedCall(token, `/threads/${threadId}/notes`, { body: { body: "Approved on our side." } });
    expect(r.status, r.text).toBe(201);
    const app = await call(`/api/threads/${threadId}`, { cookie: owner.cookie });
    expect(app.json.notes).toHaveLength(1);
    expect(app.json.notes[0]).toMatchObject({
      body: "Approved on our side.",
      author: { name: "Maya Chen" },
      via: { partnerId: partner.id, partnerName: "Brand Portal", userName: "Maya Chen" },
    });
    const widget = await embedCall(token, `/threads/${threadId}`);
    expect(widget.json.notes).toEqual([
      expect.objectContaining({ author: "Maya Chen", body: "Approved on our side." }),
    ]);
    const row = await env.DB.prepare(
      `SELECT action, details FROM audit_events WHERE account_id = ? AND action = 'note.created'`,
    )
      .bind(owner.accountId)
      .first<{ details: string }>();
    expect(JSON.parse(row!.details)).toMatchObject({ viaPartnerId: partner.id, viaUserId: "creator-42" });
  });

  it("bad input gets a 4xx, never a 500", async () => {
    const token = await session();
    expect((await call("/api/embed/session", { body: { token: 5 } })).status).toBe(400);
    expect((await call("/api/embed/session", { rawBody: "{" })).status).toBe(400);
    expect((await exchange("not.a.jwt-at-all-really")).status).toBe(401);
    expect((await embedCall(token, "/threads?limit=500")).status).toBe(400);
    expect((await embedCall(token, "/threads/not-an-id")).status).toBe(400);
    expect((await embedCall(token, `/threads/01J00000000000000000000000/reply`, { body: { text: "" } })).status).toBe(
      400,
    );
    expect((await call("/api/embed/threads", { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    expect((await call("/api/embed/threads")).status).toBe(401);
  });
});
