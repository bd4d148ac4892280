/**
 * The permission matrix of every conversation route, for every role: owners and admins reach every
 * inbox; members and light users only the inboxes they were given (otherwise the thread answers like
 * one that does not exist); light users read and write notes but never change or send; contributors
 * and signed-out callers get nothing. Sending is allowed through to the provider step, which answers
 * 409 inbox_unavailable here (the mailbox has no grant), so a permitted send is told apart from a
 * refused one without sending anything. Exporting a conversation is also covered here.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { addContributor, addMailbox, invite, signUp, type Actor } from "../support/accounts";
import { call, type CallResult } from "../support/http";
import { deliver } from "../support/store-mail";

type Who = "owner" | "admin" | "memberIn" | "memberOut" | "lightIn" | "lightOut" | "contributor" | "signedOut";
const EVERYONE: Who[] = ["owner", "admin", "memberIn", "memberOut", "lightIn", "lightOut", "contributor", "signedOut"];

async function sha256Hex(value: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Contributors cannot sign in, so their session is planted directly to prove the API refuses it anyway. */
async function contributorCookie(accountId: string): Promise<string> {
  const { userId } = await addContributor(accountId);
  const id = crypto.randomUUID().replace(/-/g, "") + "contrib";
  await env.DB.prepare(
    `INSERT INTO sessions (id_hash, account_id, user_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)`,
  )
    .bind(await sha256Hex(id), accountId, userId, Date.now(), Date.now() + 3600_000, Date.now())
    .run();
  return `__Host-postroom_session=${id}`;
}

let owner: Actor;
const cookies = {} as Record<Who, string>;
let inboxId: string;
let threadId: string;
let messageId: string;
let attachmentId: string;

beforeAll(async () => {
  owner = await signUp("Matrix Mail");
  const admin = await invite(owner, "admin");
  const memberIn = await invite(owner, "member");
  const memberOut = await invite(owner, "member");
  const lightIn = await invite(owner, "light");
  const lightOut = await invite(owner, "light");
  inboxId = await addMailbox(owner.accountId, "sales@matrix.test");
  const other = await addMailbox(owner.accountId, "other@matrix.test");
  await call(`/api/inboxes/${inboxId}/access`, {
    cookie: owner.cookie,
    method: "PUT",
    body: { userIds: [memberIn.userId, lightIn.userId] },
  });
  // The "out" users may use another inbox, just not this one.
  await call(`/api/inboxes/${other}/access`, {
    cookie: owner.cookie,
    method: "PUT",
    body: { userIds: [memberOut.userId, lightOut.userId] },
  });
  Object.assign(cookies, {
    owner: owner.cookie,
    admin: admin.cookie,
    memberIn: memberIn.cookie,
    memberOut: memberOut.cookie,
    lightIn: lightIn.cookie,
    lightOut: lightOut.cookie,
    contributor: await contributorCookie(owner.accountId),
    signedOut: "",
  });
  threadId = await deliver(owner.accountId, inboxId, {
    id: "matrix-1@customer.test",
    subject: "Matrix question",
    to: "sales@matrix.test",
    html: "<p>Hello <b>team</b></p>",
    attachment: true,
  });
  messageId = (await env.DB.prepare(`SELECT id FROM messages WHERE thread_id = ?`).bind(threadId).first<{
    id: string;
  }>())!.id;
  attachmentId = (await env.DB.prepare(`SELECT id FROM attachments WHERE message_id = ?`).bind(messageId).first<{
    id: string;
  }>())!.id;
});

type Access = "read" | "change" | "send";
const READERS: Who[] = ["owner", "admin", "memberIn", "lightIn"];
const CHANGERS: Who[] = ["owner", "admin", "memberIn"];

/**
 * What each caller gets: the route's answer when allowed, otherwise how it is refused. Routes under
 * /api/inboxes/:inboxId check the inbox first, so there a light user without the inbox gets 404.
 */
function expected(who: Who, access: Access, ok: number, inboxScoped = false): number {
  if (who === "signedOut") return 401;
  if (who === "contributor") return 403;
  if (access === "read") return READERS.includes(who) ? ok : 404;
  if (inboxScoped && who === "lightOut") return 404;
  // Light users are refused for their role before anything about the thread is looked at.
  if (who === "lightIn" || who === "lightOut") return 403;
  return CHANGERS.includes(who) ? ok : 404;
}

