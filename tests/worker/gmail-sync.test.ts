/**
 * Gmail sync against the emulator: backfill through the real queue, live sync from the cursor,
 * recovery from an expired history id. Only this file delivers mail to sales@demo.test, so the
 * counts are exact.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { signUp, type Actor } from "../support/accounts";
import { connect, emulatorAdmin } from "../support/connect";
import { call } from "../support/http";
import { chaosMaxOps, chaosRuns, chaosTimeoutMs } from "../support/chaos";
import { testFile, uploadFile } from "../support/uploads";
import PostalMime from "postal-mime";
import { decodeRaw } from "../../worker/providers/gmail";

const MAILBOX = "sales@demo.test";

async function deliver(n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await emulatorAdmin("/deliver", {
      to: MAILBOX,
      from: `Customer ${i} <customer${i}@example.com>`,
      subject: `${prefix} ${i}`,
      text: `Body of ${prefix} ${i}`,
    });
    expect(r.status).toBe(201);
    ids.push((r.json as { deliveries: { id: string }[] }).deliveries[0]!.id);
  }
  return ids;
}

async function storedCount(accountId: string, inboxId: string): Promise<number> {
  const r = await env.DB.prepare(`SELECT count(*) AS n FROM message_sources WHERE account_id = ? AND mailbox_id = ?`)
    .bind(accountId, inboxId)
    .first<{ n: number }>();
  return r!.n;
}

async function duplicateRfcIds(accountId: string): Promise<number> {
  const r = await env.DB.prepare(
    `SELECT count(*) AS n FROM (SELECT rfc_message_id FROM messages WHERE account_id = ? GROUP BY rfc_message_id HAVING count(*) > 1)`,
  )
    .bind(accountId)
    .first<{ n: number }>();
  return r!.n;
}

/** The Gmail API as the mailbox's owner would use it from their own client (same grant). */
async function gmailApi(path: string, init: RequestInit = {}): Promise<Response> {
  const lease = await env.MAILBOX.getByName(inboxId).leaseAccessToken();
  if (!lease.ok) throw new Error(`no lease: ${lease.reason}`);
  return fetch(`${env.GMAIL_API_BASE}/gmail/v1/users/me${path}`, {
    ...init,
    headers: { authorization: `Bearer ${lease.accessToken}`, "content-type": "application/json" },
  });
}

let owner: Actor;
let inboxId: string;
let total = 0;

