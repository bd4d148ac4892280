/**
 * The shared inbox's collaboration API on threads stored through the real message store: views and
 * filters, status and snooze, assignment, tags, notes with @mentions, read state, hiding, search and
 * the stale-reply refusal. No provider is involved (the mailboxes are plain rows), so the tests are
 * exact and fast.
 */
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { ulid } from "ulid";
import { beforeAll, describe, expect, it } from "vitest";
import * as schema from "../../worker/db/schema";
import { storeMessage } from "../../worker/sync/store-message";
import { addMailbox, invite, signUp, type Actor } from "../support/accounts";
import { call } from "../support/http";
import { mailTo } from "../support/outbox";
import { deliver } from "../support/store-mail";

const db = drizzle(env.DB, { schema });
const enc = new TextEncoder();

let owner: Actor;
let member: Actor;
let light: Actor;
let sales: string;
let support: string;
const t = { pricing: "", invoice: "", outage: "" };

const list = async (who: Actor, query = "") => {
  const r = await call(`/api/threads${query ? `?${query}` : ""}`, { cookie: who.cookie });
  expect(r.status, r.text).toBe(200);
  return r.json.threads as {
    id: string;
    status: string;
    unread: boolean;
    tags: string[];
    assignee: { id: string } | null;
  }[];
};
const ids = async (who: Actor, query = "") => (await list(who, query)).map((x) => x.id).sort();
const patch = (who: Actor, threadId: string, body: unknown) =>
  call(`/api/threads/${threadId}`, { cookie: who.cookie, method: "PATCH", body });

beforeAll(async () => {
  owner = await signUp("Collab Co");
  member = await invite(owner, "member");
  light = await invite(owner, "light");
  sales = await addMailbox(owner.accountId, "sales@collab.test");
  support = await addMailbox(owner.accountId, "support@collab.test");
  // The member may use sales@ only; the light user both.
  await call(`/api/inboxes/${sales}/access`, {
    cookie: owner.cookie,
    method: "PUT",
    body: { userIds: [member.userId, light.userId] },
  });
  await call(`/api/inboxes/${support}/access`, {
    cookie: owner.cookie,
    method: "PUT",
    body: { userIds: [light.userId] },
  });
  const base = Date.now() - 60_000;
  t.pricing = await deliver(owner.accountId, sales, {
    id: "pricing@customer.test",
    subject: "Pricing for 40 seats",
    to: "sales@collab.test",
    body: "Could you send a quote with the volume discount?",
    at: base,
  });
  t.invoice = await deliver(owner.accountId, sales, {
    id: "invoice@nile.test",
    subject: "Invoice INV-12405",
    from: "Ahmed El-Sayed <ahmed@nile.test>",
    to: "sales@collab.test",
    body: "Our VAT number is wrong on the invoice.",
    attachment: true,
    at: base + 1000,
  });
  t.outage = await deliver(owner.accountId, support, {
    id: "outage@fjord.test",
    subject: "Export stuck at 99%",
    from: "Björn Ólafsson <bjorn@fjord.test>",
    to: "support@collab.test",
    body: "The export has been stuck for an hour.",
    at: base + 2000,
  });
});

describe("views and permissions", () => {
  it("lists every inbox the caller may use, newest first; a member sees only their inboxes", async () => {
    expect(await ids(owner)).toEqual([t.pricing, t.invoice, t.outage].sort());
    expect((await list(owner)).map((x) => x.id)).toEqual([t.outage, t.invoice, t.pricing]);
    expect(await ids(member)).toEqual([t.pricing, t.invoice].sort());
    expect((await call(`/api/threads/${t.outage}`, { cookie: member.cookie })).status).toBe(404);
    const one = await call(`/api/inboxes/${support}/threads`, { cookie: owner.cookie });
    expect(one.json.threads.map((x: { id: string }) => x.id)).toEqual([t.outage]);
  });

  it("refuses bad filters with a JSON 400 that names the field", async () => {
    for (const q of ["status=done", "assignee=bob", "unread=yes", "view=mine", "tag=%3Cscript%3E", "limit=0"]) {
      const r = await call(`/api/threads?${q}`, { cookie: owner.cookie });
      expect(r.status, q).toBe(400);
      expect(r.json.error.code).toBe("invalid_request");
    }
  });
});

