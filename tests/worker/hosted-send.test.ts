/**
 * Sending from a hosted address: replies and new conversations go out through the EMAIL binding
 * (Cloudflare Email Sending) with the hosted address as From, In-Reply-To and References within
 * the platform's header limits, and nothing a user typed can add a header. The sent copy is stored
 * under the Message-ID the platform reports, so the customer's answer threads; a refused send makes
 * the inbox Degraded with the reason until the next one goes through.
 */
import { env } from "cloudflare:workers";
import PostalMime from "postal-mime";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_HEADER_BYTES } from "../../worker/hosted/send";
import { invite, signUp, type Actor } from "../support/accounts";
import { deliver, mime, recordingEmail, requestHosted, uniqueLocalPart, type EmailBuilder } from "../support/hosted";
import { call } from "../support/http";
import { mailTo } from "../support/outbox";

let owner: Actor;
let inbox: { id: string; address: string };

beforeAll(async () => {
  owner = await signUp("Hosted Send Co");
  inbox = await requestHosted(owner);
});

type Builder = EmailBuilder & { to: string[]; headers: Record<string, string> };

/** Delivers a customer's message and returns its conversation as the API shows it. */
async function inbound(o: { subject?: string; references?: string; inReplyTo?: string } = {}) {
  const id = `c-${uniqueLocalPart()}@customer.test`;
  const d = await deliver(mime({ id, to: inbox.address, ...o }), { from: "ana@customer.test", to: inbox.address });
  expect(d.rejected).toBeNull();
  const row = await env.DB.prepare(`SELECT thread_id FROM messages WHERE account_id = ? AND rfc_message_id = ?`)
    .bind(owner.accountId, id)
    .first<{ thread_id: string }>();
  const thread = await call(`/api/threads/${row!.thread_id}`, { cookie: owner.cookie });
  return { rfcId: id, threadId: row!.thread_id, version: thread.json.version as number };
}

const sentCopy = async (threadId: string) => {
  const row = await env.DB.prepare(
    `SELECT m.raw_key AS k FROM messages m JOIN message_sources s ON s.account_id = m.account_id AND s.message_id = m.id
     WHERE m.account_id = ? AND m.thread_id = ? AND s.outbound = 1 ORDER BY m.created_at DESC LIMIT 1`,
  )
    .bind(owner.accountId, threadId)
    .first<{ k: string }>();
  const raw = await (await env.RAW_MAIL.get(row!.k))!.text();
  return { raw, parsed: await PostalMime.parse(raw) };
};