describe("Gmail sync", () => {
  it("backfills the mailbox through the queue, then goes live", { timeout: 60_000 }, async () => {
    // Older than the default 30-day window: left out until the window is widened (last test).
    await emulatorAdmin("/deliver", {
      to: MAILBOX,
      from: "Archive <archive@example.com>",
      subject: "Forty-five days old",
      text: "From before the window",
      receivedAt: Date.now() - 45 * 86_400_000,
    });
    total += (await deliver(12, "Backfill")).length;
    owner = await signUp("Sync Co");
    const r = await connect(owner, MAILBOX, "google", { account: MAILBOX });
    expect(r.outcome).toBe("connected");
    inboxId = r.inboxId!;
    const stub = env.MAILBOX.getByName(inboxId);
    await vi.waitFor(
      async () => {
        const status = await stub.syncStatus();
        expect(status.phase).toBe("live");
        expect(await storedCount(owner.accountId, inboxId)).toBe(total);
      },
      { timeout: 45_000, interval: 250 },
    );
    const status = await stub.syncStatus();
    expect(status.backfill).toMatchObject({ done: total, total, enumerated: true, etaSeconds: 0 });
    const api = await call(`/api/connections/${inboxId}/sync`, { cookie: owner.cookie });
    expect(api.status).toBe(200);
    expect(api.json).toMatchObject({
      phase: "live",
      backfill: { done: total, total },
      skippedCount: 0,
      storedCount: total,
    });
    // The inbox lists every synced thread, newest first, across pages without gaps or repeats.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(`/api/inboxes/${inboxId}/threads?limit=5${cursor ? `&cursor=${cursor}` : ""}`, {
        cookie: owner.cookie,
      });
      expect(page.status).toBe(200);
      seen.push(...page.json.threads.map((t: { id: string }) => t.id));
      cursor = page.json.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    const first = await call(`/api/inboxes/${inboxId}/threads?limit=1`, { cookie: owner.cookie });
    const detail = await call(`/api/threads/${first.json.threads[0].id}`, { cookie: owner.cookie });
    expect(detail.status).toBe(200);
    expect(detail.json.inboxes).toEqual([{ id: inboxId, address: MAILBOX, kind: "shared" }]);
    expect(detail.json.messages).toHaveLength(1);
    expect(detail.json.messages[0].text).toMatch(/^Body of Backfill \d+/);
    expect(first.json.threads[0]).toMatchObject({
      messageCount: 1,
      from: { address: expect.stringMatching(/@example\.com$/) },
    });
    expect(await duplicateRfcIds(owner.accountId)).toBe(0);
  });

  it("a hint brings new mail in; stale and repeated hints change nothing", { timeout: 30_000 }, async () => {
    const stub = env.MAILBOX.getByName(inboxId);
    total += (await deliver(3, "Live")).length;
    await stub.hint();
    await stub.hint();
    await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
      timeout: 15_000,
      interval: 200,
    });
    // A stale history id (older than the cursor) is ignored.
    expect((await stub.hint("1")).accepted).toBe(false);
    await stub.hint();
    await new Promise((r) => setTimeout(r, 500));
    expect(await storedCount(owner.accountId, inboxId)).toBe(total);
    expect(await duplicateRfcIds(owner.accountId)).toBe(0);
  });

  it("an expired history id recovers every message, none twice", { timeout: 60_000 }, async () => {
    const stub = env.MAILBOX.getByName(inboxId);
    total += (await deliver(4, "Gap")).length;
    const expired = await emulatorAdmin("/gmail/expire-history", { account: MAILBOX });
    expect(expired.status).toBe(200);
    await stub.hint();
    await vi.waitFor(
      async () => {
        expect(await storedCount(owner.accountId, inboxId)).toBe(total);
        expect((await stub.syncStatus()).phase).toBe("live");
      },
      { timeout: 45_000, interval: 250 },
    );
    expect(await duplicateRfcIds(owner.accountId)).toBe(0);
  });

  it(
    "mail trashed or deleted in the mailbox leaves the inbox; mail taken out of the trash comes back",
    { timeout: 60_000 },
    async () => {
      const stub = env.MAILBOX.getByName(inboxId);
      const [trashed, deleted] = await deliver(2, "Short-lived");
      total += 2;
      await stub.hint();
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
      const rowOf = (id: string) =>
        env.DB.prepare(
          `SELECT m.id, m.thread_id, m.raw_key FROM message_sources s JOIN messages m ON m.account_id = s.account_id AND m.id = s.message_id
           WHERE s.account_id = ? AND s.mailbox_id = ? AND s.provider_message_id = ?`,
        )
          .bind(owner.accountId, inboxId, id)
          .first<{ id: string; thread_id: string; raw_key: string }>();
      const before = (await rowOf(deleted!))!;
      expect(await env.RAW_MAIL.head(before.raw_key)).not.toBeNull();

      expect((await gmailApi(`/messages/${trashed}/trash`, { method: "POST" })).status).toBe(200);
      expect((await emulatorAdmin("/gmail/delete-message", { account: MAILBOX, id: deleted })).status).toBe(200);
      total -= 2;
      await stub.hint();
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
      expect(await rowOf(trashed!)).toBeNull();
      // Nothing of the deleted message stays: not its thread, not its raw MIME.
      const thread = await call(`/api/threads/${before.thread_id}`, { cookie: owner.cookie });
      expect(thread.status).toBe(404);
      expect(await env.RAW_MAIL.head(before.raw_key)).toBeNull();

      expect((await gmailApi(`/messages/${trashed}/untrash`, { method: "POST" })).status).toBe(200);
      total += 1;
      await stub.hint();
      await vi.waitFor(async () => expect(await rowOf(trashed!)).not.toBeNull(), { timeout: 15_000, interval: 200 });
      expect(await storedCount(owner.accountId, inboxId)).toBe(total);
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    },
  );

  it("a member sees the inbox's conversations only once given access to the inbox", async () => {
    const { invite } = await import("../support/accounts");
    const member = await invite(owner, "member");
    const threadId = (await call(`/api/inboxes/${inboxId}/threads?limit=1`, { cookie: owner.cookie })).json.threads[0]
      .id;
    expect((await call(`/api/inboxes/${inboxId}/threads`, { cookie: member.cookie })).status).toBe(404);
    expect((await call(`/api/threads/${threadId}`, { cookie: member.cookie })).status).toBe(404);
    await call(`/api/inboxes/${inboxId}/access`, {
      cookie: owner.cookie,
      method: "PUT",
      body: { userIds: [member.userId] },
    });
    expect((await call(`/api/inboxes/${inboxId}/threads`, { cookie: member.cookie })).status).toBe(200);
    expect((await call(`/api/threads/${threadId}`, { cookie: member.cookie })).status).toBe(200);
  });

  it(
    "a backfill whose queue messages went missing is listed again, and completes without doubles",
    { timeout: 30_000 },
    async () => {
      const { runInDurableObject } = await import("cloudflare:test");
      const stub = env.MAILBOX.getByName(inboxId);
      // As if five queued ids were lost four minutes ago: enumerated, not done, no progress since.
      await runInDurableObject(stub, async (instance, state) => {
        state.storage.sql.exec(
          `UPDATE sync_state SET phase = 'backfilling', backfill_total = backfill_done + 5, backfill_progress_at = ?`,
          Date.now() - 4 * 60_000,
        );
        await instance.alarm();
      });
      await vi.waitFor(async () => expect((await stub.syncStatus()).phase).toBe("live"), {
        timeout: 20_000,
        interval: 200,
      });
      expect(await storedCount(owner.accountId, inboxId)).toBe(total);
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    },
  );

  it("a watch that cannot be renewed shows as Degraded (push lapsed) until it can", { timeout: 30_000 }, async () => {
    const { runInDurableObject } = await import("cloudflare:test");
    const stub = env.MAILBOX.getByName(inboxId);
    await emulatorAdmin("/faults/errors", { target: "gmail", status: 503, count: 50, pathIncludes: "/watch" });
    await runInDurableObject(stub, async (instance, state) => {
      state.storage.sql.exec(`UPDATE sync_state SET watch_expires_at = ?`, Date.now() + 60_000);
      await instance.alarm();
    });
    const row = async () =>
      (await env.DB.prepare(`SELECT health, health_reason FROM mailboxes WHERE id = ?`)
        .bind(inboxId)
        .first<{ health: string; health_reason: string | null }>())!;
    expect(await row()).toEqual({ health: "degraded", health_reason: "push_lapsed" });
    await emulatorAdmin("/faults", undefined, "DELETE");
    await runInDurableObject(stub, async (instance) => {
      await instance.alarm();
    });
    expect(await row()).toEqual({ health: "good", health_reason: null });
  });

  it("a queue message naming another account's mailbox is refused and stores nothing", async () => {
    const before = await storedCount(owner.accountId, inboxId);
    const lease = await env.MAILBOX.getByName(inboxId).backfillLease("01OTHERACC0VNT000000000000", inboxId);
    expect(lease).toEqual({ ok: false, reason: "not_this_mailbox" });
    expect(await storedCount(owner.accountId, inboxId)).toBe(before);
  });
});

