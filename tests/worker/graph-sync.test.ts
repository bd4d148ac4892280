/**
 * Microsoft Graph sync against the emulator: backfill of a shared mailbox connected through a
 * delegate (so every call goes to /users/support@...), live sync from change notifications replayed
 * through the real webhook, delta expiry, and the subscription's lifecycle events. Only this file
 * delivers mail to (or faults) support@demo-ms.test, so the counts are exact.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../../worker/lib/crypto";
import { signUp, type Actor } from "../support/accounts";
import { connect, emulatorAdmin } from "../support/connect";
import { call } from "../support/http";
import { chaosMaxOps, chaosRuns, chaosTimeoutMs } from "../support/chaos";
import { testFile, uploadFile } from "../support/uploads";
import {
  awaitNotifications,
  awaitSubscriptionId,
  emulatedSubscription,
  notificationsFor,
  relayMark,
  replay,
} from "../support/graph-notifications";

const MAILBOX = "support@demo-ms.test";
const DELEGATE = "sam@demo-ms.test";

async function deliver(n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await emulatorAdmin("/deliver", {
      to: MAILBOX,
      from: `Customer ${i} <customer${i}@example.com>`,
      // Distinct subjects: Graph would otherwise put same-subject mail in one conversation.
      subject: `${prefix} ${i}`,
      text: `Body of ${prefix} ${i}`,
    });
    expect(r.status).toBe(201);
  }
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

async function expectStored(n: number, timeout = 20_000): Promise<void> {
  await vi.waitFor(
    async () => {
      expect(await storedCount(owner.accountId, inboxId)).toBe(n);
      expect((await env.MAILBOX.getByName(inboxId).syncStatus()).phase).toBe("live");
    },
    { timeout, interval: 200 },
  );
  expect(await duplicateRfcIds(owner.accountId)).toBe(0);
}

/** Graph as the delegate would use it from Outlook (same grant), on the shared mailbox. */
async function graphApi(path: string, method: string, body?: unknown): Promise<Response> {
  const lease = await env.MAILBOX.getByName(inboxId).leaseAccessToken();
  if (!lease.ok) throw new Error(`no lease: ${lease.reason}`);
  return fetch(`${env.GRAPH_API_BASE}/v1.0/users/${MAILBOX}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${lease.accessToken}`,
      "content-type": "application/json",
      prefer: 'IdType="ImmutableId"',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

let owner: Actor;
let inboxId: string;
let subscriptionId: string;
let total = 0;

describe("Graph sync", () => {
  it("backfills a shared mailbox through its delegate, then subscribes for changes", { timeout: 60_000 }, async () => {
    await deliver(12, "Backfill");
    total += 12;
    owner = await signUp("Graph Sync Co");
    const r = await connect(owner, MAILBOX, "microsoft", { account: DELEGATE });
    expect(r.outcome).toBe("connected");
    inboxId = r.inboxId!;
    const stub = env.MAILBOX.getByName(inboxId);
    await vi.waitFor(
      async () => {
        expect((await stub.syncStatus()).phase).toBe("live");
        expect(await storedCount(owner.accountId, inboxId)).toBe(total);
      },
      { timeout: 45_000, interval: 250 },
    );
    expect((await stub.syncStatus()).backfill).toMatchObject({ done: total, total, enumerated: true });
    expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    // Graph's conversationId is kept, but never trusted to group on its own.
    const sources = await env.DB.prepare(
      `SELECT provider_thread_id AS t, labels FROM message_sources WHERE account_id = ? AND mailbox_id = ?`,
    )
      .bind(owner.accountId, inboxId)
      .all<{ t: string | null; labels: string }>();
    expect(sources.results.every((s) => s.t && JSON.parse(s.labels).includes("Inbox"))).toBe(true);

    // One subscription for the whole mailbox, on the shared mailbox's own resource.
    subscriptionId = await awaitSubscriptionId(inboxId);
    const sub = await emulatedSubscription(subscriptionId);
    expect(sub).toMatchObject({
      resource: `/users/${MAILBOX}/messages`,
      mailbox: MAILBOX,
      creatorAccount: DELEGATE,
      changeType: "created,updated",
      immutableIds: true,
    });
    // The URL names the inbox, so the webhook needs no lookup to reach its mailbox object.
    expect(sub!.notificationUrl).toBe(`${env.TEST_PUSH_RELAY_URL}/webhooks/microsoft?inbox=${inboxId}`);
    expect(sub!.lifecycleNotificationUrl).toBe(sub!.notificationUrl);
    expect(sub!.expirationDateTime - Date.now()).toBeGreaterThan(24 * 60 * 60 * 1000);
    // The clientState exists only as a hash inside the MailboxDO; D1 holds the subscription id alone.
    const kept = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec(`SELECT client_state_hash AS h FROM graph_subscription`).one(),
    );
    expect(kept.h).toBe(await sha256Hex(sub!.clientState!));
    const d1 = JSON.stringify((await env.DB.prepare(`SELECT * FROM mailboxes`).all()).results);
    expect(d1).not.toContain(sub!.clientState!);
  });

  it(
    "a change notification brings new mail in; repeated and reordered ones do no harm",
    { timeout: 45_000 },
    async () => {
      const mark = await relayMark();
      await deliver(3, "Live");
      const recorded = await awaitNotifications(subscriptionId, mark, 3, (n) => n.changeType === "created");
      // Push is live, so nothing polls: without the notification nothing arrives.
      await new Promise((r) => setTimeout(r, 500));
      expect(await storedCount(owner.accountId, inboxId)).toBe(total);

      for (const n of recorded) expect((await replay(n.push)).status).toBe(202);
      total += 3;
      await expectStored(total);

      // Graph repeats and reorders: the same notifications again, backwards, twice over.
      for (const n of [...recorded].reverse().concat([...recorded].reverse())) {
        expect((await replay(n.push)).status).toBe(202);
      }
      await new Promise((r) => setTimeout(r, 500));
      await expectStored(total);
    },
  );

  it("an expired delta token recovers every message, none twice", { timeout: 60_000 }, async () => {
    const mark = await relayMark();
    await deliver(4, "Gap");
    total += 4;
    expect((await emulatorAdmin("/graph/expire-delta", { account: MAILBOX })).status).toBe(204);
    const recorded = await awaitNotifications(subscriptionId, mark, 1);
    expect((await replay(recorded[0]!.push)).status).toBe(202);
    await expectStored(total, 45_000);
  });

  it("a 410 reset (tenant maintenance) recovers every message, none twice", { timeout: 60_000 }, async () => {
    const mark = await relayMark();
    await deliver(2, "Reset");
    total += 2;
    expect((await emulatorAdmin("/graph/expire-delta", { account: MAILBOX, mode: "reset" })).status).toBe(204);
    const recorded = await awaitNotifications(subscriptionId, mark, 1);
    expect((await replay(recorded[0]!.push)).status).toBe(202);
    await expectStored(total, 45_000);
  });

  it(
    "mail deleted or moved to Junk Email leaves the inbox; mail moved between folders or restored stays",
    { timeout: 60_000 },
    async () => {
      const stub = env.MAILBOX.getByName(inboxId);
      await deliver(3, "Moving");
      total += 3;
      await stub.hint();
      await expectStored(total);
      const idOf = async (subject: string) => {
        const row = await env.DB.prepare(
          `SELECT s.provider_message_id AS id FROM message_sources s JOIN messages m ON m.account_id = s.account_id AND m.id = s.message_id
           WHERE s.account_id = ? AND s.mailbox_id = ? AND m.subject = ?`,
        )
          .bind(owner.accountId, inboxId, subject)
          .first<{ id: string }>();
        return row?.id ?? null;
      };
      const [archived, deleted, junked] = [await idOf("Moving 0"), await idOf("Moving 1"), await idOf("Moving 2")];
      expect(archived && deleted && junked).toBeTruthy();

      expect((await graphApi(`/messages/${archived}/move`, "POST", { destinationId: "archive" })).status).toBe(201);
      expect((await graphApi(`/messages/${deleted}`, "DELETE")).status).toBe(204);
      expect((await graphApi(`/messages/${junked}/move`, "POST", { destinationId: "junkemail" })).status).toBe(201);
      total -= 2;
      await stub.hint();
      await expectStored(total);
      expect(await idOf("Moving 0")).toBe(archived);
      expect(await idOf("Moving 1")).toBeNull();
      expect(await idOf("Moving 2")).toBeNull();

      // Restored from Deleted Items: the same immutable id comes back, once.
      expect((await graphApi(`/messages/${deleted}/move`, "POST", { destinationId: "inbox" })).status).toBe(201);
      total += 1;
      await stub.hint();
      await expectStored(total);
      expect(await idOf("Moving 1")).toBe(deleted);
    },
  );

  it(
    "mail deleted while the delta token expired is found by the relisting and leaves the inbox",
    { timeout: 60_000 },
    async () => {
      const stub = env.MAILBOX.getByName(inboxId);
      await deliver(2, "Expiring");
      total += 2;
      await stub.hint();
      await expectStored(total);
      const row = await env.DB.prepare(
        `SELECT s.provider_message_id AS id FROM message_sources s JOIN messages m ON m.account_id = s.account_id AND m.id = s.message_id
         WHERE s.account_id = ? AND s.mailbox_id = ? AND m.subject = 'Expiring 0'`,
      )
        .bind(owner.accountId, inboxId)
        .first<{ id: string }>();
      expect((await graphApi(`/messages/${row!.id}`, "DELETE")).status).toBe(204);
      total -= 1;
      // The deletion's delta entry is lost with the token: only the relisting can find it.
      expect((await emulatorAdmin("/graph/expire-delta", { account: MAILBOX })).status).toBe(204);
      await stub.hint();
      await expectStored(total, 45_000);
      const gone = await env.DB.prepare(
        `SELECT count(*) AS n FROM message_sources WHERE account_id = ? AND mailbox_id = ? AND provider_message_id = ?`,
      )
        .bind(owner.accountId, inboxId, row!.id)
        .first<{ n: number }>();
      expect(gone!.n).toBe(0);
    },
  );

  it(
    "a folder whose date-filtered delta reaches Graph's cap is listed in full: nothing past the cap is lost",
    { timeout: 60_000 },
    async () => {
      // The product's cap is 8 in the tests (GRAPH_FILTERED_DELTA_CAP); the emulator's matches it.
      expect((await emulatorAdmin("/settings", { graph: { filteredDeltaCap: 8 } }, "PATCH")).status).toBe(200);
      try {
        await deliver(12, "Capped");
        total += 12;
        // Without its delta token, the mailbox must list every folder again: the Inbox round stops at 8.
        expect((await emulatorAdmin("/graph/expire-delta", { account: MAILBOX })).status).toBe(204);
        await env.MAILBOX.getByName(inboxId).hint();
        await expectStored(total, 45_000);
      } finally {
        await emulatorAdmin("/settings", { graph: { filteredDeltaCap: 5000 } }, "PATCH");
      }
    },
  );

  it(
    "a backfill whose queue messages went missing is listed again and completes, nothing doubled",
    { timeout: 60_000 },
    async () => {
      const stub = env.MAILBOX.getByName(inboxId);
      // As if two queued ids were lost four minutes ago: their copies never got stored.
      const lost = await env.DB.prepare(
        `SELECT provider_message_id AS id FROM message_sources WHERE account_id = ? AND mailbox_id = ? ORDER BY received_at DESC LIMIT 2`,
      )
        .bind(owner.accountId, inboxId)
        .all<{ id: string }>();
      for (const r of lost.results) {
        await env.DB.prepare(
          `DELETE FROM message_sources WHERE account_id = ? AND mailbox_id = ? AND provider_message_id = ?`,
        )
          .bind(owner.accountId, inboxId, r.id)
          .run();
      }
      expect(await storedCount(owner.accountId, inboxId)).toBe(total - 2);
      await runInDurableObject(stub, async (instance, state) => {
        state.storage.sql.exec(
          `UPDATE sync_state SET phase = 'backfilling', backfill_enumerated = 1, backfill_total = backfill_done + 2, backfill_progress_at = ?`,
          Date.now() - 4 * 60_000,
        );
        await instance.alarm();
      });
      await expectStored(total, 45_000);
    },
  );

  it("missed: notifications were dropped, so the mailbox resyncs from its deltas", { timeout: 45_000 }, async () => {
    // Mail whose change notification never reaches us (it is recorded, but not replayed).
    const mark = await relayMark();
    await deliver(2, "Missed");
    await awaitNotifications(subscriptionId, mark, 2, (n) => n.changeType === "created");
    await new Promise((r) => setTimeout(r, 300));
    expect(await storedCount(owner.accountId, inboxId)).toBe(total);
    total += 2;

    const sent = await emulatorAdmin("/graph/lifecycle", { id: subscriptionId, event: "missed" });
    expect(sent.json).toEqual({ sent: 1 });
    const [lifecycle] = await awaitNotifications(subscriptionId, mark, 1, (n) => n.lifecycleEvent === "missed");
    expect((await replay(lifecycle!.push)).status).toBe(202);
    await expectStored(total);
  });

  it("reauthorizationRequired: the subscription is renewed", { timeout: 45_000 }, async () => {
    const before = await emulatedSubscription(subscriptionId);
    const mark = await relayMark();
    await emulatorAdmin("/graph/lifecycle", { id: subscriptionId, event: "reauthorizationRequired" });
    expect((await emulatedSubscription(subscriptionId))?.reauthorizationRequired).toBe(true);
    const [lifecycle] = await awaitNotifications(
      subscriptionId,
      mark,
      1,
      (n) => n.lifecycleEvent === "reauthorizationRequired",
    );
    expect((await replay(lifecycle!.push)).status).toBe(202);
    await vi.waitFor(
      async () => {
        const after = await emulatedSubscription(subscriptionId);
        expect(after?.reauthorizationRequired).toBe(false);
        expect(after!.expirationDateTime).toBeGreaterThanOrEqual(before!.expirationDateTime);
      },
      { timeout: 15_000, interval: 200 },
    );
    // Same subscription, still routed to this mailbox.
    expect(await awaitSubscriptionId(inboxId)).toBe(subscriptionId);
  });

  it(
    "subscriptionRemoved: a new subscription is made, and what arrived meanwhile is synced",
    { timeout: 60_000 },
    async () => {
      const mark = await relayMark();
      await emulatorAdmin("/graph/lifecycle", { id: subscriptionId, event: "subscriptionRemoved" });
      expect(await emulatedSubscription(subscriptionId)).toBeUndefined();
      // Mail that arrives while no subscription exists produces no notification at all.
      await deliver(2, "Removed");
      total += 2;
      const [lifecycle] = await awaitNotifications(
        subscriptionId,
        mark,
        1,
        (n) => n.lifecycleEvent === "subscriptionRemoved",
      );
      expect((await replay(lifecycle!.push)).status).toBe(202);

      const replaced = await awaitSubscriptionId(inboxId, subscriptionId);
      expect(await emulatedSubscription(replaced)).toMatchObject({
        resource: `/users/${MAILBOX}/messages`,
        creatorAccount: DELEGATE,
      });
      await expectStored(total);

      // The old subscription no longer routes anywhere; the new one brings mail in.
      const stale = await env.MAILBOX.getByName(inboxId).graphNotification({
        subscriptionId,
        clientState: (await emulatedSubscription(replaced))!.clientState,
      });
      expect(stale).toEqual({ ok: false, error: "unknown_subscription" });
      subscriptionId = replaced;
      const next = await relayMark();
      await deliver(1, "After");
      total += 1;
      const recorded = await awaitNotifications(subscriptionId, next, 1, (n) => n.changeType === "created");
      expect((await replay(recorded[0]!.push)).status).toBe(202);
      await expectStored(total);
    },
  );

  it(
    "a reply goes out through the shared mailbox and its Sent Items copy is not doubled",
    { timeout: 45_000 },
    async () => {
      const { call } = await import("../support/http");
      const threadId = (await call(`/api/inboxes/${inboxId}/threads?limit=1`, { cookie: owner.cookie })).json.threads[0]
        .id;
      const r = await call(`/api/threads/${threadId}/reply`, {
        cookie: owner.cookie,
        body: { inboxId, to: ["customer0@example.com"], text: "Answered from the shared address." },
      });
      expect(r.status).toBe(201);
      const detail = (await call(`/api/threads/${threadId}`, { cookie: owner.cookie })).json;
      expect(detail.messages.at(-1).from.address).toBe(MAILBOX);
      total += 1;
      await env.MAILBOX.getByName(inboxId).hint();
      await expectStored(total, 30_000);
      // The synced Sent Items copy replaces the placeholder: one copy, with the provider's own id.
      await vi.waitFor(
        async () => {
          await env.MAILBOX.getByName(inboxId).hint();
          const sources = await env.DB.prepare(
            `SELECT provider_message_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
          )
            .bind(owner.accountId, r.json.messageId)
            .all<{ provider_message_id: string }>();
          expect(sources.results).toHaveLength(1);
          expect(sources.results[0]!.provider_message_id.startsWith("sent:")).toBe(false);
        },
        { timeout: 20_000, interval: 500 },
      );
      expect(await storedCount(owner.accountId, inboxId)).toBe(total);
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    },
  );

  it(
    "a reply with files goes through createReply and send: exact recipients, Exchange's threading, bytes intact, one copy",
    { timeout: 60_000 },
    async () => {
      const threadId = (
        await call(`/api/inboxes/${inboxId}/threads?q=${encodeURIComponent('subject:"Live 0"')}`, {
          cookie: owner.cookie,
        })
      ).json.threads[0]?.id as string | undefined;
      const target =
        threadId ??
        ((await call(`/api/inboxes/${inboxId}/threads?limit=1`, { cookie: owner.cookie })).json.threads[0]
          .id as string);
      const before = (await call(`/api/threads/${target}`, { cookie: owner.cookie })).json;
      const parent = before.messages.find((m: { from: { address: string } }) => m.from.address !== MAILBOX);
      expect(parent, "the conversation has a received message to answer").toBeTruthy();
      const parentRow = (await env.DB.prepare(
        `SELECT m.rfc_message_id, s.provider_message_id, s.provider_thread_id FROM messages m
           JOIN message_sources s ON s.account_id = m.account_id AND s.message_id = m.id
          WHERE m.id = ? AND s.mailbox_id = ?`,
      )
        .bind(parent.id, inboxId)
        .first<{ rfc_message_id: string; provider_message_id: string; provider_thread_id: string }>())!;
      const file = testFile(200_000);
      const upload = await uploadFile(owner, file, "report.xlsx", "application/vnd.ms-excel");
      const r = await call(`/api/threads/${target}/reply`, {
        cookie: owner.cookie,
        body: {
          inboxId,
          replyToMessageId: parent.id,
          to: ["first@example.com"],
          cc: ["second@example.com"],
          bcc: ["audit@example.com"],
          text: "The report is attached.",
          uploadIds: [upload],
        },
      });
      expect(r.status, r.text).toBe(201);
      expect(r.json.threadId).toBe(target);
      total += 1;

      // Stored at once, under the immutable id Graph keeps in Sent Items, with Exchange's Message-ID.
      const source = (await env.DB.prepare(
        `SELECT provider_message_id, provider_thread_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, r.json.messageId)
        .first<{ provider_message_id: string; provider_thread_id: string }>())!;
      expect(source.provider_message_id.startsWith("sent:")).toBe(false);
      const inGraph = await graphApi(
        `/messages/${source.provider_message_id}?$select=isDraft,parentFolderId,internetMessageId,conversationId,toRecipients,ccRecipients,bccRecipients,internetMessageHeaders`,
        "GET",
      );
      expect(inGraph.status).toBe(200);
      const m = (await inGraph.json()) as {
        isDraft: boolean;
        parentFolderId: string;
        internetMessageId: string;
        conversationId: string;
        toRecipients: { emailAddress: { address: string } }[];
        ccRecipients: { emailAddress: { address: string } }[];
        bccRecipients: { emailAddress: { address: string } }[];
        internetMessageHeaders: { name: string; value: string }[];
      };
      const sentItems = ((await (await graphApi(`/mailFolders/sentitems`, "GET")).json()) as { id: string }).id;
      expect(m.isDraft).toBe(false);
      expect(m.parentFolderId).toBe(sentItems);
      expect(m.internetMessageId).toBe(`<${r.json.rfcMessageId}>`);
      expect(m.conversationId).toBe(parentRow.provider_thread_id);
      const addresses = (list: { emailAddress: { address: string } }[]) => list.map((x) => x.emailAddress.address);
      expect(addresses(m.toRecipients)).toEqual(["first@example.com"]);
      expect(addresses(m.ccRecipients)).toEqual(["second@example.com"]);
      expect(addresses(m.bccRecipients)).toEqual(["audit@example.com"]);
      const header = (name: string) => m.internetMessageHeaders.find((h) => h.name.toLowerCase() === name)?.value;
      expect(header("in-reply-to")).toBe(`<${parentRow.rfc_message_id}>`);
      expect(header("references")?.split(/\s+/).at(-1)).toBe(`<${parentRow.rfc_message_id}>`);
      expect(header("thread-index")).toBeTruthy();
      const files = (await (await graphApi(`/messages/${source.provider_message_id}/attachments`, "GET")).json()) as {
        value: { name: string; contentBytes: string }[];
      };
      expect(files.value.map((f) => f.name)).toEqual(["report.xlsx"]);
      expect(Uint8Array.from(atob(files.value[0]!.contentBytes), (ch) => ch.charCodeAt(0))).toEqual(file);
      // Nothing is left in Drafts, and the upload is spent.
      const drafts = (await (await graphApi(`/mailFolders/drafts/messages?$select=id`, "GET")).json()) as {
        value: unknown[];
      };
      expect(drafts.value).toEqual([]);
      expect((await env.RAW_MAIL.list({ prefix: `uploads/${owner.accountId}/` })).objects).toEqual([]);

      // The thread shows it at once; the synced Sent Items copy is the same record, never a second.
      const after = (await call(`/api/threads/${target}`, { cookie: owner.cookie })).json;
      expect(after.messages).toHaveLength(before.messages.length + 1);
      expect(after.messages.at(-1).attachments.map((a: { filename: string }) => a.filename)).toEqual(["report.xlsx"]);
      await env.MAILBOX.getByName(inboxId).hint();
      await expectStored(total, 30_000);
      const copies = await env.DB.prepare(
        `SELECT provider_message_id FROM message_sources WHERE account_id = ? AND message_id = ?`,
      )
        .bind(owner.accountId, r.json.messageId)
        .all<{ provider_message_id: string }>();
      expect(copies.results.map((x) => x.provider_message_id)).toEqual([source.provider_message_id]);
      expect((await call(`/api/threads/${target}`, { cookie: owner.cookie })).json.messages).toHaveLength(
        before.messages.length + 1,
      );
    },
  );

  it(
    "a subscription that cannot be renewed shows as Degraded (push lapsed) until it can",
    { timeout: 45_000 },
    async () => {
      const stub = env.MAILBOX.getByName(inboxId);
      const health = async () =>
        (await env.DB.prepare(`SELECT health, health_reason FROM mailboxes WHERE id = ?`)
          .bind(inboxId)
          .first<{ health: string; health_reason: string | null }>())!;
      const renewNow = () =>
        runInDurableObject(stub, async (instance, state) => {
          state.storage.sql.exec(`UPDATE graph_subscription SET renew_at = ?, retry_at = NULL`, Date.now() - 1000);
          await instance.alarm();
        });
      await emulatorAdmin("/faults/errors", {
        target: "graph",
        status: 503,
        count: 50,
        pathIncludes: "/subscriptions",
      });
      await vi.waitFor(
        async () => {
          await renewNow();
          expect(await health()).toEqual({ health: "degraded", health_reason: "push_lapsed" });
        },
        { timeout: 20_000, interval: 300 },
      );
      await emulatorAdmin("/faults", undefined, "DELETE");
      await vi.waitFor(
        async () => {
          await renewNow();
          expect(await health()).toEqual({ health: "good", health_reason: null });
        },
        { timeout: 20_000, interval: 300 },
      );
    },
  );

  it(
    "converges under faults: D1 ends with exactly the mailbox's messages in its synced folders (property)",
    { timeout: chaosTimeoutMs() },
    async () => {
      type Op =
        | { kind: "deliver"; n: number }
        | { kind: "notify"; dup: boolean; reversed: boolean }
        | { kind: "dropNotify" }
        | { kind: "expireDelta"; reset: boolean }
        | { kind: "burst"; status: 429 | 503 }
        | { kind: "expireAccess" }
        | { kind: "restartDO" }
        | { kind: "move"; to: "archive" | "junkemail" | "deleteditems"; pick: number }
        | { kind: "restore" }
        | { kind: "redeliver"; pick: number }
        | { kind: "sendReply" };
      const WINDOW_MS = 30 * 86_400_000;
      const stub = () => env.MAILBOX.getByName(inboxId);
      type Page = { value: { id: string }[]; "@odata.nextLink"?: string };
      /** A Graph GET as the delegate, retried through the faults the property injects (401 after expiry, 429, 5xx). */
      const page = async (url: string): Promise<Page> => {
        for (let attempt = 0; ; attempt++) {
          const lease = await stub().leaseAccessToken();
          if (!lease.ok) throw new Error(`no lease: ${lease.reason}`);
          const res = await fetch(url, {
            headers: { authorization: `Bearer ${lease.accessToken}`, prefer: 'IdType="ImmutableId"' },
          });
          if (res.ok) return (await res.json()) as Page;
          if (attempt >= 20) throw new Error(`Graph answered ${res.status} for ${url}`);
          if (res.status === 401) await stub().accessTokenRejected();
          else await new Promise((r) => setTimeout(r, 500));
        }
      };
      const base = `${env.GRAPH_API_BASE}/v1.0/users/${MAILBOX}`;
      const folderId = async (name: string) =>
        ((await page(`${base}/mailFolders/${name}`)) as unknown as { id: string }).id;
      /** What the mailbox holds in the window, in every folder but Junk Email, Deleted Items and Drafts. */
      const mailboxIds = async () => {
        const skip = new Set([await folderId("junkemail"), await folderId("deleteditems"), await folderId("drafts")]);
        const folders = (await page(`${base}/mailFolders?$top=100`)).value.filter((f) => !skip.has(f.id));
        const since = new Date(Date.now() - WINDOW_MS).toISOString().replace(/\.\d{3}Z$/, "Z");
        const ids: string[] = [];
        for (const f of folders) {
          let url: string | undefined =
            `${base}/mailFolders/${f.id}/messages?$select=id&$top=500&$filter=${encodeURIComponent(`receivedDateTime ge ${since}`)}`;
          while (url) {
            const p = await page(url);
            ids.push(...p.value.map((m) => m.id));
            url = p["@odata.nextLink"];
          }
        }
        return ids.sort();
      };
      const storedIds = async () =>
        (
          await env.DB.prepare(
            `SELECT provider_message_id AS id FROM message_sources WHERE account_id = ? AND mailbox_id = ?`,
          )
            .bind(owner.accountId, inboxId)
            .all<{ id: string }>()
        ).results
          .map((r) => r.id)
          .sort();
      let mark = await relayMark();
      const deleted: string[] = [];

      const apply = async (op: Op) => {
        switch (op.kind) {
          case "deliver":
            await deliver(op.n, `Chaos ${Date.now()}`);
            break;
          case "notify":
          case "dropNotify": {
            const sub = await env.DB.prepare(`SELECT graph_subscription_id AS id FROM mailboxes WHERE id = ?`)
              .bind(inboxId)
              .first<{ id: string | null }>();
            const recorded = sub?.id ? await notificationsFor(sub.id, mark) : [];
            mark = Math.max(mark, ...recorded.map((r) => r.push.seq));
            if (op.kind === "dropNotify") break;
            const order = op.reversed ? [...recorded].reverse() : recorded;
            for (const r of op.dup ? [...order, ...order] : order) await replay(r.push);
            break;
          }
          case "expireDelta":
            await emulatorAdmin("/graph/expire-delta", { account: MAILBOX, ...(op.reset ? { mode: "reset" } : {}) });
            break;
          case "burst":
            await emulatorAdmin("/faults/errors", { target: "graph", status: op.status, count: 3 });
            break;
          case "expireAccess":
            await emulatorAdmin("/oauth/microsoft/tokens", { account: DELEGATE, fault: "expire-access" });
            break;
          case "restartDO":
            await runInDurableObject(stub(), (_i, state) => {
              try {
                state.abort("chaos restart");
              } catch {
                // abort() throws in the calling context by design.
              }
            }).catch(() => undefined);
            break;
          case "move": {
            const ids = await mailboxIds();
            const id = ids[op.pick % Math.max(1, ids.length)];
            if (!id) break;
            const r =
              op.to === "deleteditems"
                ? await graphApi(`/messages/${id}`, "DELETE")
                : await graphApi(`/messages/${id}/move`, "POST", { destinationId: op.to });
            if (r.ok && op.to !== "archive") deleted.push(id);
            break;
          }
          case "restore": {
            const id = deleted.shift();
            if (id) await graphApi(`/messages/${id}/move`, "POST", { destinationId: "inbox" });
            break;
          }
          case "redeliver": {
            const ids = [...(await mailboxIds()), ...deleted];
            const start = op.pick % Math.max(1, ids.length);
            const batch = ids.slice(start, start + 5);
            if (batch.length > 0) {
              await env.BACKFILL_QUEUE.send({
                kind: "backfill.batch",
                accountId: owner.accountId,
                mailboxId: inboxId,
                providerIds: batch,
              });
            }
            break;
          }
          case "sendReply": {
            const thread = await env.DB.prepare(
              `SELECT tm.thread_id AS id FROM thread_mailboxes tm WHERE tm.account_id = ? AND tm.mailbox_id = ?
               ORDER BY tm.last_message_at DESC LIMIT 1`,
            )
              .bind(owner.accountId, inboxId)
              .first<{ id: string }>();
            if (thread) {
              await call(`/api/threads/${thread.id}/reply`, {
                cookie: owner.cookie,
                body: { inboxId, to: ["customer@example.com"], text: "Looking into it." },
              });
            }
            break;
          }
        }
      };

      const fc = await import("fast-check");
      const op: import("fast-check").Arbitrary<Op> = fc.oneof(
        fc.record({ kind: fc.constant("deliver" as const), n: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ kind: fc.constant("notify" as const), dup: fc.boolean(), reversed: fc.boolean() }),
        fc.constant({ kind: "dropNotify" as const }),
        fc.record({ kind: fc.constant("expireDelta" as const), reset: fc.boolean() }),
        fc.record({ kind: fc.constant("burst" as const), status: fc.constantFrom(429 as const, 503 as const) }),
        fc.constant({ kind: "expireAccess" as const }),
        fc.constant({ kind: "restartDO" as const }),
        fc.record({
          kind: fc.constant("move" as const),
          to: fc.constantFrom("archive" as const, "junkemail" as const, "deleteditems" as const),
          pick: fc.nat(),
        }),
        fc.constant({ kind: "restore" as const }),
        fc.record({ kind: fc.constant("redeliver" as const), pick: fc.nat() }),
        fc.constant({ kind: "sendReply" as const }),
      );
      const tally = { runs: 0, messages: 0, faults: 0, lost: 0, duplicated: 0 };
      const FAULTS = new Set<Op["kind"]>([
        "dropNotify",
        "expireDelta",
        "burst",
        "expireAccess",
        "restartDO",
        "redeliver",
      ]);
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 3, maxLength: chaosMaxOps() }), async (ops) => {
          tally.runs++;
          tally.faults += ops.filter(
            (o) => FAULTS.has(o.kind) || (o.kind === "notify" && (o.dup || o.reversed)),
          ).length;
          for (const o of ops) await apply(o);
          await emulatorAdmin("/faults", undefined, "DELETE");
          let expected: string[] = [];
          await vi.waitFor(
            async () => {
              await stub().hint();
              expected = await mailboxIds();
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
        { numRuns: chaosRuns(), seed: 7, endOnFailure: true },
      );
      // Read by scripts/chaos.mjs (npm run test:chaos), which adds these up for bench/results.json.
      console.log(`CHAOS ${JSON.stringify({ provider: "graph", ...tally })}`);
    },
  );

  it(
    "inbox and sent only: mail moved to another folder leaves; back to every folder, it returns",
    { timeout: 90_000 },
    async () => {
      const stub = env.MAILBOX.getByName(inboxId);
      await deliver(1, "Scoped");
      await stub.hint();
      const idOf = async () =>
        (
          await env.DB.prepare(
            `SELECT s.provider_message_id AS id FROM message_sources s JOIN messages m ON m.account_id = s.account_id AND m.id = s.message_id
             WHERE s.account_id = ? AND s.mailbox_id = ? AND m.subject = 'Scoped 0'`,
          )
            .bind(owner.accountId, inboxId)
            .first<{ id: string }>()
        )?.id ?? null;
      await vi.waitFor(async () => expect(await idOf()).not.toBeNull(), { timeout: 20_000, interval: 200 });
      const id = (await idOf())!;
      const patch = (syncScope: string) =>
        call(`/api/connections/${inboxId}`, { cookie: owner.cookie, method: "PATCH", body: { syncScope } });
      expect((await patch("inbox_sent")).status).toBe(200);
      expect((await graphApi(`/messages/${id}/move`, "POST", { destinationId: "archive" })).status).toBe(201);
      await stub.hint();
      await vi.waitFor(async () => expect(await idOf()).toBeNull(), { timeout: 20_000, interval: 200 });
      expect((await patch("all")).status).toBe(200);
      await vi.waitFor(
        async () => {
          expect(await idOf()).toBe(id);
          expect((await stub.syncStatus()).phase).toBe("live");
        },
        { timeout: 45_000, interval: 250 },
      );
      expect(await duplicateRfcIds(owner.accountId)).toBe(0);
    },
  );

  it("disconnect deletes the subscription and forgets its id", { timeout: 30_000 }, async () => {
    const stub = env.MAILBOX.getByName(inboxId);
    expect(await stub.disconnect({ revokeAtProvider: false })).toEqual({ ok: true });
    expect(await emulatedSubscription(subscriptionId)).toBeUndefined();
    const row = await env.DB.prepare(`SELECT graph_subscription_id AS id FROM mailboxes WHERE id = ?`)
      .bind(inboxId)
      .first<{ id: string | null }>();
    expect(row?.id).toBeNull();
  });
});
