/**
 * The FTS5 table `message_search` (made by migrations/0008_message_search.sql, keyed by thread since
 * 0013_search_by_thread.sql), described for the query builder so its writes can join a batch. It
 * lives outside schema.ts on purpose: drizzle-kit cannot create virtual tables, so it must not try to
 * generate this one.
 *
 * Its rowid is `(threads.seq << 20) + n`, n counting the thread's messages from 1 (messages.search_rowid
 * keeps it): a match names its thread without reading a row, and one thread is a rowid range.
 */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const messageSearch = sqliteTable("message_search", {
  rowid: integer("rowid").notNull(),
  subject: text("subject").notNull(),
  /** "Name <address>" of the sender and every recipient. */
  participants: text("participants").notNull(),
  body: text("body").notNull(),
  /** The account id, as one token: MATCH narrows to one account inside the index. */
  scope: text("scope").notNull(),
});

/** Bits of the rowid that count messages within a thread. */
export const SEARCH_THREAD_SHIFT = 20;
/** The largest counter a thread may use; later messages of an enormous thread are not indexed. */
export const SEARCH_MAX_PER_THREAD = (1 << SEARCH_THREAD_SHIFT) - 1;