describe("Gmail push, end to end", () => {
  interface Recorded {
    seq: number;
    path: string;
    headers: Record<string, string>;
    body: string;
  }
  async function pushesFor(address: string, since: number): Promise<Recorded[]> {
    const r = await fetch(`${env.TEST_PUSH_RELAY_URL}/__relay/pushes?since=${since}`);
    const { pushes } = (await r.json()) as { pushes: Recorded[] };
    return pushes.filter(
      (p) => p.path === "/webhooks/google" && atob(JSON.parse(p.body).message.data).includes(address),
    );
  }
  async function replay(p: Recorded, overrides?: Record<string, string>) {
    return call("/webhooks/google", {
      rawBody: p.body,
      origin: null,
      headers: { authorization: p.headers["authorization"]!, "content-type": "application/json" },
      ...(overrides ? { envOverrides: overrides } : {}),
    });
  }

  /** Delivers `n` messages a second after the last push, so Gmail tells of them, and waits for that push. */
  async function deliverAndAwaitPush(n: number, prefix: string): Promise<Recorded[]> {
    const relayStart = Math.max(0, ...(await pushesFor(MAILBOX, 0)).map((p) => p.seq));
    // Gmail drops notifications above one per second per mailbox (a fresh watch has just sent one).
    await new Promise((r) => setTimeout(r, 1100));
    total += (await deliver(n, prefix)).length;
    let pushes: Recorded[] = [];
    await vi.waitFor(
      async () => {
        pushes = await pushesFor(MAILBOX, relayStart);
        expect(pushes.length).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 50 },
    );
    return pushes;
  }

  it(
    "the emulator's signed push, replayed to the route, brings new mail in; replays and stale pushes do no harm",
    { timeout: 30_000 },
    async () => {
      const pushes = await deliverAndAwaitPush(2, "Pushed");
      const latest = pushes.at(-1)!;
      const r = await replay(latest);
      expect(r.status).toBe(204);
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
      // The same push again, and an older one: nothing changes.
      for (const p of [latest, ...pushes]) expect((await replay(p)).status).toBe(204);
      await new Promise((res) => setTimeout(res, 500));
      expect(await storedCount(owner.accountId, inboxId)).toBe(total);
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    },
  );

  it(
    "mail whose push Gmail dropped (within a second of the last) still comes in seconds later, with no push for it",
    { timeout: 30_000 },
    async () => {
      const told = (await deliverAndAwaitPush(1, "Told")).at(-1)!;
      expect((await replay(told)).status).toBe(204);
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 10_000,
        interval: 50,
      });
      // The sync for the push is done; the next mail comes within Gmail's second, so it is not told.
      const droppedBefore = ((await emulatorAdmin("/gmail/push-dropped")).json as { dropped: unknown[] }).dropped
        .length;
      total += (await deliver(1, "Untold")).length;
      const { dropped } = (await emulatorAdmin("/gmail/push-dropped")).json as {
        dropped: { address: string }[];
      };
      expect(dropped.slice(droppedBefore).map((d) => d.address)).toEqual([MAILBOX]);
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 10_000,
        interval: 200,
      });
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    },
  );

  it("a genuine push for another audience or service account is refused and changes nothing", async () => {
    const [p] = await pushesFor(MAILBOX, 0);
    expect(p).toBeDefined();
    const before = await storedCount(owner.accountId, inboxId);
    expect((await replay(p!, { PUBSUB_PUSH_AUDIENCE: "https://other.example/webhooks/google" })).status).toBe(401);
    expect((await replay(p!, { PUBSUB_PUSH_SERVICE_ACCOUNT: "someone-else@x.iam.gserviceaccount.com" })).status).toBe(
      401,
    );
    expect(await storedCount(owner.accountId, inboxId)).toBe(before);
  });
});

