import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../worker/index";
import { describe, expect, it } from "vitest";
import { ulid } from "ulid";

describe("MailboxDO storage", () => {
  it("migrates its own SQLite schema and keeps state across instances", async () => {
    const mailboxId = ulid();
    const stub = env.MAILBOX.getByName(mailboxId);
    expect(await stub.describe()).toEqual({ schemaVersion: 14, mailboxId: null, connected: false });
    expect(await stub.attach(mailboxId)).toEqual({ ok: true });
    expect(await stub.attach(ulid())).toEqual({ ok: false, error: "mailbox_mismatch" });
    const applied = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec<{ version: number }>(`SELECT version FROM _migrations`).toArray(),
    );
    expect(applied.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    // A second stub for the same name reaches the same stored state.
    expect((await env.MAILBOX.getByName(mailboxId).describe()).mailboxId).toBe(mailboxId);
  });
});

describe("backfill queue consumer", () => {
  it("retries messages that do not parse, so they reach the dead-letter queue instead of vanishing", async () => {
    const batch = createMessageBatch("postroom-backfill", [
      { id: "bad-1", timestamp: new Date(), attempts: 1, body: { kind: "backfill.batch", accountId: "nope" } },
      { id: "bad-2", timestamp: new Date(), attempts: 1, body: "garbage" },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId).sort()).toEqual(["bad-1", "bad-2"]);
  });

  it("keeps dead letters in D1, once each, with their account", async () => {
    const accountId = ulid();
    const body = { kind: "backfill.batch", accountId, mailboxId: ulid(), providerIds: ["p1"] };
    const batch = createMessageBatch("postroom-backfill-dlq", [
      { id: "dead-1", timestamp: new Date(), attempts: 6, body },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["dead-1"]);
    // Redelivery of the same dead letter does not double it.
    const again = createMessageBatch("postroom-backfill-dlq", [
      { id: "dead-1", timestamp: new Date(), attempts: 6, body },
    ]);
    const ctx2 = createExecutionContext();
    await worker.queue(again, env, ctx2);
    const rows = await env.DB.prepare(
      `SELECT account_id, body, attempts FROM dead_letters WHERE message_id = 'dead-1'`,
    ).all();
    expect(rows.results).toEqual([{ account_id: accountId, body: JSON.stringify(body), attempts: 6 }]);
  });
});