describe("status, snooze and assignment", () => {
  it("closes, snoozes and reopens; an inbound message reopens a closed thread", async () => {
    expect((await patch(member, t.pricing, { status: "closed" })).status).toBe(200);
    expect(await ids(owner, "status=closed")).toEqual([t.pricing]);
    expect(await ids(owner, "status=open")).toEqual([t.invoice, t.outage].sort());

    await deliver(owner.accountId, sales, {
      id: "pricing-2@customer.test",
      subject: "Re: Pricing for 40 seats",
      to: "sales@collab.test",
      inReplyTo: "pricing@customer.test",
    });
    expect(await ids(owner, "status=closed")).toEqual([]);
    const detail = await call(`/api/threads/${t.pricing}`, { cookie: owner.cookie });
    expect(detail.json).toMatchObject({ status: "open", messages: [{}, {}] });

    // Mail we send ourselves does not reopen it.
    expect((await patch(owner, t.pricing, { status: "closed" })).status).toBe(200);
    await deliver(
      owner.accountId,
      sales,
      {
        id: "pricing-3@collab.test",
        subject: "Re: Pricing for 40 seats",
        from: "sales@collab.test",
        to: "ana@customer.test",
        inReplyTo: "pricing-2@customer.test",
      },
      true,
    );
    expect(await ids(owner, "status=closed")).toEqual([t.pricing]);
    expect((await patch(owner, t.pricing, { status: "open" })).status).toBe(200);
  });

  it("a snooze needs a time in the future and reads open once it ran out", async () => {
    expect((await patch(owner, t.invoice, { status: "snoozed" })).status).toBe(400);
    expect((await patch(owner, t.invoice, { status: "snoozed", snoozedUntil: Date.now() - 1000 })).status).toBe(400);
    expect((await patch(owner, t.invoice, { status: "open", snoozedUntil: Date.now() + 1000 })).status).toBe(400);
    const until = Date.now() + 3_600_000;
    const r = await patch(owner, t.invoice, { status: "snoozed", snoozedUntil: until });
    expect(r.json).toMatchObject({ status: "snoozed", snoozedUntil: until });
    expect(await ids(owner, "status=snoozed")).toEqual([t.invoice]);
    await env.DB.prepare(`UPDATE threads SET snoozed_until = ? WHERE id = ?`)
      .bind(Date.now() - 1, t.invoice)
      .run();
    expect(await ids(owner, "status=snoozed")).toEqual([]);
    expect((await list(owner, "status=open")).map((x) => x.id)).toContain(t.invoice);
  });

  it("assigns to a teammate who can see the thread, filters by assignee, and unassigns", async () => {
    expect((await patch(owner, t.outage, { assigneeId: member.userId })).status).toBe(400);
    expect((await patch(owner, t.pricing, { assigneeId: ulid() })).status).toBe(400);
    const r = await patch(owner, t.pricing, { assigneeId: member.userId });
    expect(r.status).toBe(200);
    expect(r.json.assignee).toMatchObject({ id: member.userId, email: member.email });
    expect(await ids(member, "view=assigned")).toEqual([t.pricing]);
    expect(await ids(owner, "view=assigned")).toEqual([]);
    expect(await ids(owner, `assignee=${member.userId}`)).toEqual([t.pricing]);
    expect(await ids(owner, "assignee=none")).toEqual([t.invoice, t.outage].sort());
    expect((await patch(light, t.pricing, { assigneeId: null })).status).toBe(403);
    expect((await patch(owner, t.pricing, { assigneeId: null })).json.assignee).toBeNull();
  });
});

