/**
 * Migrations 0014/0015 on a database that already holds conversations (indexed the 0013 way, rowid =
 * global seq << 20, the account as a `scope` token): every account gets a number, every thread a seq
 * in its account's block, every message its rowid in that block, and nothing becomes unsearchable
 * or searchable from another account. Migrations 0016/0017 then give existing tags their thread's
 * last activity. Run on a database of its own, migrated step by step.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { SEARCH_ACCOUNT_SHIFT, SEARCH_THREAD_SHIFT, THREAD_SEQ_ACCOUNT_SHIFT } from "../../worker/db/search-table";
import { listThreads } from "../../worker/threads/list";

const db = env.MIGRATION_DB;
const version = (name: string) => Number(name.slice(0, 4));
const accounts = [
  { id: "01JACC0000000000000000000A", createdAt: 1_000 },
  { id: "01JACC0000000000000000000B", createdAt: 2_000 },
];
const mailbox = "01JMBX00000000000000000000";
/** Threads interleaved between the two accounts, as a shared database numbers them. */
const threads = Array.from({ length: 12 }, (_, i) => ({
  id: `01JTHR0000000000000000${String(i).padStart(4, "0")}`,
  account: accounts[i % 2]!.id,
  seq: i + 1,
  at: 10_000 + i * 100,
}));

beforeAll(async () => {
  await applyD1Migrations(
    db,
    env.TEST_MIGRATIONS.filter((m) => version(m.name) <= 13),
  );
  const statements: D1PreparedStatement[] = [];
  for (const a of accounts)
    statements.push(
      db.prepare(`INSERT INTO accounts (id, name, created_at) VALUES (?, 'Old', ?)`).bind(a.id, a.createdAt),
    );
  for (const t of threads) {
    statements.push(
      db
        .prepare(
          `INSERT INTO threads (id, account_id, subject, last_message_at, message_count, created_at, seq) VALUES (?, ?, 'Quote', ?, 3, ?, ?)`,
        )
        .bind(t.id, t.account, t.at, t.at, t.seq),
      db
        .prepare(
          `INSERT INTO thread_mailboxes (account_id, thread_id, mailbox_id, last_message_at) VALUES (?, ?, ?, ?)`,
        )
        .bind(t.account, t.id, mailbox, t.at),
      db
        .prepare(`INSERT INTO thread_tags (account_id, thread_id, tag, created_at) VALUES (?, ?, 'vip', 1)`)
        .bind(t.account, t.id),
    );
    for (let n = 1; n <= 3; n++) {
      const id = `${t.id.slice(0, 22)}${String(t.seq).padStart(2, "0")}M${n}`;
      // The third message of each thread says "osmium"; the others "iridium" (and the thread's number).
      const body = n === 3 ? `osmium t${t.seq}` : `iridium t${t.seq}`;
      statements.push(
        db
          .prepare(
            `INSERT INTO messages (id, account_id, thread_id, rfc_message_id, subject, received_at, text_body, size_bytes, raw_key, created_at, search_rowid)
             VALUES (?, ?, ?, ?, 'Quote', ?, ?, 1, 'k', ?, ?)`,
          )
          .bind(id, t.account, t.id, `${id}@old.test`, t.at - 10 + n, body, t.at, t.seq * 2 ** 20 + n),
        db
          .prepare(
            `INSERT INTO message_search (rowid, subject, participants, body, scope) VALUES (?, 'Quote', '', ?, ?)`,
          )
          .bind(t.seq * 2 ** 20 + n, body, t.account),
      );
    }
  }
  await db.batch(statements);
  await applyD1Migrations(db, env.TEST_MIGRATIONS);
});