describe("replying from the mailbox", () => {
  async function gmailMessage(id: string) {
    const lease = await env.MAILBOX.getByName(inboxId).leaseAccessToken();
    if (!lease.ok) throw new Error("no lease");
    const r = await fetch(`${env.GMAIL_API_BASE}/gmail/v1/users/me/messages/${id}?format=raw`, {
      headers: { authorization: `Bearer ${lease.accessToken}` },
    });
    return (await r.json()) as { id: string; threadId: string; labelIds: string[]; raw: string };
  }

  it(
    "sends through Gmail into the thread, shows at once, and is not doubled by the sync",
    { timeout: 30_000 },
    async () => {
      const list = await call(`/api/inboxes/${inboxId}/threads?limit=1`, { cookie: owner.cookie });
      const threadId = list.json.threads[0].id as string;
      const before = (await call(`/api/threads/${threadId}`, { cookie: owner.cookie })).json;
      const parent = before.messages.at(-1);
      const r = await call(`/api/threads/${threadId}/reply`, {
        cookie: owner.cookie,
        body: {
          inboxId,
          to: [parent.from.address],
          cc: ["boss@example.com"],
          text: "Thanks, we will get back to you.",
        },
      });
      expect(r.status).toBe(201);
      expect(r.json.threadId).toBe(threadId);
      const after = (await call(`/api/threads/${threadId}`, { cookie: owner.cookie })).json;
      expect(after.messages).toHaveLength(before.messages.length + 1);
      const mine = after.messages.at(-1);
      expect(mine.from.address).toBe(MAILBOX);
      expect(mine.to.map((t: { address: string }) => t.address)).toEqual([parent.from.address]);
      expect(mine.cc.map((t: { address: string }) => t.address)).toEqual(["boss@example.com"]);

      // In the mailbox's own Sent folder, in the provider's thread, with correct threading headers.
      const source = await env.DB.prepare(
        `SELECT provider_message_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, mine.id)
        .first<{ provider_message_id: string }>();
      const inGmail = await gmailMessage(source!.provider_message_id);
      expect(inGmail.labelIds).toContain("SENT");
      const parentSource = await env.DB.prepare(
        `SELECT provider_thread_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, parent.id)
        .first<{ provider_thread_id: string }>();
      expect(inGmail.threadId).toBe(parentSource!.provider_thread_id);
      const raw = atob(inGmail.raw.replace(/-/g, "+").replace(/_/g, "/"));
      const parentRow = await env.DB.prepare(`SELECT rfc_message_id FROM messages WHERE id = ?`)
        .bind(parent.id)
        .first<{ rfc_message_id: string }>();
      expect(raw).toMatch(
        new RegExp(`In-Reply-To: <${parentRow!.rfc_message_id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}>`),
      );
      expect(raw).toContain(`References: `);

      // The sync sees the sent copy too: still one message.
      total += 1;
      await env.MAILBOX.getByName(inboxId).hint();
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
      const again = (await call(`/api/threads/${threadId}`, { cookie: owner.cookie })).json;
      expect(again.messages).toHaveLength(before.messages.length + 1);
    },
  );

  it(
    "forwards a message with its attachments, and starts new conversations, from the shared address",
    { timeout: 30_000 },
    async () => {
      const raw = [
        "From: Nina Berg <nina@fjord.example>",
        `To: ${MAILBOX}`,
        "Subject: Signed quote",
        "Message-ID: <signed-quote@fjord.example>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="q"',
        "",
        "--q",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Here is the signed quote.",
        "--q",
        'Content-Type: application/pdf; name="quote.pdf"',
        'Content-Disposition: attachment; filename="quote.pdf"',
        "Content-Transfer-Encoding: base64",
        "",
        "JVBERi0xLjQKJcfsj6IK",
        "--q--",
        "",
      ].join("\r\n");
      expect((await emulatorAdmin("/deliver", { to: MAILBOX, raw: btoa(raw) })).status).toBe(201);
      total += 1;
      await env.MAILBOX.getByName(inboxId).hint();
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
      const found = await call(`/api/threads?q=${encodeURIComponent('subject:"signed quote"')}`, {
        cookie: owner.cookie,
      });
      const threadId = found.json.threads[0].id as string;

      const fwd = await call(`/api/threads/${threadId}/forward`, {
        cookie: owner.cookie,
        body: { inboxId, to: ["legal@partner.example"], text: "For your records." },
      });
      expect(fwd.status, fwd.text).toBe(201);
      expect(fwd.json.threadId).toBe(threadId);
      total += 1;
      const thread = (await call(`/api/threads/${threadId}`, { cookie: owner.cookie })).json;
      const sent = thread.messages.at(-1);
      expect(sent.subject).toBe("Fwd: Signed quote");
      expect(sent.to.map((t: { address: string }) => t.address)).toEqual(["legal@partner.example"]);
      expect(sent.attachments.map((a: { filename: string }) => a.filename)).toEqual(["quote.pdf"]);
      const source = await env.DB.prepare(
        `SELECT provider_message_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, sent.id)
        .first<{ provider_message_id: string }>();
      const inGmail = await gmailMessage(source!.provider_message_id);
      expect(inGmail.labelIds).toContain("SENT");
      const mime = atob(inGmail.raw.replace(/-/g, "+").replace(/_/g, "/"));
      expect(mime).toContain("Forwarded message");
      expect(mime).toContain("For your records.");
      expect(mime).toMatch(/filename="?quote\.pdf/);
      expect(mime).toContain("JVBERi0xLjQKJcfsj6IK");

      // A new conversation: no In-Reply-To, its own thread, in Sent.
      const bad = await call(`/api/inboxes/${inboxId}/messages`, {
        cookie: owner.cookie,
        body: { to: ["x@example.com"], subject: "  ", text: "hi" },
      });
      expect(bad.status).toBe(400);
      const fresh = await call(`/api/inboxes/${inboxId}/messages`, {
        cookie: owner.cookie,
        body: { to: ["prospect@example.com"], subject: "Hello from the sales team", text: "Hi, shall we talk?" },
      });
      expect(fresh.status, fresh.text).toBe(201);
      expect(fresh.json.threadId).not.toBe(threadId);
      total += 1;
      const started = (await call(`/api/threads/${fresh.json.threadId}`, { cookie: owner.cookie })).json;
      expect(started.messages).toHaveLength(1);
      expect(started.messages[0].subject).toBe("Hello from the sales team");
      const freshSource = await env.DB.prepare(
        `SELECT provider_message_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, fresh.json.messageId)
        .first<{ provider_message_id: string }>();
      const freshMime = atob(
        (await gmailMessage(freshSource!.provider_message_id)).raw.replace(/-/g, "+").replace(/_/g, "/"),
      );
      expect(freshMime).not.toContain("In-Reply-To");

      // The sync sees both sent copies: nothing doubles.
      await env.MAILBOX.getByName(inboxId).hint();
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    },
  );

  it(
    "replies to all with uploaded files: recipients exactly as chosen, the files' bytes intact in Sent, in the thread",
    { timeout: 30_000 },
    async () => {
      const threadId = (await call(`/api/inboxes/${inboxId}/threads?limit=1`, { cookie: owner.cookie })).json.threads[0]
        .id as string;
      const before = (await call(`/api/threads/${threadId}`, { cookie: owner.cookie })).json;
      const parent = before.messages.at(-1);
      const pdf = testFile(300_000);
      const png = testFile(4_096).map((b) => 255 - b);
      const uploads = [
        await uploadFile(owner, pdf, "contract.pdf", "application/pdf"),
        await uploadFile(owner, png, "diagram.png", "image/png"),
      ];
      const outboxBefore = ((await emulatorAdmin("/outbox?from=1000000000")).json as { total: number }).total;
      const r = await call(`/api/threads/${threadId}/reply`, {
        cookie: owner.cookie,
        body: {
          inboxId,
          to: ["first@example.com", "second@example.com"],
          cc: ["Boss@Example.com"],
          bcc: ["archive@example.com"],
          text: "Both files attached.",
          uploadIds: uploads,
        },
      });
      expect(r.status, r.text).toBe(201);
      expect(r.json.threadId).toBe(threadId);
      total += 1;
      const mine = (await call(`/api/threads/${threadId}`, { cookie: owner.cookie })).json.messages.at(-1);
      expect(mine.to.map((t: { address: string }) => t.address)).toEqual(["first@example.com", "second@example.com"]);
      expect(mine.cc.map((t: { address: string }) => t.address)).toEqual(["boss@example.com"]);
      expect(mine.attachments.map((a: { filename: string }) => a.filename)).toEqual(["contract.pdf", "diagram.png"]);

      // The provider's own copy: in Sent, in the parent's Gmail thread, threading headers set, files exact.
      const source = await env.DB.prepare(
        `SELECT provider_message_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, r.json.messageId)
        .first<{ provider_message_id: string }>();
      const inGmail = await gmailMessage(source!.provider_message_id);
      expect(inGmail.labelIds).toContain("SENT");
      const parentThread = await env.DB.prepare(
        `SELECT provider_thread_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, parent.id)
        .first<{ provider_thread_id: string }>();
      expect(inGmail.threadId).toBe(parentThread!.provider_thread_id);
      const parsed = await PostalMime.parse(decodeRaw(inGmail.raw));
      const parentRfc = (await env.DB.prepare(`SELECT rfc_message_id FROM messages WHERE id = ?`)
        .bind(parent.id)
        .first<{ rfc_message_id: string }>())!.rfc_message_id;
      expect(parsed.inReplyTo).toBe(`<${parentRfc}>`);
      expect(parsed.references?.split(/\s+/).at(-1)).toBe(`<${parentRfc}>`);
      expect(parsed.from?.address).toBe(MAILBOX);
      expect(parsed.to?.map((a) => a.address)).toEqual(["first@example.com", "second@example.com"]);
      expect(parsed.cc?.map((a) => a.address)).toEqual(["boss@example.com"]);
      const files = parsed.attachments.map((a) => ({
        filename: a.filename,
        mimeType: a.mimeType,
        bytes: new Uint8Array(a.content as ArrayBuffer),
      }));
      expect(files.map((f) => [f.filename, f.mimeType])).toEqual([
        ["contract.pdf", "application/pdf"],
        ["diagram.png", "image/png"],
      ]);
      expect(files[0]!.bytes).toEqual(pdf);
      expect(files[1]!.bytes).toEqual(png);
      // Delivered to exactly the chosen recipients, the Bcc one included, and nobody else.
      const outbox = (
        (await emulatorAdmin(`/outbox?from=${outboxBefore}`)).json as { messages: { to: string[]; via: string }[] }
      ).messages;
      expect(outbox).toHaveLength(1);
      expect([...outbox[0]!.to].sort()).toEqual(
        ["first@example.com", "second@example.com", "boss@example.com", "archive@example.com"].sort(),
      );
      // The uploads are spent: they are in the message now.
      const left = await env.RAW_MAIL.list({ prefix: `uploads/${owner.accountId}/${owner.userId}/` });
      expect(left.objects).toEqual([]);
      // And the sync's copy does not double it.
      await env.MAILBOX.getByName(inboxId).hint();
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    },
  );

  it(
    "answers mail whose Message-ID or References carry NUL or line breaks without copying them into headers",
    { timeout: 30_000 },
    async () => {
      const raw = [
        "From: Mallory <mallory@evil.example>",
        `To: ${MAILBOX}`,
        "Subject: Crafted ids",
        "Message-ID: <crafted\u0000bcc@evil.example>",
        "References: <root@evil.example> <two\u0000@evil.example>",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Please answer.",
        "",
      ].join("\r\n");
      expect((await emulatorAdmin("/deliver", { to: MAILBOX, raw: btoa(raw) })).status).toBe(201);
      total += 1;
      await env.MAILBOX.getByName(inboxId).hint();
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
      const found = await call(`/api/threads?q=${encodeURIComponent('subject:"crafted ids"')}`, {
        cookie: owner.cookie,
      });
      const threadId = found.json.threads[0].id as string;
      const r = await call(`/api/threads/${threadId}/reply`, {
        cookie: owner.cookie,
        body: { inboxId, to: ["mallory@evil.example"], text: "Answered." },
      });
      expect(r.status, r.text).toBe(201);
      total += 1;
      const source = await env.DB.prepare(
        `SELECT provider_message_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, r.json.messageId)
        .first<{ provider_message_id: string }>();
      const mime = new TextDecoder().decode(decodeRaw((await gmailMessage(source!.provider_message_id)).raw));
      const head = mime.slice(0, mime.indexOf("\r\n\r\n"));
      expect(head).not.toContain("\u0000");
      expect(head).toContain("References: <root@evil.example>");
      expect(head).not.toMatch(/^In-Reply-To:/m);
      expect(head).not.toMatch(/^bcc:/im);
      await env.MAILBOX.getByName(inboxId).hint();
      await vi.waitFor(async () => expect(await storedCount(owner.accountId, inboxId)).toBe(total), {
        timeout: 15_000,
        interval: 200,
      });
    },
  );

  it("refuses header injection, light users and inboxes the sender may not use; nothing is sent", async () => {
    const { invite } = await import("../support/accounts");
    const threadId = (await call(`/api/inboxes/${inboxId}/threads?limit=1`, { cookie: owner.cookie })).json.threads[0]
      .id;
    const count = async () =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM messages WHERE account_id = ?`)
        .bind(owner.accountId)
        .first<{ n: number }>())!.n;
    const before = await count();
    const injected = await call(`/api/threads/${threadId}/reply`, {
      cookie: owner.cookie,
      body: { inboxId, to: ["a@example.com\r\nBcc: spy@evil.example"], text: "x" },
    });
    expect(injected.status).toBe(400);
    const subject = await call(`/api/threads/${threadId}/reply`, {
      cookie: owner.cookie,
      body: { inboxId, to: ["a@example.com"], subject: "Hi\r\nBcc: spy@evil.example", text: "x" },
    });
    expect(subject.status).toBe(400);
    // CR, LF and NUL in every header value of every way to send.
    const outboxBefore = ((await emulatorAdmin("/outbox?from=1000000000")).json as { total: number }).total;
    const sends = [
      { path: `/api/threads/${threadId}/reply`, base: { inboxId, to: ["a@example.com"], text: "x" } },
      { path: `/api/threads/${threadId}/forward`, base: { inboxId, to: ["a@example.com"] } },
      { path: `/api/inboxes/${inboxId}/messages`, base: { to: ["a@example.com"], subject: "Hi", text: "x" } },
    ];
    for (const { path, base } of sends) {
      for (const bad of ["\r", "\n", "\0", "\r\n"]) {
        const address = `a${bad}bcc: spy@evil.example`;
        const fields: Record<string, unknown>[] = [
          { to: [address] },
          { to: [`a@example.com${bad}Bcc: spy@evil.example`] },
          { cc: [address] },
          { bcc: [address] },
        ];
        if (!path.endsWith("/forward")) fields.push({ subject: `Hi${bad}Bcc: spy@evil.example` });
        for (const field of fields) {
          const r = await call(path, { cookie: owner.cookie, body: { ...base, ...field } });
          expect(r.status, `${path} ${JSON.stringify(field)}`).toBe(400);
          expect(r.json.error.code).toBe("invalid_request");
        }
      }
    }
    expect(((await emulatorAdmin("/outbox?from=1000000000")).json as { total: number }).total).toBe(outboxBefore);
    const light = await invite(owner, "light");
    await call(`/api/inboxes/${inboxId}/access`, {
      cookie: owner.cookie,
      method: "PUT",
      body: { userIds: [light.userId] },
    });
    expect(
      (
        await call(`/api/threads/${threadId}/reply`, {
          cookie: light.cookie,
          body: { inboxId, to: ["a@example.com"], text: "x" },
        })
      ).status,
    ).toBe(403);
    const outsider = await invite(owner, "member");
    expect(
      (
        await call(`/api/threads/${threadId}/reply`, {
          cookie: outsider.cookie,
          body: { inboxId, to: ["a@example.com"], text: "x" },
        })
      ).status,
    ).toBe(404);
    expect(await count()).toBe(before);
  });
});