describe("tags, notes and read state", () => {
  it("tags a thread (case-insensitively, at most 20) and filters by tag", async () => {
    const put = (tags: unknown) =>
      call(`/api/threads/${t.invoice}/tags`, { cookie: member.cookie, method: "PUT", body: { tags } });
    expect((await put(["VIP", "billing", "vip"])).json.tags).toEqual(["billing", "vip"]);
    expect(await ids(owner, "tag=VIP")).toEqual([t.invoice]);
    expect((await put(Array.from({ length: 21 }, (_, i) => `t${i}`))).status).toBe(400);
    expect((await put(["no\nnewlines"])).status).toBe(400);
    expect((await list(owner)).find((x) => x.id === t.invoice)!.tags).toEqual(["billing", "vip"]);
  });

  it("a note with @mentions emails the teammates it names who can see the thread", async () => {
    const handle = member.email.split("@")[0];
    const r = await call(`/api/threads/${t.invoice}/notes`, {
      cookie: light.cookie,
      body: { body: `@${handle} can you take this? cc @${owner.email} and @nobody` },
    });
    expect(r.status, r.text).toBe(201);
    expect(r.json.note.mentions.map((m: { id: string }) => m.id).sort()).toEqual([member.userId, owner.userId].sort());
    const mention = (await mailTo(member.email)).find((m) => m.subject.includes("mentioned you"));
    expect(mention?.text).toContain(`/threads/${t.invoice}`);
    expect((await mailTo(owner.email)).some((m) => m.subject.includes("mentioned you"))).toBe(true);
    // The author is not told about their own note.
    expect((await mailTo(light.email)).some((m) => m.subject.includes("mentioned you"))).toBe(false);
    const detail = await call(`/api/threads/${t.invoice}`, { cookie: owner.cookie });
    expect(detail.json.notes).toHaveLength(1);
    expect(detail.json.notes[0]).toMatchObject({
      author: { id: light.userId },
      body: expect.stringContaining("take this"),
    });
    expect(
      (await call(`/api/threads/${t.invoice}/notes`, { cookie: light.cookie, body: { body: "   " } })).status,
    ).toBe(400);
  });

  it("tracks read state per user: opening reads; new activity or marking unread makes it unread", async () => {
    const unread = async (who: Actor) => (await list(who, "unread=true")).map((x) => x.id);
    expect(await unread(member)).toContain(t.pricing);
    await call(`/api/threads/${t.pricing}`, { cookie: member.cookie });
    expect(await unread(member)).not.toContain(t.pricing);
    expect(await unread(owner)).toContain(t.pricing);
    await call(`/api/threads/${t.pricing}/read`, { cookie: member.cookie, method: "PUT", body: { read: false } });
    expect(await unread(member)).toContain(t.pricing);
    await call(`/api/threads/${t.pricing}/read`, { cookie: member.cookie, method: "PUT", body: { read: true } });
    expect(await unread(member)).not.toContain(t.pricing);
    await deliver(owner.accountId, sales, {
      id: "pricing-4@customer.test",
      subject: "Re: Pricing for 40 seats",
      to: "sales@collab.test",
      inReplyTo: "pricing-3@collab.test",
      at: Date.now() + 1000,
    });
    expect(await unread(member)).toContain(t.pricing);
  });
});

describe("the inbox list", () => {
  it("counts each inbox's open conversations the caller has not read, and shows its health", async () => {
    const counts = async (who: Actor) =>
      Object.fromEntries(
        ((await call("/api/inboxes", { cookie: who.cookie })).json.inboxes as { id: string; unread: number }[]).map(
          (i) => [i.id, i.unread],
        ),
      );
    const expected = async (who: Actor, inbox: string) =>
      (await call(`/api/inboxes/${inbox}/threads?status=open&unread=true`, { cookie: who.cookie })).json.threads.length;
    const before = await counts(member);
    expect(Object.keys(before)).toEqual([sales]);
    expect(before[sales]).toBe(await expected(member, sales));
    expect(before[sales]).toBeGreaterThan(0);
    const first = (await call(`/api/inboxes/${sales}/threads?status=open&unread=true`, { cookie: member.cookie })).json
      .threads[0].id;
    await call(`/api/threads/${first}`, { cookie: member.cookie });
    expect((await counts(member))[sales]).toBe(before[sales]! - 1);
    const list = (await call("/api/inboxes", { cookie: owner.cookie })).json.inboxes;
    expect(list.map((i: { health: string }) => i.health)).toEqual(["good", "good"]);
  });
});