interface Case {
  route: string;
  access: Access;
  ok: number;
  inboxScoped?: boolean;
  run: (cookie: string) => Promise<CallResult>;
  /** For a permitted call, what proves it did the thing (beyond the status). */
  check?: (r: CallResult) => void;
}

const send = { to: ["ana@customer.test"], text: "Answer" };
const CASES: Case[] = [
  {
    route: "GET /api/inboxes/:inboxId/threads",
    access: "read",
    ok: 200,
    run: (cookie) => call(`/api/inboxes/${inboxId}/threads`, { cookie }),
    check: (r) => expect(r.json.threads.map((t: { id: string }) => t.id)).toContain(threadId),
  },
  {
    route: "GET /api/threads/:threadId",
    access: "read",
    ok: 200,
    run: (cookie) => call(`/api/threads/${threadId}`, { cookie }),
    check: (r) => expect(r.json.messages.map((m: { id: string }) => m.id)).toEqual([messageId]),
  },
  {
    route: "GET /api/threads/:threadId/messages/:messageId/body",
    access: "read",
    ok: 200,
    run: (cookie) => call(`/api/threads/${threadId}/messages/${messageId}/body`, { cookie }),
    check: (r) => expect(r.text).toContain("team"),
  },
  {
    route: "GET /api/threads/:threadId/attachments/:attachmentId",
    access: "read",
    ok: 200,
    run: (cookie) => call(`/api/threads/${threadId}/attachments/${attachmentId}`, { cookie }),
    check: (r) => expect(r.headers.get("content-disposition")).toMatch(/^attachment;/),
  },
  {
    route: "GET /api/threads/:threadId/export",
    access: "read",
    ok: 200,
    run: (cookie) => call(`/api/threads/${threadId}/export`, { cookie }),
    check: (r) => expect(r.text).toContain("Subject: Matrix question"),
  },
  {
    route: "POST /api/threads/:threadId/notes",
    access: "read",
    ok: 201,
    run: (cookie) => call(`/api/threads/${threadId}/notes`, { cookie, body: { body: "A note" } }),
  },
  {
    route: "PUT /api/threads/:threadId/read",
    access: "read",
    ok: 200,
    run: (cookie) => call(`/api/threads/${threadId}/read`, { cookie, method: "PUT", body: { read: true } }),
  },
  {
    route: "PATCH /api/threads/:threadId",
    access: "change",
    ok: 200,
    run: (cookie) => call(`/api/threads/${threadId}`, { cookie, method: "PATCH", body: { status: "open" } }),
  },
  {
    route: "PUT /api/threads/:threadId/tags",
    access: "change",
    ok: 200,
    run: (cookie) => call(`/api/threads/${threadId}/tags`, { cookie, method: "PUT", body: { tags: ["vip"] } }),
  },
  {
    route: "POST /api/threads/:threadId/hide, then DELETE",
    access: "change",
    ok: 200,
    run: async (cookie) => {
      const hidden = await call(`/api/threads/${threadId}/hide`, { cookie, method: "POST" });
      const shown = await call(`/api/threads/${threadId}/hide`, { cookie, method: "DELETE" });
      expect(shown.status).toBe(hidden.status);
      return shown;
    },
  },
  {
    route: "POST /api/threads/:threadId/reply",
    access: "send",
    ok: 409,
    run: (cookie) => call(`/api/threads/${threadId}/reply`, { cookie, body: { inboxId, ...send } }),
    check: (r) => expect(r.json.error.code).toBe("inbox_unavailable"),
  },
  {
    route: "POST /api/threads/:threadId/forward",
    access: "send",
    ok: 409,
    run: (cookie) => call(`/api/threads/${threadId}/forward`, { cookie, body: { inboxId, to: send.to } }),
    check: (r) => expect(r.json.error.code).toBe("inbox_unavailable"),
  },
  {
    route: "POST /api/inboxes/:inboxId/messages",
    access: "send",
    ok: 409,
    inboxScoped: true,
    run: (cookie) => call(`/api/inboxes/${inboxId}/messages`, { cookie, body: { ...send, subject: "New" } }),
    check: (r) => expect(r.json.error.code).toBe("inbox_unavailable"),
  },
];

