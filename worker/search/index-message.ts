/**
 * Puts one stored message into message_search under its thread's rowid range (see search-table.ts).
 * Both statements are idempotent, so running them again for a message already indexed changes nothing.
 */
import { and, eq, isNotNull, sql } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { messages } from "../db/schema";
import type * as schema from "../db/schema";
import { messageSearch, SEARCH_MAX_PER_THREAD, SEARCH_THREAD_SHIFT } from "../db/search-table";

type Db = DrizzleD1Database<typeof schema>;

export interface SearchableMessage {
  accountId: string;
  messageId: string;
  threadId: string;
  subject: string;
  participants: string;
  body: string;
}

/** The statements, to run in one batch (with others) in this order. */
export function searchIndexStatements(db: Db, m: SearchableMessage) {
  const base = sql`(t.seq << ${sql.raw(String(SEARCH_THREAD_SHIFT))})`;
  const next = sql`coalesce(max(m2.search_rowid), ${base}) + 1`;
  const key = db
    .update(messages)
    .set({
      searchRowid: sql`(select case when ${next} <= ${base} + ${SEARCH_MAX_PER_THREAD} then ${next} end
        from threads t left join messages m2 on m2.account_id = t.account_id and m2.thread_id = t.id
        where t.account_id = ${m.accountId} and t.id = ${m.threadId})`,
    })
    .where(
      and(eq(messages.accountId, m.accountId), eq(messages.id, m.messageId), sql`${messages.searchRowid} is null`),
    );
  const row = db.insert(messageSearch).select(
    db
      .select({
        rowid: sql<number>`${messages.searchRowid}`.as("rowid"),
        subject: sql<string>`${m.subject}`.as("subject"),
        participants: sql<string>`${m.participants}`.as("participants"),
        body: sql<string>`${m.body}`.as("body"),
      })
      .from(messages)
      .where(
        and(
          eq(messages.accountId, m.accountId),
          eq(messages.id, m.messageId),
          isNotNull(messages.searchRowid),
          sql`not exists (select 1 from message_search s where s.rowid = ${messages.searchRowid})`,
        ),
      ),
  );
  return [key, row] as const;
}