describe("search", () => {
  it("finds by words, phrases and operators, within the caller's inboxes only", async () => {
    expect(await ids(owner, "q=vat")).toEqual([t.invoice]);
    expect(await ids(owner, `q=${encodeURIComponent('"stuck for an hour"')}`)).toEqual([t.outage]);
    expect(await ids(owner, "q=from%3Abjorn")).toEqual([t.outage]);
    expect(await ids(owner, "q=bjorn")).toEqual([t.outage]);
    expect(await ids(owner, "q=björn")).toEqual([t.outage]);
    expect(await ids(owner, "q=has%3Aattachment")).toEqual([t.invoice]);
    expect(await ids(owner, "q=subject%3Aexport")).toEqual([t.outage]);
    expect(await ids(owner, "q=in%3Asupport%40collab.test")).toEqual([t.outage]);
    expect(await ids(owner, "q=tag%3Avip")).toEqual([t.invoice]);
    expect(await ids(owner, "q=-invoice")).not.toContain(t.invoice);
    expect(await ids(owner, "q=quot")).toEqual([t.pricing]);
    expect(await ids(member, "q=export")).toEqual([]);
    // FTS5 syntax in the box is just text.
    for (const q of ['"a" OR b', "NEAR(a b)", "{body}: x", "a*", "^start", "(", '"']) {
      const r = await call(`/api/threads?q=${encodeURIComponent(q)}`, { cookie: owner.cookie });
      expect(r.status, q).toBe(200);
    }
  });
});

describe("hiding and stale replies", () => {
  it("hides a thread from every list (audited); new mail never brings it back; it can be unhidden", async () => {
    expect((await call(`/api/threads/${t.outage}/hide`, { cookie: light.cookie, method: "POST" })).status).toBe(403);
    expect((await call(`/api/threads/${t.outage}/hide`, { cookie: owner.cookie, method: "POST" })).status).toBe(200);
    expect(await ids(owner)).not.toContain(t.outage);
    await deliver(owner.accountId, support, {
      id: "outage-2@fjord.test",
      subject: "Re: Export stuck at 99%",
      to: "support@collab.test",
      inReplyTo: "outage@fjord.test",
    });
    expect(await ids(owner)).not.toContain(t.outage);
    const audit = await call("/api/audit?action=thread.hidden", { cookie: owner.cookie });
    expect(audit.json.events[0]).toMatchObject({ targetId: t.outage, actorEmail: owner.email });
    expect((await call(`/api/threads/${t.outage}/hide`, { cookie: owner.cookie, method: "DELETE" })).status).toBe(200);
    expect(await ids(owner)).toContain(t.outage);
  });

  it("refuses a reply written before a new message or note arrived, with what is new", async () => {
    const before = await call(`/api/threads/${t.invoice}`, { cookie: owner.cookie });
    const version = before.json.version as number;
    await call(`/api/threads/${t.invoice}/notes`, { cookie: member.cookie, body: { body: "I am on it" } });
    await deliver(owner.accountId, sales, {
      id: "invoice-2@nile.test",
      subject: "Re: Invoice INV-12405",
      from: "Ahmed El-Sayed <ahmed@nile.test>",
      to: "sales@collab.test",
      inReplyTo: "invoice@nile.test",
      body: "Any news?",
    });
    const r = await call(`/api/threads/${t.invoice}/reply`, {
      cookie: owner.cookie,
      body: { inboxId: sales, to: ["ahmed@nile.test"], text: "Fixed.", baseVersion: version },
    });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("thread_changed");
    expect(r.json.error.details.version).toBe(version + 2);
    expect(r.json.error.details.messages.map((m: { text: string }) => m.text.trim())).toEqual(["Any news?"]);
    expect(r.json.error.details.notes.map((n: { body: string }) => n.body)).toEqual(["I am on it"]);
    // Written against the current version, it goes on (and here stops at the unconnected mailbox).
    const again = await call(`/api/threads/${t.invoice}/reply`, {
      cookie: owner.cookie,
      body: { inboxId: sales, to: ["ahmed@nile.test"], text: "Fixed.", baseVersion: version + 2 },
    });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("inbox_unavailable");
  });

  it("the viewing of a thread is audited", async () => {
    await call(`/api/threads/${t.pricing}`, { cookie: member.cookie });
    const audit = await call("/api/audit?action=thread.viewed", { cookie: owner.cookie });
    expect(audit.json.events[0]).toMatchObject({ targetId: t.pricing, actorEmail: member.email });
  });
});