/**
 * Convergence under faults: random interleavings of new mail, replies, pushes that are replayed,
 * duplicated, dropped or stale, expired history, 5xx bursts, expired access tokens and a
 * MailboxDO restart. At the end D1 holds exactly the mailbox's messages: none missing, none twice.
 * `CHAOS_RUNS` and `CHAOS_MAX_OPS` raise the run count and the sequence length (`npm run test:chaos`).
 */
describe("convergence under faults (property)", () => {
  type Op =
    | { kind: "deliver"; n: number }
    | { kind: "reply" }
    | { kind: "push"; dup: boolean; reversed: boolean }
    | { kind: "delayPush" }
    | { kind: "dropPush" }
    | { kind: "burst429" }
    | { kind: "sendReply" }
    | { kind: "staleHint" }
    | { kind: "expireHistory" }
    | { kind: "burst5xx" }
    | { kind: "expireAccess" }
    | { kind: "restartDO" }
    | { kind: "trash"; pick: number }
    | { kind: "untrash" }
    | { kind: "delete"; pick: number }
    | { kind: "redeliver"; pick: number };

  /** Messages the property moved to the trash, for "untrash" to restore. */
  const inTrash: string[] = [];
  /** Pushes held back by "delayPush", delivered (late, after newer ones) by the next "push". */
  const delayed: { headers: Record<string, string>; body: string }[] = [];

  async function latestPush(since: number) {
    const r = await fetch(`${env.TEST_PUSH_RELAY_URL}/__relay/pushes?since=${since}`);
    const { pushes } = (await r.json()) as {
      pushes: { seq: number; path: string; headers: Record<string, string>; body: string }[];
    };
    return pushes.filter(
      (p) => p.path === "/webhooks/google" && atob(JSON.parse(p.body).message.data).includes(MAILBOX),
    );
  }

  async function providerIds(): Promise<string[]> {
    const lease = await env.MAILBOX.getByName(inboxId).leaseAccessToken();
    if (!lease.ok) throw new Error(`no lease: ${lease.reason}`);
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const url = new URL(`${env.GMAIL_API_BASE}/gmail/v1/users/me/messages`);
      url.searchParams.set("maxResults", "500");
      url.searchParams.set("q", `after:${Math.floor((Date.now() - 30 * 86_400_000) / 1000)}`);
      if (pageToken) url.searchParams.set("pageToken", pageToken);
      const page = (await (await fetch(url, { headers: { authorization: `Bearer ${lease.accessToken}` } })).json()) as {
        messages?: { id: string }[];
        nextPageToken?: string;
      };
      ids.push(...(page.messages ?? []).map((m) => m.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    return ids.sort();
  }

  async function storedIds(): Promise<string[]> {
    const rows = await env.DB.prepare(
      `SELECT provider_message_id FROM message_sources WHERE account_id = ? AND mailbox_id = ?`,
    )
      .bind(owner.accountId, inboxId)
      .all<{ provider_message_id: string }>();
    return rows.results.map((r) => r.provider_message_id).sort();
  }

  async function apply(op: Op, seen: { seq: number }): Promise<void> {
    const stub = env.MAILBOX.getByName(inboxId);
    switch (op.kind) {
      case "deliver":
        await deliver(op.n, "Chaos");
        break;
      case "reply": {
        const thread = await env.DB.prepare(
          `SELECT provider_thread_id FROM message_sources WHERE account_id = ? AND mailbox_id = ? ORDER BY received_at DESC LIMIT 1`,
        )
          .bind(owner.accountId, inboxId)
          .first<{ provider_thread_id: string }>();
        if (thread) {
          await emulatorAdmin("/deliver", {
            to: MAILBOX,
            from: "Ana <ana@example.com>",
            text: "A reply",
            replyToThread: thread.provider_thread_id,
          });
        }
        break;
      }
      case "push": {
        const pushes = await latestPush(seen.seq);
        for (const p of pushes) seen.seq = Math.max(seen.seq, p.seq);
        // Newer pushes first when reversed; held-back ones always after them, as late deliveries.
        const order = [...(op.reversed ? [...pushes].reverse() : pushes), ...delayed.splice(0)];
        for (const p of order) {
          const send = () =>
            call("/webhooks/google", {
              rawBody: p.body,
              origin: null,
              headers: { authorization: p.headers["authorization"]!, "content-type": "application/json" },
            });
          await send();
          if (op.dup) await send();
        }
        break;
      }
      case "delayPush": {
        for (const p of await latestPush(seen.seq)) {
          seen.seq = Math.max(seen.seq, p.seq);
          delayed.push(p);
        }
        break;
      }
      case "burst429":
        await emulatorAdmin("/faults/errors", { target: "gmail", status: 429, count: 3 });
        break;
      case "sendReply": {
        // Mail sent from the mailbox through Postroom: it lands in Sent and must be stored once.
        const thread = await env.DB.prepare(
          `SELECT t.id FROM threads t JOIN thread_mailboxes tm ON tm.account_id = t.account_id AND tm.thread_id = t.id
           WHERE tm.account_id = ? AND tm.mailbox_id = ? ORDER BY t.last_message_at DESC LIMIT 1`,
        )
          .bind(owner.accountId, inboxId)
          .first<{ id: string }>();
        if (thread) {
          await call(`/api/threads/${thread.id}/reply`, {
            cookie: owner.cookie,
            body: { inboxId, to: ["customer@example.com"], text: "Thanks, on it." },
          });
        }
        break;
      }
      case "dropPush": {
        for (const p of await latestPush(seen.seq)) seen.seq = Math.max(seen.seq, p.seq);
        break;
      }
      case "staleHint":
        await stub.hint("1");
        break;
      case "expireHistory":
        await emulatorAdmin("/gmail/expire-history", { account: MAILBOX });
        break;
      case "burst5xx":
        await emulatorAdmin("/faults/errors", { target: "gmail", status: 503, count: 3 });
        break;
      case "expireAccess":
        await emulatorAdmin("/oauth/google/tokens", { account: MAILBOX, fault: "expire-access" });
        break;
      case "trash":
      case "delete": {
        const ids = await providerIds();
        const id = ids[op.pick % Math.max(1, ids.length)];
        if (!id) break;
        if (op.kind === "trash") {
          if ((await gmailApi(`/messages/${id}/trash`, { method: "POST" })).ok) inTrash.push(id);
        } else {
          await emulatorAdmin("/gmail/delete-message", { account: MAILBOX, id });
        }
        break;
      }
      case "untrash": {
        const id = inTrash.shift();
        if (id) await gmailApi(`/messages/${id}/untrash`, { method: "POST" });
        break;
      }
      case "redeliver": {
        // The queue delivers at least once: a batch can come again, after the mail changed.
        const ids = [...(await providerIds()), ...inTrash];
        const start = op.pick % Math.max(1, ids.length);
        const providerIdsBatch = ids.slice(start, start + 5);
        if (providerIdsBatch.length > 0) {
          await env.BACKFILL_QUEUE.send({
            kind: "backfill.batch",
            accountId: owner.accountId,
            mailboxId: inboxId,
            providerIds: providerIdsBatch,
          });
        }
        break;
      }
      case "restartDO": {
        const { runInDurableObject } = await import("cloudflare:test");
        // Drops the object's memory (in-flight refresh, quota budget); storage survives, as after an eviction.
        await runInDurableObject(stub, (_instance, state) => {
          try {
            state.abort("chaos restart");
          } catch {
            // abort() throws in the calling context by design.
          }
        }).catch(() => undefined);
        break;
      }
    }
  }

  const chaosMs = chaosTimeoutMs();
  it("ends with exactly the mailbox's messages, whatever happens on the way", { timeout: chaosMs }, async () => {
    const fc = await import("fast-check");
    const op: import("fast-check").Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("deliver" as const), n: fc.integer({ min: 1, max: 3 }) }),
      fc.constant({ kind: "reply" as const }),
      fc.record({ kind: fc.constant("push" as const), dup: fc.boolean(), reversed: fc.boolean() }),
      fc.constant({ kind: "delayPush" as const }),
      fc.constant({ kind: "burst429" as const }),
      fc.constant({ kind: "sendReply" as const }),
      fc.constant({ kind: "dropPush" as const }),
      fc.constant({ kind: "staleHint" as const }),
      fc.constant({ kind: "expireHistory" as const }),
      fc.constant({ kind: "burst5xx" as const }),
      fc.constant({ kind: "expireAccess" as const }),
      fc.constant({ kind: "restartDO" as const }),
      fc.record({ kind: fc.constant("trash" as const), pick: fc.nat() }),
      fc.constant({ kind: "untrash" as const }),
      fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("redeliver" as const), pick: fc.nat() }),
    );
    let seen = { seq: Math.max(0, ...(await latestPush(0)).map((p) => p.seq)) };
    const tally = { runs: 0, messages: 0, faults: 0, lost: 0, duplicated: 0 };
    const FAULTS = new Set<Op["kind"]>([
      "dropPush",
      "delayPush",
      "staleHint",
      "expireHistory",
      "burst5xx",
      "burst429",
      "expireAccess",
      "restartDO",
      "redeliver",
    ]);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: chaosMaxOps() }), async (ops) => {
        tally.runs++;
        tally.faults += ops.filter((o) => FAULTS.has(o.kind) || (o.kind === "push" && (o.dup || o.reversed))).length;
        for (const o of ops) await apply(o, seen);
        // Quiesce: no more faults; one more hint; then everything must settle.
        await emulatorAdmin("/faults", undefined, "DELETE");
        const stub = env.MAILBOX.getByName(inboxId);
        let expected: string[] = [];
        await vi.waitFor(
          async () => {
            await stub.hint();
            expected = await providerIds();
            expect(await storedIds()).toEqual(expected);
          },
          { timeout: 60_000, interval: 500 },
        );
        const stored = await storedIds();
        tally.messages += expected.length;
        tally.lost += expected.filter((id) => !stored.includes(id)).length;
        tally.duplicated += await duplicateRfcIds(owner.accountId);
        expect(await duplicateRfcIds(owner.accountId)).toBe(0);
      }),
      { numRuns: chaosRuns(), seed: 42, endOnFailure: true },
    );
    // Read by scripts/chaos.mjs (npm run test:chaos), which adds these up for bench/results.json.
    console.log(`CHAOS ${JSON.stringify({ provider: "gmail", ...tally })}`);
    seen = { seq: 0 };
  });
});

