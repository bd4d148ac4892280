/**
 * The full-text index keyed by thread: both ways a search can take (matches first, threads first)
 * return the same conversations in the same order, page after page, within the caller's account
 * only; the index follows the message store (indexed once, finished on a retry) and the purge.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { beforeAll, describe, expect, it } from "vitest";
import { ulid } from "ulid";
import * as schema from "../../worker/db/schema";
import { SEARCH_THREAD_SHIFT, THREAD_SEQ_ACCOUNT_SHIFT } from "../../worker/db/search-table";
import { seedThreads } from "../../worker/dev/seed-threads";
import { deliver, ensureAccount } from "../support/store-mail";
import { purgeMailboxMail } from "../../worker/sync/purge";
import { listThreads, listThreadsAndWay, searchCompletions, type SearchWay } from "../../worker/threads/list";

const db = drizzle(env.DB, { schema });
const mine = { accountId: ulid(), userId: ulid(), email: "me@search.test" };
const theirs = { accountId: ulid(), userId: ulid(), email: "them@search.test" };
const inbox = ulid();
const otherInbox = ulid();

beforeAll(async () => {
  const now = Date.now();
  await ensureAccount(mine.accountId);
  await ensureAccount(theirs.accountId);
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
    const r = await listThreads(
      env.DB,
      mine,
      { inboxIds: [inbox], q, limit, ...(cursor ? { cursor } : {}) },
      {
        way,
      },
    );
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
    // Every seeded message says "Regards": 5,200 here, 800 there. Only this account's matches count
    // towards the bound (1,000 here), and a search cut short by it asks again threads first.
    const way = async (who: typeof mine, inboxId: string, q: string, extra: { tag?: string } = {}) => {
      const r = await listThreadsAndWay(
        env.DB,
        who,
        { inboxIds: [inboxId], q, limit: 20, ...extra },
        {
          matchesFirstUpTo: 1_000,
        },
      );
      return { way: r.way, ids: r.page.threads.map((t) => t.id) };
    };
    const regards = await way(mine, inbox, "regards");
    expect(regards.way).toBe("threads_first");
    expect(regards.ids).toEqual((await walk("regards", "matches_first")).slice(0, 20));
    expect((await way(theirs, otherInbox, "regards")).way).toBe("matches_first");
    expect((await way(mine, inbox, "#17")).way).toBe("matches_first");
    // No thread of the bounded matches passes the filters: the empty page alone cannot tell, so a count does.
    const none = await way(mine, inbox, "regards", { tag: "no-such-tag" });
    expect(none).toEqual({ way: "threads_first", ids: [] });
    // A typed prefix is spelled out from the index's words.
    expect(await searchCompletions(env.DB, "ware")).toEqual(["warehouse"]);
    expect(await searchCompletions(env.DB, "Regar")).toEqual(["regards"]);
  });
});

describe("an account numbered near the limit", () => {
  it("stores, reads and finds its mail (rowids past 2^53 stay inside SQLite)", async () => {
    const late = { accountId: ulid(), userId: ulid(), email: "late@search.test" };
    await env.DB.prepare(`INSERT INTO accounts (id, name, created_at, search_no) VALUES (?, 'Late', ?, ?)`)
      .bind(late.accountId, Date.now(), 2 ** 20 - 1)
      .run();
    const box = ulid();
    const thread = await deliver(late.accountId, box, {
      ...mail("late-1@customer.test", "tellurium"),
      to: "x@late.test",
    });
    await deliver(late.accountId, box, {
      ...mail("late-2@customer.test", "tellurium again", "late-1@customer.test"),
      to: "x@late.test",
    });
    const stored = await db.select().from(schema.messages).where(eq(schema.messages.accountId, late.accountId)).all();
    expect(stored).toHaveLength(2);
    expect(stored.every((m) => m.searchRowid !== null)).toBe(true);
    for (const way of ["matches_first", "threads_first"] as const) {
      const found = await listThreads(env.DB, late, { inboxIds: [box], q: "tellurium", limit: 10 }, { way });
      expect(found.threads.map((t) => t.id)).toEqual([thread]);
    }
    // Nobody else's search reaches it.
    expect((await listThreads(env.DB, mine, { inboxIds: [box], q: "tellurium", limit: 10 })).threads).toEqual([]);
  });
});

describe("a tag's list", () => {
  const walkTag = async (tag: string, limit = 8) => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 200; page++) {
      const r = await listThreadsAndWay(env.DB, mine, { inboxIds: [inbox], tag, limit, ...(cursor ? { cursor } : {}) });
      expect(r.way).toBeNull();
      expect(r.statement?.text).toContain("thread_tags g CROSS JOIN threads t");
      seen.push(...r.page.threads.map((t) => t.id));
      if (!r.page.nextCursor) return seen;
      cursor = r.page.nextCursor;
    }
    throw new Error("too many pages");
  };
  const tagged = (tag: string) =>
    truth(
      `EXISTS (SELECT 1 FROM thread_tags g WHERE g.account_id = t.account_id AND g.thread_id = t.id AND g.tag = ?)`,
      tag,
    );
  const tagCopies = async (threadId: string) =>
    (
      await env.DB.prepare(
        `SELECT g.last_message_at AS copy, t.last_message_at AS own FROM thread_tags g
         JOIN threads t ON t.account_id = g.account_id AND t.id = g.thread_id WHERE g.account_id = ? AND g.thread_id = ?`,
      )
        .bind(mine.accountId, threadId)
        .all<{ copy: number; own: number }>()
    ).results;

  it("reads the tag's threads in list order, page after page, from the tag's index", async () => {
    const vip = await tagged("vip");
    expect(vip.length).toBeGreaterThan(15);
    expect(await walkTag("vip")).toEqual(vip);
    // With a second tag, the first one's index still leads and the second filters.
    const both = await truth(
      `EXISTS (SELECT 1 FROM thread_tags g WHERE g.account_id = t.account_id AND g.thread_id = t.id AND g.tag = 'vip')
       AND EXISTS (SELECT 1 FROM thread_tags g WHERE g.account_id = t.account_id AND g.thread_id = t.id AND g.tag = ?)`,
      "billing",
    );
    const r = await listThreads(env.DB, mine, { inboxIds: [inbox], tag: "vip", q: "tag:billing", limit: 500 });
    expect(r.threads.map((t) => t.id)).toEqual(both);
    const { statement } = await listThreadsAndWay(env.DB, mine, { inboxIds: [inbox], tag: "vip", limit: 50 });
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement!.text}`)
      .bind(...statement!.values)
      .all<{ detail: string }>();
    const details = plan.results.map((p) => p.detail).join("\n");
    // The tag's index gives the page its order: the page is chosen without sorting the tag's threads
    // (the one sort left orders the page's 50 rows).
    const choosing = details.slice(0, details.indexOf("CORRELATED"));
    expect(choosing).toMatch(
      /^CO-ROUTINE t\nSEARCH g USING (COVERING )?INDEX thread_tags_list \(account_id=\? AND tag=\?/,
    );
    expect(choosing).not.toContain("TEMP B-TREE");
  });

  it("keeps each tag's copy of the thread's last activity: a new tag takes it, a new message moves it", async () => {
    const [oldest] = (await tagged("vip")).slice(-1);
    expect(oldest).toBeDefined();
    // A tag added the way the thread routes add one (no activity given) takes the thread's own.
    await db
      .insert(schema.threadTags)
      .values({ accountId: mine.accountId, threadId: oldest!, tag: "escalated", createdAt: Date.now() });
    for (const row of await tagCopies(oldest!)) expect(row.copy).toBe(row.own);

    // A reply arrives: the thread is the newest in each of its tags' lists at once.
    const { rfc } = (await env.DB.prepare(
      `SELECT rfc_message_id AS rfc FROM messages WHERE account_id = ? AND thread_id = ? LIMIT 1`,
    )
      .bind(mine.accountId, oldest!)
      .first<{ rfc: string }>())!;
    const replied = await deliver(mine.accountId, inbox, {
      id: "tag-reply@customer.test",
      subject: "Re: follow-up",
      to: "support@postroom.example",
      body: "Any news?",
      inReplyTo: rfc,
      at: Date.now() + 60_000,
    });
    expect(replied).toBe(oldest);
    const copies = await tagCopies(oldest!);
    expect(copies.length).toBeGreaterThanOrEqual(2);
    for (const row of copies) expect(row.copy).toBe(row.own);
    expect((await walkTag("vip"))[0]).toBe(oldest);
    expect(await walkTag("escalated")).toEqual([oldest]);
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
    expect(keys.results.map((r) => r.k - r.seq * 2 ** SEARCH_THREAD_SHIFT)).toEqual([1, 2]);
    // The thread's number lies in its account's block.
    const block = await env.DB.prepare(`SELECT search_no AS no FROM accounts WHERE id = ?`)
      .bind(mine.accountId)
      .first<{ no: number }>();
    expect(Math.floor(keys.results[0]!.seq / 2 ** THREAD_SEQ_ACCOUNT_SHIFT)).toBe(block!.no);
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