describe("a reply from a hosted inbox", () => {
  it("goes through the binding from the hosted address, threaded, and the sent copy carries the platform's Message-ID", async () => {
    const root = `root-${uniqueLocalPart()}@customer.test`;
    const c = await inbound({ subject: "Order 1042", references: `<${root}>`, inReplyTo: root });
    const mail = recordingEmail();
    const r = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      envOverrides: mail.env,
      body: { inboxId: inbox.id, to: ["ana@customer.test"], text: "It ships today.", baseVersion: c.version },
    });
    expect(r.status).toBe(201);
    expect(mail.calls).toHaveLength(1);
    const builder = mail.calls[0] as Builder;
    expect(builder).toMatchObject({
      from: inbox.address,
      to: ["ana@customer.test"],
      subject: "Re: Order 1042",
      text: "It ships today.",
      headers: { "In-Reply-To": `<${c.rfcId}>`, References: `<${root}> <${c.rfcId}>` },
    });
    // Only the headers Email Sending allows: Message-ID, Date, From, To and Subject are the platform's.
    expect(Object.keys(builder.headers).sort()).toEqual(["In-Reply-To", "References"]);
    const platformId = mail.results[0]!.messageId;
    expect(r.json.rfcMessageId).toBe(platformId.replace(/^<|>$/g, ""));

    const { raw, parsed } = await sentCopy(c.threadId);
    expect(parsed.from?.address).toBe(inbox.address);
    expect(parsed.messageId).toBe(platformId);
    expect(parsed.inReplyTo).toBe(`<${c.rfcId}>`);
    expect(parsed.references).toBe(`<${root}> <${c.rfcId}>`);
    expect(parsed.subject).toBe("Re: Order 1042");
    // Exactly one of each threading header, whatever the subject or text held.
    expect(raw.match(/^In-Reply-To:/gim)).toHaveLength(1);
    expect(raw.match(/^Message-ID:/gim)).toHaveLength(1);

    // The customer answers the message they got: it joins the same conversation.
    const answer = `answer-${uniqueLocalPart()}@customer.test`;
    await deliver(mime({ id: answer, to: inbox.address, subject: "Re: Order 1042", inReplyTo: r.json.rfcMessageId }), {
      from: "ana@customer.test",
      to: inbox.address,
    });
    const joined = await env.DB.prepare(`SELECT thread_id FROM messages WHERE account_id = ? AND rfc_message_id = ?`)
      .bind(owner.accountId, answer)
      .first<{ thread_id: string }>();
    expect(joined!.thread_id).toBe(c.threadId);

    // In development the message shows in the outbox, sent from the hosted address.
    const [dev] = await mailTo("ana@customer.test");
    expect(dev).toMatchObject({ from: inbox.address, subject: "Re: Order 1042", text: "It ships today." });
  });

  it("keeps References within 2,048 bytes, the root first and the parent last", async () => {
    const tag = uniqueLocalPart();
    const chain = Array.from({ length: 150 }, (_, i) => `chain-${i}-${tag}-0123456789@customer.test`);
    const c = await inbound({ subject: "Long", references: chain.map((id) => `<${id}>`).join(" ") });
    const mail = recordingEmail();
    const r = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      envOverrides: mail.env,
      body: { inboxId: inbox.id, to: ["ana@customer.test"], text: "Noted." },
    });
    expect(r.status).toBe(201);
    const refs = (mail.calls[0] as Builder).headers["References"]!;
    expect(new TextEncoder().encode(refs).byteLength).toBeLessThanOrEqual(MAX_HEADER_BYTES);
    const ids = refs.split(" ");
    expect(ids[0]).toBe(`<${chain[0]}>`);
    expect(ids.at(-1)).toBe(`<${c.rfcId}>`);
    expect(ids.length).toBeLessThanOrEqual(100);
  });

  it("refuses a subject that would add a header, and sends nothing", async () => {
    const c = await inbound({ subject: "Injection" });
    const mail = recordingEmail();
    const r = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      envOverrides: mail.env,
      body: { inboxId: inbox.id, to: ["ana@customer.test"], subject: "Hi\r\nBcc: thief@evil.test", text: "x" },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_request");
    const bad = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      envOverrides: mail.env,
      body: { inboxId: inbox.id, to: ["ana@customer.test\r\nBcc: thief@evil.test"], text: "x" },
    });
    expect(bad.status).toBe(400);
    expect(mail.calls).toEqual([]);
  });

  it("refuses more than 50 recipients in all, as Email Sending does", async () => {
    const c = await inbound();
    const to = Array.from({ length: 50 }, (_, i) => `r${i}@customer.test`);
    const r = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      body: { inboxId: inbox.id, to, cc: ["one-more@customer.test"], text: "Hello all" },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("too_many_recipients");
  });
});

describe("a new conversation from a hosted inbox", () => {
  it("is sent without reply headers, with cc and bcc kept apart", async () => {
    const mail = recordingEmail();
    const r = await call(`/api/inboxes/${inbox.id}/messages`, {
      cookie: owner.cookie,
      envOverrides: mail.env,
      body: {
        to: ["lead@prospect.test"],
        cc: ["boss@prospect.test"],
        bcc: ["crm@ourco.test"],
        subject: "Welcome",
        text: "Hi!",
      },
    });
    expect(r.status).toBe(201);
    const builder = mail.calls[0] as Builder;
    expect(builder).toMatchObject({
      from: inbox.address,
      to: ["lead@prospect.test"],
      cc: ["boss@prospect.test"],
      bcc: ["crm@ourco.test"],
      subject: "Welcome",
      headers: {},
    });
    const list = await call(`/api/inboxes/${inbox.id}/threads?status=open`, { cookie: owner.cookie });
    expect(list.json.threads.map((t: { id: string }) => t.id)).toContain(r.json.threadId);
  });
});

