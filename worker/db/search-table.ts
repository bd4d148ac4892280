/**
 * The FTS5 table `message_search` (made by migrations/0008_message_search.sql), described for the
 * query builder so its writes can join a batch. It lives outside schema.ts on purpose: drizzle-kit
 * cannot create virtual tables, so it must not try to generate this one.
 */
import { sqliteTable, text } from "drizzle-orm/sqlite-core";

export const messageSearch = sqliteTable("message_search", {
  subject: text("subject").notNull(),
  /** "Name <address>" of the sender and every recipient. */
  participants: text("participants").notNull(),
  body: text("body").notNull(),
  accountId: text("account_id").notNull(),
  messageId: text("message_id").notNull(),
});
