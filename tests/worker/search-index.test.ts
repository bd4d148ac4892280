/**
 * The full-text index keyed by thread: both ways a search can take (matches first, threads first)
 * return the same conversations in the same order, page after page, within the caller's account
 * only; the index follows the message store (indexed once, finished on a retry) and the purge.
 */
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { beforeAll, describe, expect, it } from "vitest";
import { ulid } from "ulid";
import * as schema from "../../worker/db/schema";
import { seedThreads } from "../../worker/dev/seed-threads";
import { deliver } from "../support/store-mail";
import { purgeMailboxMail } from "../../worker/sync/purge";
import { listThreads, planSearch, type SearchWay } from "../../worker/threads/list";

const db = drizzle(env.DB, { schema });
const mine = { accountId: ulid(), userId: ulid(), email: "me@search.test" };
const theirs = { accountId: ulid(), userId: ulid(), email: "them@search.test" };
const inbox = ulid();
const otherInbox = ulid();

beforeAll(async () => {
  const now = Date.now();
  // Same generator for both accounts: every word is in both, so a leak would show.
  await seedThreads(env.DB, {
    accountId: mine.accountId,
    mailboxId: inbox,
    start: 0,
    threads: 1300,
    messagesPerThread: 4,
    userIds: [mine.userId],
    now,
  });
  await seedThreads(env.DB, {
    accountId: theirs.accountId,
    mailboxId: otherInbox,
    start: 5000,
    threads: 200,
    messagesPerThread: 4,
    userIds: [theirs.userId],
    now,
  });
}, 120_000);

async function walk(q: string, way: SearchWay, limit = 40): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 200; page++) {
    const r = await listThreads(env.DB, mine, { inboxIds: [inbox], q, limit, ...(cursor ? { cursor } : {}) }, way);
    seen.push(...r.threads.map((t) => t.id));
    if (!r.nextCursor) return seen;
    cursor = r.nextCursor;
  }
  throw new Error("too many pages");
}

