/**
 * POST /webhooks/microsoft against real subscriptions: Graph's validation handshake, refusals that
 * change nothing, and a batch that names two mailboxes. The two mailboxes are sam@demo-ms.test
 * connected (with its own grant, so through /me) in two workspaces; only this file delivers mail to it.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { signUp, type Actor } from "../support/accounts";
import { connect, emulatorAdmin } from "../support/connect";
import {
  awaitNotifications,
  awaitSubscriptionId,
  emulatedSubscription,
  post,
  relayMark,
  replay,
  type GraphNotification,
} from "../support/graph-notifications";
import { call } from "../support/http";

const MAILBOX = "sam@demo-ms.test";

interface Connected {
  owner: Actor;
  inboxId: string;
  subscriptionId: string;
}

async function connectSam(workspace: string): Promise<Connected> {
  const owner = await signUp(workspace);
  const r = await connect(owner, MAILBOX, "microsoft", { account: MAILBOX }, "personal");
  expect(r.outcome).toBe("connected");
  const inboxId = r.inboxId!;
  await vi.waitFor(async () => expect((await env.MAILBOX.getByName(inboxId).syncStatus()).phase).toBe("live"), {
    timeout: 30_000,
    interval: 200,
  });
  const subscriptionId = await awaitSubscriptionId(inboxId);
  // A new subscription is followed by one catch-up read of the deltas; let it finish, so mail
  // delivered from here on arrives only through notifications.
  await vi.waitFor(
    async () => {
      const pending = await runInDurableObject(env.MAILBOX.getByName(inboxId), (_i, state) =>
        state.storage.sql.exec(`SELECT hint_pending AS p FROM sync_state`).one(),
      );
      expect(pending.p).toBe(0);
    },
    { timeout: 10_000, interval: 100 },
  );
  await new Promise((r) => setTimeout(r, 500));
  return { owner, inboxId, subscriptionId };
}

async function deliver(subject: string): Promise<void> {
  const r = await emulatorAdmin("/deliver", { to: MAILBOX, from: "Ana <ana@example.com>", subject, text: subject });
  expect(r.status).toBe(201);
}

async function stored(m: Connected, subject: string): Promise<number> {
  const r = await env.DB.prepare(
    `SELECT count(*) AS n FROM message_sources s JOIN messages m ON m.account_id = s.account_id AND m.id = s.message_id
     WHERE s.account_id = ? AND s.mailbox_id = ? AND m.subject = ?`,
  )
    .bind(m.owner.accountId, m.inboxId, subject)
    .first<{ n: number }>();
  return r!.n;
}

const body = (value: unknown[]) => JSON.stringify({ value });

let first: Connected;
let second: Connected;

describe("POST /webhooks/microsoft", () => {
  it("answers the validation handshake by echoing the token as plain text", async () => {
    const token = "Validation: Testing client application reachability <script>alert(1)</script> & more";
    const r = await call(`/webhooks/microsoft?validationToken=${encodeURIComponent(token)}`, {
      method: "POST",
      origin: null,
      headers: { "content-type": "text/plain; charset=utf-8" },
      rawBody: "",
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.text).toBe(token);
  });

  it("refuses a malformed body with a JSON 400", async () => {
    for (const raw of ["{not json", JSON.stringify({}), JSON.stringify({ value: "x" }), body([]), body([{ id: 1 }])]) {
      const r = await post(raw);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("bad_request");
    }
  });

  it("accepts a notification for an unknown subscription and does nothing with it", async () => {
    const r = await post(
      body([{ subscriptionId: crypto.randomUUID(), clientState: "anything", changeType: "created", resource: "x" }]),
    );
    expect(r.status).toBe(202);
  });

  it("routes a batch naming two mailboxes to both", { timeout: 90_000 }, async () => {
    first = await connectSam("Webhook One");
    second = await connectSam("Webhook Two");
    expect(first.subscriptionId).not.toBe(second.subscriptionId);
    expect(await emulatedSubscription(first.subscriptionId)).toMatchObject({ resource: "/me/messages" });

    const mark = await relayMark();
    await deliver("Batched");
    const a = await awaitNotifications(first.subscriptionId, mark, 1, (n) => n.changeType === "created");
    const b = await awaitNotifications(second.subscriptionId, mark, 1, (n) => n.changeType === "created");
    // Push is live for both, so nothing arrives until the notifications do.
    await new Promise((r) => setTimeout(r, 300));
    expect(await stored(first, "Batched")).toBe(0);
    expect(await stored(second, "Batched")).toBe(0);

    const items: GraphNotification[] = [...a[0]!.items, ...b[0]!.items];
    expect((await post(body(items))).status).toBe(202);
    await vi.waitFor(
      async () => {
        expect(await stored(first, "Batched")).toBe(1);
        expect(await stored(second, "Batched")).toBe(1);
      },
      { timeout: 15_000, interval: 200 },
    );
  });

  it("a wrong clientState is refused and changes nothing", { timeout: 45_000 }, async () => {
    const mark = await relayMark();
    await deliver("Forged");
    const [real] = await awaitNotifications(first.subscriptionId, mark, 1, (n) => n.changeType === "created");
    const genuine = real!.items.find((n) => n.subscriptionId === first.subscriptionId)!;

    // The same notification with another clientState: accepted on the wire (so Graph stops retrying), and ignored.
    const forged = { ...genuine, clientState: `${genuine.clientState}x` };
    expect((await post(body([forged]))).status).toBe(202);
    expect((await post(body([{ ...genuine, clientState: null }]))).status).toBe(202);
    expect(
      await env.MAILBOX.getByName(first.inboxId).graphNotification({
        subscriptionId: first.subscriptionId,
        clientState: "not-the-secret",
      }),
    ).toEqual({ ok: false, error: "bad_client_state" });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await stored(first, "Forged")).toBe(0);

    // The genuine one still works afterwards.
    expect((await replay(real!.push)).status).toBe(202);
    await vi.waitFor(async () => expect(await stored(first, "Forged")).toBe(1), { timeout: 15_000, interval: 200 });
  });

  it("the inbox the URL names checks the notification itself", { timeout: 45_000 }, async () => {
    const mark = await relayMark();
    await deliver("Misdirected");
    const [real] = await awaitNotifications(first.subscriptionId, mark, 1, (n) => n.changeType === "created");
    expect(real!.push.query).toBe(`?inbox=${first.inboxId}`);
    const genuine = real!.items.filter((n) => n.subscriptionId === first.subscriptionId);
    // first's genuine notification, sent to second's URL: second's object does not know the subscription.
    expect((await post(body(genuine), `?inbox=${second.inboxId}`)).status).toBe(202);
    // And a forged clientState on first's own URL is refused there.
    const forged = genuine.map((n) => ({ ...n, clientState: "guessed" }));
    expect((await post(body(forged), `?inbox=${first.inboxId}`)).status).toBe(202);
    // An inbox parameter that is not an id falls back to the lookup, which finds first's subscription.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await stored(first, "Misdirected")).toBe(0);
    expect(await stored(second, "Misdirected")).toBe(0);
    expect((await post(body(genuine), "?inbox=..%2Fx")).status).toBe(202);
    await vi.waitFor(async () => expect(await stored(first, "Misdirected")).toBe(1), {
      timeout: 15_000,
      interval: 200,
    });
  });

  it("a subscription of a disconnected mailbox routes nowhere", { timeout: 30_000 }, async () => {
    await env.DB.prepare(`UPDATE mailboxes SET disconnected_at = ? WHERE id = ?`)
      .bind(Date.now(), second.inboxId)
      .run();
    const mark = await relayMark();
    await deliver("Archived");
    const [real] = await awaitNotifications(second.subscriptionId, mark, 1, (n) => n.changeType === "created");
    // As a subscription made before URLs named their inbox would send it: found by subscription id in D1.
    expect((await post(real!.push.body)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await stored(second, "Archived")).toBe(0);
  });
});