describe("permission matrix for the conversation routes", () => {
  for (const c of CASES) {
    for (const who of EVERYONE) {
      const want = expected(who, c.access, c.ok, c.inboxScoped);
      it(`${c.route} as ${who}: ${want}`, async () => {
        const r = await c.run(cookies[who]);
        expect(r.status, r.text).toBe(want);
        if (want === c.ok) c.check?.(r);
        // A refusal never says what the conversation is.
        else expect(r.text).not.toContain("Matrix question");
      });
    }
  }

  it("the cross-inbox list shows the conversation to its readers only", async () => {
    for (const who of EVERYONE) {
      for (const view of ["all", "assigned"]) {
        const r = await call(`/api/threads?view=${view}`, { cookie: cookies[who] });
        expect(r.status, `${who} ${view}`).toBe(expected(who, "read", 200) === 404 ? 200 : expected(who, "read", 200));
        if (r.status !== 200) continue;
        const ids = r.json.threads.map((t: { id: string }) => t.id);
        if (view === "all") expect(ids.includes(threadId), who).toBe(READERS.includes(who));
        else expect(ids.includes(threadId), who).toBe(false);
      }
    }
  });
});

describe("GET /api/threads/:threadId/export", () => {
  it("is an mbox of the raw messages and the notes, in time order, with a safe file name, and is audited", async () => {
    const tricky = await deliver(owner.accountId, inboxId, {
      id: "export-1@customer.test",
      subject: 'Q3 "plan"; filename=evil.sh \\ ../../x',
      to: "sales@matrix.test",
      body: "From the start\n>From quoted\nplain line",
    });
    const note = await call(`/api/threads/${tricky}/notes`, {
      cookie: owner.cookie,
      body: { body: "Internal: price is firm ünïcödé" },
    });
    expect(note.status).toBe(201);
    await deliver(owner.accountId, inboxId, {
      id: "export-2@customer.test",
      subject: 'Re: Q3 "plan"; filename=evil.sh \\ ../../x',
      to: "sales@matrix.test",
      inReplyTo: "export-1@customer.test",
      body: "Second message",
      at: Date.now() + 1000,
    });
    const r = await call(`/api/threads/${tricky}/export`, { cookie: cookies.memberIn });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/mbox");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    const disposition = r.headers.get("content-disposition")!;
    expect(disposition).toBe(
      `attachment; filename="Q3 plan filenameevil.sh ....x.mbox"; filename*=UTF-8''Q3%20plan%20filenameevil.sh%20....x.mbox`,
    );
    const separators = r.text.split("\n").filter((l) => /^From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(l));
    expect(separators).toHaveLength(3);
    const parts = r.text.split(/^From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/m).filter(Boolean);
    expect(parts).toHaveLength(3);
    expect(parts[0]).toContain("Message-ID: <export-1@customer.test>");
    // mboxrd: body lines starting with "From " (after any ">") get one more ">".
    expect(parts[0]).toContain("\n>From the start\n>>From quoted\nplain line");
    expect(parts[1]).toMatch(/^X-Postroom-Note: yes\r?$/m);
    expect(parts[1]).toContain(owner.email);
    expect(parts[2]).toContain("Message-ID: <export-2@customer.test>");
    // The note's text survives byte for byte (UTF-8 in a MIME part).
    const noteBody = parts[1]!;
    const encoded = /Content-Transfer-Encoding: (\S+)/i.exec(noteBody)?.[1]?.toLowerCase();
    const bodyText = noteBody.slice(noteBody.indexOf("\n\n") + 2).trim();
    if (encoded === "base64") {
      const b64 = bodyText
        .split(/\n/)
        .filter((l) => /^[A-Za-z0-9+/=]+$/.test(l))
        .join("");
      expect(new TextDecoder().decode(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)))).toContain(
        "Internal: price is firm ünïcödé",
      );
    } else {
      expect(noteBody).toContain("Internal: price is firm");
    }
    const audit = await env.DB.prepare(
      `SELECT actor_email FROM audit_events WHERE account_id = ? AND action = 'thread.exported' AND target_id = ?`,
    )
      .bind(owner.accountId, tricky)
      .all<{ actor_email: string }>();
    expect(audit.results.map((a) => a.actor_email)).toHaveLength(1);
  });
});