describe("the history window", () => {
  it("is 30 days by default; widening it imports the older mail, nothing twice", { timeout: 150_000 }, async () => {
    const { runInDurableObject } = await import("cloudflare:test");
    const list = await call("/api/connections", { cookie: owner.cookie });
    const conn = list.json.connections.find((c: { id: string }) => c.id === inboxId);
    expect(conn.windowDays).toBe(30);
    const old = () =>
      env.DB.prepare(`SELECT count(*) AS n FROM messages WHERE account_id = ? AND subject = 'Forty-five days old'`)
        .bind(owner.accountId)
        .first<{ n: number }>();
    expect((await old())!.n).toBe(0);
    const before = await storedCount(owner.accountId, inboxId);

    expect(
      (await call(`/api/connections/${inboxId}`, { cookie: owner.cookie, method: "PATCH", body: { windowDays: 45 } }))
        .status,
    ).toBe(400);
    // Widen while a recovery is in flight (its profile call held by the emulator): the recovery
    // must list the new window, not write back the one it started with.
    const stub = env.MAILBOX.getByName(inboxId);
    await emulatorAdmin("/gmail/expire-history", { account: MAILBOX });
    await emulatorAdmin("/faults/latency", { target: "gmail", ms: 3000, count: 1, pathIncludes: "/profile" });
    await stub.hint();
    await vi.waitFor(
      async () =>
        expect(
          await runInDurableObject(
            stub,
            (_i, state) => state.storage.sql.exec(`SELECT hint_pending FROM sync_state`).one().hint_pending,
          ),
        ).toBe(0),
      { timeout: 10_000, interval: 50 },
    );
    await new Promise((r) => setTimeout(r, 500));
    const r = await call(`/api/connections/${inboxId}`, {
      cookie: owner.cookie,
      method: "PATCH",
      body: { windowDays: 90 },
    });
    expect(r.status).toBe(200);
    expect(r.json.connection.windowDays).toBe(90);
    await vi
      .waitFor(
        async () => {
          expect((await old())!.n).toBe(1);
          expect((await stub.syncStatus()).phase).toBe("live");
        },
        // The property above spends much of the mailbox's per-minute quota; the import waits its turn.
        { timeout: 90_000, interval: 500 },
      )
      .catch(async (err: unknown) => {
        // Say where the import stood, for whoever reads a failure.
        console.log("window import stalled", JSON.stringify(await stub.syncStatus()));
        throw err;
      });
    expect(await storedCount(owner.accountId, inboxId)).toBe(before + 1);
    expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    const audit = await call("/api/audit?action=connection.window_changed", { cookie: owner.cookie });
    expect(audit.json.events[0]).toMatchObject({ details: { from: 30, to: 90 } });
  });
});