describe("HTML bodies and attachments", () => {
  it("serves the HTML part sanitized, under a strict CSP, with remote images blocked until asked", async () => {
    const raw = [
      "From: Mallory <mallory@evil.test>",
      "To: sales@collab.test",
      "Subject: Newsletter",
      "Message-ID: <html-1@evil.test>",
      "MIME-Version: 1.0",
      'Content-Type: multipart/related; boundary="r"',
      "",
      "--r",
      "Content-Type: text/html; charset=utf-8",
      "",
      '<p onclick="steal()">Hi<script>alert(1)</script><img src="https://tracker.evil.test/p.gif"><img src="cid:logo@x"></p><a href="javascript:alert(2)">x</a>',
      "--r",
      "Content-Type: image/png",
      "Content-ID: <logo@x>",
      "Content-Disposition: inline",
      "Content-Transfer-Encoding: base64",
      "",
      "iVBORw0KGgo=",
      "--r--",
      "",
    ].join("\r\n");
    const stored = await storeMessage(db, env.RAW_MAIL, {
      accountId: owner.accountId,
      mailboxId: sales,
      providerMessageId: ulid(),
      providerThreadId: null,
      providerThreadReliable: false,
      labels: ["INBOX"],
      outbound: false,
      receivedAt: Date.now(),
      raw: enc.encode(raw),
    });
    if (!("threadId" in stored)) throw new Error("not stored");
    const path = `/api/threads/${stored.threadId}/messages/${stored.messageId}/body`;
    const r = await call(path, { cookie: member.cookie });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    expect(r.headers.get("content-security-policy")).toMatch(/script-src 'none'/);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.headers.get("x-blocked-remote-images")).toBe("1");
    expect(r.text).not.toMatch(/<script|onclick|javascript:|\ssrc="https:\/\/tracker/i);
    const cid = /src="([^"]+attachments\/[^"]+)"/.exec(r.text)?.[1];
    expect(cid).toBeTruthy();
    const image = await call(cid!.replace(/&amp;/g, "&"), { cookie: member.cookie });
    expect(image.status).toBe(200);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect(image.headers.get("content-disposition")).toMatch(/^inline/);
    const allowed = await call(`${path}?images=1`, { cookie: member.cookie });
    expect(allowed.text).toContain("https://tracker.evil.test/p.gif");
    expect(allowed.headers.get("content-security-policy")).toMatch(/img-src[^;]*https:/);
    expect((await call(`${path}?images=2`, { cookie: member.cookie })).status).toBe(400);
    // Someone without access to the inbox gets nothing.
    const outsider = await invite(owner, "member");
    expect((await call(path, { cookie: outsider.cookie })).status).toBe(404);
  });

  it("serves attachments as downloads with nosniff, audited, and only within their own thread", async () => {
    const file = await env.DB.prepare(
      `SELECT a.id FROM attachments a JOIN messages m ON m.account_id = a.account_id AND m.id = a.message_id WHERE m.thread_id = ?`,
    )
      .bind(t.invoice)
      .first<{ id: string }>();
    const r = await call(`/api/threads/${t.invoice}/attachments/${file!.id}`, { cookie: member.cookie });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename*=UTF-8''quote.pdf`);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    // A PDF never shows inline, even when asked.
    const inline = await call(`/api/threads/${t.invoice}/attachments/${file!.id}?inline=1`, { cookie: member.cookie });
    expect(inline.headers.get("content-disposition")).toMatch(/^attachment/);
    expect((await call(`/api/threads/${t.pricing}/attachments/${file!.id}`, { cookie: member.cookie })).status).toBe(
      404,
    );
    const audit = await call("/api/audit?action=attachment.downloaded", { cookie: owner.cookie });
    expect(audit.json.events[0]).toMatchObject({ targetId: t.invoice, actorEmail: member.email });
  });
});
