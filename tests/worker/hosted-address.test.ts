/**
 * Requesting a hosted shared address: owners and admins only; the local part is validated,
 * reserved names are refused with their reason, and an address is unique across every account.
 * The inbox exists at once, empty, with a MailboxDO of kind hosted.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLocalPart, hostedDomain, hostedRecipient } from "../../worker/hosted/address";
import { invite, signUp, type Actor } from "../support/accounts";
import { HOSTED_DOMAIN, uniqueLocalPart } from "../support/hosted";
import { call } from "../support/http";

let owner: Actor;

beforeAll(async () => {
  owner = await signUp("Hosted Address Co");
});

const request = (who: Actor, localPart: unknown, envOverrides?: Record<string, unknown>) =>
  call("/api/connections/hosted", {
    cookie: who.cookie,
    body: { localPart },
    ...(envOverrides ? { envOverrides } : {}),
  });

describe("POST /api/connections/hosted", () => {
  it("creates the inbox at once: listed, healthy, live, with nothing to import", async () => {
    const localPart = uniqueLocalPart("Brand");
    const r = await request(owner, `  ${localPart}  `);
    expect(r.status).toBe(201);
    const address = `${localPart.toLowerCase()}@${HOSTED_DOMAIN}`;
    expect(r.json.connection).toMatchObject({ address, provider: "hosted", kind: "shared", health: "good" });
    const id = r.json.connection.id as string;

    const inboxes = await call("/api/inboxes", { cookie: owner.cookie });
    expect(inboxes.json.inboxes).toContainEqual(
      expect.objectContaining({ id, address, provider: "hosted", unread: 0 }),
    );
    const connections = await call("/api/connections", { cookie: owner.cookie });
    expect(connections.json.hostedDomain).toBe(HOSTED_DOMAIN);
    expect(connections.json.connections.map((c: { id: string }) => c.id)).toContain(id);
    const sync = await call(`/api/connections/${id}/sync`, { cookie: owner.cookie });
    expect(sync.json).toMatchObject({
      phase: "live",
      backfill: { done: 0, total: 0 },
      lastSyncAt: null,
      skippedCount: 0,
      storedCount: 0,
    });
    const threads = await call(`/api/inboxes/${id}/threads`, { cookie: owner.cookie });
    expect(threads.json.threads).toEqual([]);

    const described = await env.MAILBOX.getByName(id).describe();
    expect(described).toMatchObject({ mailboxId: id, connected: true });
    expect(await env.MAILBOX.getByName(id).health()).toMatchObject({ health: "good", reason: null });
    const audit = await call("/api/audit?action=connection.hosted_created", { cookie: owner.cookie });
    expect(audit.json.events[0]).toMatchObject({ targetId: id, details: { address } });
  });

  it("refuses malformed local parts field by field", async () => {
    for (const bad of [
      "",
      "two words",
      ".dot",
      "dot.",
      "a..b",
      "a+b",
      "ünïcode",
      "x".repeat(65),
      "semi;colon",
      "a@b",
    ]) {
      const r = await request(owner, bad);
      expect(r.status, bad).toBe(400);
      expect(r.json.error.code, bad).toBe("invalid_request");
      expect(r.json.error.details[0].path, bad).toBe("localPart");
    }
    const wrongType = await request(owner, 42);
    expect(wrongType.status).toBe(400);
    const extra = await call("/api/connections/hosted", {
      cookie: owner.cookie,
      body: { localPart: uniqueLocalPart(), domain: "evil.test" },
    });
    expect(extra.status).toBe(400);
  });

  it("refuses reserved names with the reason", async () => {
    for (const name of ["postmaster", "Abuse", "mailer-daemon", "no-reply", "postroom"]) {
      const r = await request(owner, name);
      expect(r.status, name).toBe(409);
      expect(r.json.error.code).toBe("address_reserved");
      expect(r.json.error.message).toMatch(new RegExp(`^${name.toLowerCase()} is reserved: .+`));
    }
  });

  it("gives each address to one inbox of one account only", async () => {
    const localPart = uniqueLocalPart("unique");
    expect((await request(owner, localPart)).status).toBe(201);
    const again = await request(owner, localPart.toUpperCase());
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: "address_taken" });
    const other = await signUp("Other Co");
    const elsewhere = await request(other, localPart);
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.json.error.code).toBe("address_taken");
    // Two requests at once for one name: exactly one wins.
    const race = uniqueLocalPart("race");
    const results = await Promise.all([request(owner, race), request(other, race)]);
    expect(results.map((x) => x.status).sort()).toEqual([201, 409]);
  });

  it("is for owners and admins only", async () => {
    const admin = await invite(owner, "admin");
    const member = await invite(owner, "member");
    const light = await invite(owner, "light");
    expect((await request(admin, uniqueLocalPart())).status).toBe(201);
    expect((await request(member, uniqueLocalPart())).status).toBe(403);
    expect((await request(light, uniqueLocalPart())).status).toBe(403);
    const anonymous = await call("/api/connections/hosted", { body: { localPart: uniqueLocalPart() } });
    expect(anonymous.status).toBe(401);
    const foreignOrigin = await call("/api/connections/hosted", {
      cookie: owner.cookie,
      origin: "https://evil.example",
      body: { localPart: uniqueLocalPart() },
    });
    expect(foreignOrigin.status).toBe(403);
  });

  it("says clearly when the server has no hosted domain", async () => {
    const r = await request(owner, uniqueLocalPart(), { HOSTED_DOMAIN: "" });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("hosted_disabled");
    const list = await call("/api/connections", { cookie: owner.cookie, envOverrides: { HOSTED_DOMAIN: "" } });
    expect(list.json.hostedDomain).toBeNull();
  });

  it("removing the inbox with its conversations releases the address but keeps it reserved", async () => {
    const localPart = uniqueLocalPart("gone");
    const created = await request(owner, localPart);
    const del = await call(`/api/connections/${created.json.connection.id}?threads=delete`, {
      cookie: owner.cookie,
      method: "DELETE",
    });
    expect(del.status).toBe(204);
    const row = await env.DB.prepare(`SELECT released_at FROM hosted_addresses WHERE address = ?`)
      .bind(`${localPart}@${HOSTED_DOMAIN}`)
      .first<{ released_at: number | null }>();
    expect(row!.released_at).toBeGreaterThan(0);
    expect((await request(owner, localPart)).status).toBe(409);
  });
});

describe("the address rules", () => {
  it("reads the hosted domain strictly", () => {
    expect(hostedDomain({ HOSTED_DOMAIN: " Hosted.Postroom.Test " })).toBe("hosted.postroom.test");
    expect(hostedDomain({ HOSTED_DOMAIN: "" })).toBeNull();
    expect(hostedDomain({ HOSTED_DOMAIN: "not a domain" })).toBeNull();
    expect(hostedDomain({})).toBeNull();
  });

  it("checks local parts and maps recipients", () => {
    expect(checkLocalPart("Sales.Team_2")).toEqual({ ok: true, localPart: "sales.team_2" });
    expect(checkLocalPart("security")).toMatchObject({ ok: false, code: "reserved" });
    expect(checkLocalPart("-x")).toMatchObject({ ok: false, code: "invalid" });
    expect(hostedRecipient("Brand+Orders@HOSTED.postroom.test", "hosted.postroom.test")).toBe(
      "brand@hosted.postroom.test",
    );
    expect(hostedRecipient("brand@elsewhere.test", "hosted.postroom.test")).toBeNull();
    expect(hostedRecipient("+x@hosted.postroom.test", "hosted.postroom.test")).toBeNull();
    expect(hostedRecipient("brand@sub.hosted.postroom.test", "hosted.postroom.test")).toBeNull();
  });
});
