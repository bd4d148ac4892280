/**
 * The FTS5 table `message_search` (made by migrations/0008_message_search.sql, keyed by thread since
 * 0013_search_by_thread.sql and grouped by account since 0015_search_by_account.sql), described for
 * the query builder so its writes can join a batch. It lives outside schema.ts on purpose:
 * drizzle-kit cannot create virtual tables, so it must not try to generate this one.
 *
 * Numbers: an account has `search_no` (a trigger gives each new account the next one); its
 * threads' `seq` are `(search_no << 27) + k`, k counting the account's threads from 1; a message's rowid is `(seq << 16) + n`, n counting the thread's
 * messages from 1 (messages.search_rowid keeps it). So a match names its thread without reading a
 * row, one thread is a rowid range, and one account is a rowid range: a search reads only its own
 * account's part of the index. Limits that follow: 1,048,575 accounts, 134,217,727 threads an
 * account, 65,535 indexed messages a thread (later ones are stored but not searchable).
 */
import { sql, type SQL } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const messageSearch = sqliteTable("message_search", {
  rowid: integer("rowid").notNull(),
  subject: text("subject").notNull(),
  /** "Name <address>" of the sender and every recipient. */
  participants: text("participants").notNull(),
  body: text("body").notNull(),
});

/** Bits of the rowid that count messages within a thread. */
export const SEARCH_THREAD_SHIFT = 16;
/** The largest counter a thread may use; later messages of an enormous thread are not indexed. */
export const SEARCH_MAX_PER_THREAD = (1 << SEARCH_THREAD_SHIFT) - 1;
/** Bits of a thread's seq that count threads within an account. */
export const THREAD_SEQ_ACCOUNT_SHIFT = 27;
/** Bits of a rowid below the account number. */
export const SEARCH_ACCOUNT_SHIFT = THREAD_SEQ_ACCOUNT_SHIFT + SEARCH_THREAD_SHIFT;

/** SQL for the first seq of an account's block, from an SQL expression naming the account id. */
export const threadSeqBaseSql = (accountIdSql: string) =>
  `((SELECT search_no FROM accounts WHERE id = ${accountIdSql}) << ${THREAD_SEQ_ACCOUNT_SHIFT})`;

/** The last seq an account's threads have taken (its block's base when it has none), as SQL. */
export const lastThreadSeqSql = (accountIdSql: string) => {
  const base = threadSeqBaseSql(accountIdSql);
  return `(SELECT coalesce(max(seq), ${base}) FROM threads
    WHERE seq > ${base} AND seq < ${base} + ${1 << THREAD_SEQ_ACCOUNT_SHIFT})`;
};

/** The seq for an account's next thread, for a drizzle insert (null when the account has no number). */
export const nextThreadSeq = (accountId: string): SQL => {
  const base = sql`((select search_no from accounts where id = ${accountId}) << ${sql.raw(String(THREAD_SEQ_ACCOUNT_SHIFT))})`;
  return sql`(select coalesce(max(seq), ${base}) + 1 from threads
    where seq > ${base} and seq < ${base} + ${sql.raw(String(1 << THREAD_SEQ_ACCOUNT_SHIFT))})`;
};

/**
 * SQL bounds (both inclusive) of an account's rowids, from an SQL expression naming the account id.
 * The upper one is written as base + span: the next account's base overflows 64 bits for the last number.
 */
export const accountRowidRangeSql = (accountIdSql: string): [string, string] => {
  const base = `((SELECT search_no FROM accounts WHERE id = ${accountIdSql}) << ${SEARCH_ACCOUNT_SHIFT})`;
  return [base, `(${base} + ${2 ** SEARCH_ACCOUNT_SHIFT - 1})`];
};