async function truth(where: string, ...binds: unknown[]): Promise<string[]> {
  const rows = await env.DB.prepare(
    `SELECT t.id FROM threads t WHERE t.account_id = ? AND ${where} ORDER BY t.last_message_at DESC, t.id DESC`,
  )
    .bind(mine.accountId, ...binds)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

describe("search by thread", () => {
  it("gives the same conversations, in the same order, whichever way it goes", { timeout: 120_000 }, async () => {
    const queries = [
      "invoice",
      "refund damaged",
      '"payment reminder"',
      "from:okafor",
      "subject:renewal",
      "budget -legal",
      "-invoice",
      "is:closed warehouse",
      "tag:vip payment",
      "has:attachment contract",
      "#17",
      "nothingmatchesthis",
    ];
    for (const q of queries) {
      const a = await walk(q, "matches_first");
      const b = await walk(q, "threads_first");
      expect(b, q).toEqual(a);
      expect(new Set(a).size, q).toBe(a.length);
    }
  });

  it(
    "finds exactly the threads a message of which has the word, newest activity first",
    { timeout: 60_000 },
    async () => {
      const has = `EXISTS (SELECT 1 FROM messages m WHERE m.account_id = t.account_id AND m.thread_id = t.id
      AND (' ' || lower(m.text_body) || ' ' || lower(m.subject) || ' ') LIKE '%' || ? || '%')`;
      // Words in the seed are separated by spaces and ended by punctuation only at "Regards,".
      const withWarehouse = await truth(has, " warehouse");
      expect(withWarehouse.length).toBeGreaterThan(100);
      expect(await walk("warehouse", "matches_first")).toEqual(withWarehouse);
      expect(await walk("warehouse", "threads_first")).toEqual(withWarehouse);
      expect(await walk("-warehouse", "threads_first")).toEqual(await truth(`NOT ${has}`, " warehouse"));
    },
  );

  it("never lists another account's conversations, and counts only this account's matches", async () => {
    const theirIds = new Set(
      (
        await env.DB.prepare(`SELECT id FROM threads WHERE account_id = ?`).bind(theirs.accountId).all<{ id: string }>()
      ).results.map((r) => r.id),
    );
    for (const way of ["matches_first", "threads_first"] as const) {
      const found = await walk("regards", way, 100);
      expect(found).toHaveLength(1300);
      expect(found.some((id) => theirIds.has(id))).toBe(false);
    }
    // Every seeded message says "Regards": 5,200 here, 800 there. Only this account's count decides.
    const way = async (accountId: string, q: string) => (await planSearch(env.DB, accountId, q)).way;
    expect(await way(mine.accountId, "regards")).toBe("threads_first");
    expect(await way(theirs.accountId, "regards")).toBe("matches_first");
    expect(await way(mine.accountId, "#17")).toBe("matches_first");
    // A typed prefix is spelled out from the index's words.
    expect((await planSearch(env.DB, mine.accountId, "ware")).completions).toEqual(["warehouse"]);
    expect((await planSearch(env.DB, mine.accountId, "Regar")).completions).toEqual(["regards"]);
  });
});

const mail = (id: string, body: string, inReplyTo?: string) => ({
  id,
  subject: "Quartz order",
  to: "sales@search.test",
  body,
  ...(inReplyTo ? { inReplyTo } : {}),
});

const messageIdOf = async (rfcId: string) =>
  (await env.DB.prepare(`SELECT id FROM messages WHERE account_id = ? AND rfc_message_id = ?`)
    .bind(mine.accountId, rfcId)
    .first<{ id: string }>())!.id;

const searchRows = async (messageId: string) =>
  (await env.DB.prepare(
    `SELECT count(*) AS n FROM message_search WHERE rowid = (SELECT search_rowid FROM messages WHERE id = ?)`,
  )
    .bind(messageId)
    .first<{ n: number }>())!.n;

describe("the index follows the store", () => {
  const sales = ulid();
  const support = ulid();

  it("indexes each message once under its thread; a retry finishes an unindexed one", async () => {
    const thread = await deliver(mine.accountId, sales, mail("quartz-1@customer.test", "zirconium please"));
    const replyThread = await deliver(
      mine.accountId,
      sales,
      mail("quartz-2@customer.test", "yttrium too", "quartz-1@customer.test"),
    );
    expect(replyThread).toBe(thread);
    const first = await messageIdOf("quartz-1@customer.test");
    const reply = await messageIdOf("quartz-2@customer.test");
    const keys = await env.DB.prepare(
      `SELECT m.search_rowid AS k, t.seq AS seq FROM messages m JOIN threads t ON t.id = m.thread_id
       WHERE m.thread_id = ? ORDER BY m.search_rowid`,
    )
      .bind(thread)
      .all<{ k: number; seq: number }>();
    expect(keys.results.map((r) => r.k - r.seq * 2 ** 20)).toEqual([1, 2]);
    expect(await searchRows(first)).toBe(1);
    const found = async (q: string) => (await listThreads(env.DB, mine, { inboxIds: [sales], q, limit: 10 })).threads;
    expect((await found("yttrium")).map((t) => t.id)).toEqual([thread]);

    // As if the first attempt stopped after storing the message: the next copy of it finishes the job.
    await env.DB.batch([
      env.DB.prepare(`DELETE FROM message_search WHERE rowid = (SELECT search_rowid FROM messages WHERE id = ?)`).bind(
        reply,
      ),
      env.DB.prepare(`UPDATE messages SET search_rowid = NULL WHERE id = ?`).bind(reply),
    ]);
    expect(await found("yttrium")).toEqual([]);
    await deliver(mine.accountId, support, mail("quartz-2@customer.test", "yttrium too"));
    expect(await searchRows(reply)).toBe(1);
    expect((await found("yttrium")).map((t) => t.id)).toEqual([thread]);
    // And once more changes nothing.
    await deliver(mine.accountId, support, mail("quartz-2@customer.test", "yttrium too"));
    expect(await searchRows(reply)).toBe(1);
  });

  it("removes a message's search row with the message", async () => {
    await deliver(mine.accountId, ulid(), mail("kept@customer.test", "hafnium"));
    await deliver(mine.accountId, sales, mail("gone@customer.test", "scandium"));
    const before = await env.DB.prepare(`SELECT count(*) AS n FROM message_search`).first<{ n: number }>();
    await purgeMailboxMail(db, env.RAW_MAIL, mine.accountId, sales);
    const after = await env.DB.prepare(`SELECT count(*) AS n FROM message_search`).first<{ n: number }>();
    // sales@ held "gone" and "quartz-1" alone; "quartz-2" is still in support@.
    expect(before!.n - after!.n).toBe(2);
    const left = (q: string) => listThreads(env.DB, mine, { inboxIds: [support], q, limit: 10 });
    expect((await left("yttrium")).threads).toHaveLength(1);
    const anywhere = await env.DB.prepare(
      `SELECT count(*) AS n FROM message_search WHERE message_search MATCH 'scandium OR zirconium'`,
    ).first<{ n: number }>();
    expect(anywhere!.n).toBe(0);
  });
});