describe("the folders synced", () => {
  it("inbox and sent only: archived mail leaves; back to every folder, it returns", { timeout: 120_000 }, async () => {
    const stub = env.MAILBOX.getByName(inboxId);
    const [archived] = await deliver(1, "Filed away");
    await stub.hint();
    const has = async (id: string) =>
      (await env.DB.prepare(
        `SELECT count(*) AS n FROM message_sources WHERE account_id = ? AND mailbox_id = ? AND provider_message_id = ?`,
      )
        .bind(owner.accountId, inboxId, id)
        .first<{ n: number }>())!.n === 1;
    await vi.waitFor(async () => expect(await has(archived!)).toBe(true), { timeout: 15_000, interval: 200 });

    const narrow = await call(`/api/connections/${inboxId}`, {
      cookie: owner.cookie,
      method: "PATCH",
      body: { syncScope: "inbox_sent" },
    });
    expect(narrow.status).toBe(200);
    expect(narrow.json.connection).toMatchObject({ syncScope: "inbox_sent", windowDays: 90 });
    expect(
      (await call(`/api/connections/${inboxId}`, { cookie: owner.cookie, method: "PATCH", body: { syncScope: "x" } }))
        .status,
    ).toBe(400);
    // Archiving (removing INBOX) takes it out of scope; a new message filed straight away never comes in.
    expect(
      (
        await gmailApi(`/messages/${archived}/modify`, {
          method: "POST",
          body: JSON.stringify({ removeLabelIds: ["INBOX"] }),
        })
      ).status,
    ).toBe(200);
    const [filed] = await deliver(1, "Filed on arrival");
    await gmailApi(`/messages/${filed}/modify`, {
      method: "POST",
      body: JSON.stringify({ removeLabelIds: ["INBOX"] }),
    });
    const [kept] = await deliver(1, "Stays in the inbox");
    await stub.hint();
    await vi.waitFor(
      async () => {
        expect(await has(archived!)).toBe(false);
        expect(await has(kept!)).toBe(true);
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(await has(filed!)).toBe(false);

    const wide = await call(`/api/connections/${inboxId}`, {
      cookie: owner.cookie,
      method: "PATCH",
      body: { syncScope: "all" },
    });
    expect(wide.status).toBe(200);
    await vi.waitFor(
      async () => {
        expect(await has(archived!)).toBe(true);
        expect(await has(filed!)).toBe(true);
        expect((await stub.syncStatus()).phase).toBe("live");
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    const audit = await call("/api/audit?action=connection.scope_changed", { cookie: owner.cookie });
    expect(audit.json.events.map((e: { details: unknown }) => e.details)).toEqual([
      { from: "inbox_sent", to: "all" },
      { from: "all", to: "inbox_sent" },
    ]);
  });
});