describe("search grouped by account (migrations 0014 and 0015)", () => {
  it("numbers accounts by age and puts each one's threads and messages in its own block", async () => {
    const numbered = await db.prepare(`SELECT id, search_no FROM accounts ORDER BY search_no`).all();
    expect(numbered.results).toEqual([
      { id: accounts[0]!.id, search_no: 1 },
      { id: accounts[1]!.id, search_no: 2 },
    ]);
    const rows = await db
      .prepare(
        `SELECT t.account_id AS account, t.seq AS seq, m.search_rowid AS rowid FROM threads t
         JOIN messages m ON m.thread_id = t.id ORDER BY t.seq, m.received_at`,
      )
      .all<{ account: string; seq: number; rowid: number }>();
    expect(rows.results).toHaveLength(36);
    for (const r of rows.results) {
      const no = r.account === accounts[0]!.id ? 1 : 2;
      expect(Math.floor(r.seq / 2 ** THREAD_SEQ_ACCOUNT_SHIFT)).toBe(no);
      expect(Math.floor(r.rowid / 2 ** SEARCH_THREAD_SHIFT)).toBe(r.seq);
    }
    // Each account's threads count from 1 in their old order; each thread's messages from 1 by arrival.
    const firstOfB = rows.results
      .filter((r) => r.account === accounts[1]!.id)
      .map((r) => r.seq % 2 ** THREAD_SEQ_ACCOUNT_SHIFT);
    expect([...new Set(firstOfB)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows.results.slice(0, 3).map((r) => r.rowid % 2 ** SEARCH_THREAD_SHIFT)).toEqual([1, 2, 3]);
  });

  it("keeps every message searchable under its new rowid, and nothing else", async () => {
    const index = await db
      .prepare(`SELECT rowid, body FROM message_search ORDER BY rowid`)
      .all<{ rowid: number; body: string }>();
    const stored = await db
      .prepare(`SELECT search_rowid AS rowid, text_body AS body FROM messages ORDER BY search_rowid`)
      .all<{ rowid: number; body: string }>();
    expect(index.results).toEqual(stored.results);
    const columns = await db.prepare(`SELECT name FROM pragma_table_info('message_search')`).all<{ name: string }>();
    expect(columns.results.map((c) => c.name)).toEqual(["subject", "participants", "body"]);
    // The vocabulary table was made again over the new index.
    expect(await db.prepare(`SELECT doc FROM message_search_terms WHERE term = 'osmium'`).first()).toEqual({ doc: 12 });
  });

  it("finds each account's conversations only, through the list itself", async () => {
    for (const [i, a] of accounts.entries()) {
      const who = { accountId: a.id, userId: "01JUSR00000000000000000000", email: "x@old.test" };
      const found = await listThreads(db, who, { inboxIds: [mailbox], q: "osmium", limit: 50 });
      const mine = threads.filter((t) => t.account === a.id).map((t) => t.id);
      expect(found.threads.map((t) => t.id).sort()).toEqual(mine.sort());
      const rowidRange = [(i + 1) * 2 ** SEARCH_ACCOUNT_SHIFT, (i + 2) * 2 ** SEARCH_ACCOUNT_SHIFT];
      const rowids = await db
        .prepare(`SELECT search_rowid AS r FROM messages WHERE account_id = ?`)
        .bind(a.id)
        .all<{ r: number }>();
      for (const { r } of rowids.results) {
        expect(r).toBeGreaterThanOrEqual(rowidRange[0]!);
        expect(r).toBeLessThan(rowidRange[1]!);
      }
    }
  });

  it("gives an account made afterwards the next number", async () => {
    await db
      .prepare(`INSERT INTO accounts (id, name, created_at) VALUES ('01JACC0000000000000000000C', 'New', 3000)`)
      .run();
    expect(await db.prepare(`SELECT search_no FROM accounts WHERE id = '01JACC0000000000000000000C'`).first()).toEqual({
      search_no: 3,
    });
  });
});

describe("tags in list order (migrations 0016 and 0017)", () => {
  it("gives every existing tag its thread's last activity, and keeps it", async () => {
    const copies = await db
      .prepare(
        `SELECT g.thread_id AS id, g.last_message_at AS at FROM thread_tags g WHERE g.tag = 'vip' ORDER BY g.thread_id`,
      )
      .all<{ id: string; at: number }>();
    expect(copies.results).toEqual(threads.map((t) => ({ id: t.id, at: t.at })));
    await db.prepare(`UPDATE threads SET last_message_at = 99999 WHERE id = ?`).bind(threads[0]!.id).run();
    expect(
      await db
        .prepare(`SELECT last_message_at AS at FROM thread_tags WHERE thread_id = ?`)
        .bind(threads[0]!.id)
        .first(),
    ).toEqual({
      at: 99999,
    });
  });
});