describe("health", () => {
  it("turns Degraded with the reason when Email Sending refuses, and Good again after the next send", async () => {
    const c = await inbound();
    // The platform's answer is the stand-in here: a delivery failure it reports with its error code.
    const mail = recordingEmail();
    mail.refuseNext("E_DELIVERY_FAILED");
    const failed = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      envOverrides: mail.env,
      body: { inboxId: inbox.id, to: ["ana@customer.test"], text: "First try" },
    });
    expect(failed.status).toBe(502);
    expect(failed.json.error).toMatchObject({ code: "send_failed" });
    expect(failed.json.error.message).toContain("E_DELIVERY_FAILED");
    const degraded = (await call("/api/connections", { cookie: owner.cookie })).json.connections.find(
      (x: { id: string }) => x.id === inbox.id,
    );
    expect(degraded).toMatchObject({ health: "degraded", healthReason: "send_failed" });
    expect(degraded.healthDetail).toContain("E_DELIVERY_FAILED");
    const rail = (await call("/api/inboxes", { cookie: owner.cookie })).json.inboxes.find(
      (x: { id: string }) => x.id === inbox.id,
    );
    expect(rail.health).toBe("degraded");

    const ok = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      envOverrides: mail.env,
      body: { inboxId: inbox.id, to: ["ana@customer.test"], text: "Second try" },
    });
    expect(ok.status).toBe(201);
    const good = (await call("/api/connections", { cookie: owner.cookie })).json.connections.find(
      (x: { id: string }) => x.id === inbox.id,
    );
    expect(good).toMatchObject({ health: "good", healthReason: null });
  });

  it("does not blame the address for a refused recipient", async () => {
    const c = await inbound();
    const mail = recordingEmail();
    mail.refuseNext("E_RECIPIENT_SUPPRESSED");
    const r = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      envOverrides: mail.env,
      body: { inboxId: inbox.id, to: ["bounced@customer.test"], text: "Hello?" },
    });
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe("recipient_refused");
    const row = (await call("/api/connections", { cookie: owner.cookie })).json.connections.find(
      (x: { id: string }) => x.id === inbox.id,
    );
    expect(row.health).toBe("good");
  });
});

describe("who may send", () => {
  it("members with access may; light users and members without access may not", async () => {
    const member = await invite(owner, "member");
    const light = await invite(owner, "light");
    const c = await inbound();
    const body = { inboxId: inbox.id, to: ["ana@customer.test"], text: "From the team" };
    const noAccess = await call(`/api/threads/${c.threadId}/reply`, { cookie: member.cookie, body });
    expect(noAccess.status).toBe(404);
    await call(`/api/inboxes/${inbox.id}/access`, {
      cookie: owner.cookie,
      method: "PUT",
      body: { userIds: [member.userId, light.userId] },
    });
    const lightTry = await call(`/api/threads/${c.threadId}/reply`, { cookie: light.cookie, body });
    expect(lightTry.status).toBe(403);
    const memberTry = await call(`/api/threads/${c.threadId}/reply`, { cookie: member.cookie, body });
    expect(memberTry.status).toBe(201);
    // The member sees the hosted inbox in their list now, like any other inbox they were given.
    const mine = (await call("/api/inboxes", { cookie: member.cookie })).json.inboxes.map((i: { id: string }) => i.id);
    expect(mine).toContain(inbox.id);
  });

  it("is refused when hosted addresses were turned off on the server", async () => {
    const c = await inbound();
    const r = await call(`/api/threads/${c.threadId}/reply`, {
      cookie: owner.cookie,
      body: { inboxId: inbox.id, to: ["ana@customer.test"], text: "x" },
      envOverrides: { HOSTED_DOMAIN: "" },
    });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("hosted_disabled");
  });
});

describe("Postroom's own mail", () => {
  it("is marked Auto-Submitted: auto-generated, so auto-responders leave it alone (RFC 3834)", async () => {
    const mail = recordingEmail();
    const r = await call("/api/auth/signin", { body: { email: owner.email }, envOverrides: mail.env });
    expect(r.status).toBe(202);
    const builder = mail.calls.at(-1) as Builder;
    expect(builder.headers).toMatchObject({ "Auto-Submitted": "auto-generated" });
  });
});
