/**
 * Realistic conversations in bulk, written straight into D1 for load measurements in development:
 * threads with several messages each, FTS rows, tags, read state and assignees, in the shapes the
 * message store writes. Deterministic for a given start index, so a seeded database can be rebuilt.
 * Rows travel as one JSON parameter per statement (json_each), which keeps every statement far below
 * D1's bound-parameter and statement-size limits.
 */

import { lastThreadSeqSql, SEARCH_THREAD_SHIFT } from "../db/search-table";

const WORDS = (
  "invoice order payment refund shipping delivery contract renewal quote proposal meeting call schedule " +
  "account password login access error issue problem question request support ticket update status " +
  "project deadline budget report review approval signature document attachment draft final version " +
  "customer client partner vendor supplier team manager director sales marketing finance legal " +
  "product feature release bug crash slow performance pricing discount subscription plan trial upgrade " +
  "cancel billing receipt tax statement balance transfer bank card charge credit debit overdue reminder " +
  "thanks please urgent today tomorrow monday friday week month quarter year morning afternoon " +
  "warehouse stock inventory return exchange damaged missing package tracking courier address " +
  "onboarding training webinar demo workshop conference travel hotel flight booking confirmation " +
  "feedback survey complaint praise recommendation introduction followup reply forward"
).split(/\s+/);
const FIRST =
  "Ana Ben Cara Dana Eli Femi Gus Hana Ivo Jon Kai Lea Max Nia Oto Pia Raj Sol Tom Uma Vic Wen Yan Zoe".split(" ");
const LAST = "Silva Okafor Nguyen Schmidt Rossi Kowalski Tanaka Haddad Novak Ortiz Berg Costa Meyer Dubois".split(" ");
const DOMAINS = ["acme.example", "globex.example", "initech.example", "umbrella.example", "hooli.example"];
const TAGS = ["vip", "billing", "bug", "lead", "legal", "partner", "urgent", "followup"];
const STATUSES = ["open", "open", "open", "open", "open", "open", "open", "pending", "closed", "closed", "snoozed"];
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** mulberry32: small, fast and good enough to spread values. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A valid Postroom id (26 Crockford characters) unique per (kind, n), sorting like n. */
function seededId(kind: string, n: number): string {
  let tail = "";
  for (let v = n, i = 0; i < 14; i++, v = Math.floor(v / 32)) tail = CROCKFORD[v % 32] + tail;
  return `01SEED${kind}`.padEnd(12, "0") + tail;
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const words = (r: () => number, n: number) => Array.from({ length: n }, () => pick(r, WORDS)).join(" ");

export interface SeedRequest {
  accountId: string;
  mailboxId: string;
  /** Index of the first thread; chunks with different starts never collide. */
  start: number;
  threads: number;
  messagesPerThread: number;
  /** Users threads may be assigned to and who have read some of them. */
  userIds: string[];
  /** Latest activity; threads spread over the year before it. */
  now: number;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;
const ROWS_PER_STATEMENT = 400;

export async function seedThreads(db: D1Database, req: SeedRequest): Promise<{ threads: number; messages: number }> {
  const threadRows: unknown[][] = [];
  const messageRows: unknown[][] = [];
  const tagRows: unknown[][] = [];
  const readRows: unknown[][] = [];
  for (let i = req.start; i < req.start + req.threads; i++) {
    const r = rng(i * 2654435761);
    const threadId = seededId("T", i);
    const last = req.now - Math.floor(r() * YEAR_MS);
    const subject = `${pick(r, WORDS)} ${pick(r, WORDS)} ${pick(r, WORDS)} #${i}`;
    const status = pick(r, STATUSES);
    const assignee = r() < 0.4 && req.userIds.length > 0 ? pick(r, req.userIds) : null;
    let snippet = "";
    for (let k = 0; k < req.messagesPerThread; k++) {
      const first = pick(r, FIRST);
      const lastName = pick(r, LAST);
      const domain = pick(r, DOMAINS);
      const received = last - (req.messagesPerThread - 1 - k) * Math.floor(3600_000 * (1 + r() * 48));
      const body = `Hi team, ${words(r, 30 + Math.floor(r() * 50))}. Regards, ${first} ${lastName}`;
      snippet = body.slice(0, 140);
      messageRows.push([
        seededId("M", i * 64 + k),
        threadId,
        `seed-${i}-${k}@${domain}`,
        k === 0 ? subject : `Re: ${subject}`,
        `${first} ${lastName}`,
        `${first.toLowerCase()}.${lastName.toLowerCase()}@${domain}`,
        JSON.stringify([{ name: "Support", address: "support@postroom.example" }]),
        received,
        snippet,
        body,
        r() < 0.05 ? 1 : 0,
        body.length + 600,
        k + 1,
      ]);
    }
    threadRows.push([threadId, subject, snippet, last, req.messagesPerThread, status, assignee]);
    if (r() < 0.15) tagRows.push([threadId, pick(r, TAGS)]);
    for (const u of req.userIds) if (r() < 0.6) readRows.push([u, threadId, last + 1000]);
  }

  const account = req.accountId;
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < threadRows.length; i += ROWS_PER_STATEMENT) {
    const json = JSON.stringify(threadRows.slice(i, i + ROWS_PER_STATEMENT));
    statements.push(
      db
        .prepare(
          `INSERT INTO threads (id, account_id, subject, snippet, last_message_at, message_count, created_at, status,
             snoozed_until, assignee_id, version, seq)
           SELECT value->>0, ?1, value->>1, value->>2, value->>3, value->>4, value->>3, value->>5,
             CASE WHEN value->>5 = 'snoozed' THEN ?3 + 86400000 ELSE NULL END, value->>6, value->>4,
             ${lastThreadSeqSql("?1")} + key + 1
           FROM json_each(?2)`,
        )
        .bind(account, json, req.now),
      db
        .prepare(
          `INSERT INTO thread_mailboxes (account_id, thread_id, mailbox_id, last_message_at)
           SELECT ?1, value->>0, ?3, value->>3 FROM json_each(?2)`,
        )
        .bind(account, json, req.mailboxId),
    );
  }
  for (let i = 0; i < messageRows.length; i += ROWS_PER_STATEMENT) {
    const json = JSON.stringify(messageRows.slice(i, i + ROWS_PER_STATEMENT));
    statements.push(
      db
        .prepare(
          `INSERT INTO messages (id, account_id, thread_id, rfc_message_id, subject, from_name, from_address, to_list,
             received_at, sent_at, snippet, text_body, attachment_count, size_bytes, raw_key, created_at, search_rowid)
           SELECT value->>0, ?1, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6,
             value->>7, value->>7, value->>8, value->>9, value->>10, value->>11, 'seed/' || (value->>0), value->>7,
             ((SELECT seq FROM threads t WHERE t.account_id = ?1 AND t.id = value->>1) << ${SEARCH_THREAD_SHIFT}) + (value->>12)
           FROM json_each(?2)`,
        )
        .bind(account, json),
      db
        .prepare(
          `INSERT INTO message_search (rowid, subject, participants, body)
           SELECT ((SELECT seq FROM threads t WHERE t.account_id = ?1 AND t.id = value->>1) << ${SEARCH_THREAD_SHIFT}) + (value->>12),
             value->>3, (value->>4) || ' <' || (value->>5) || '> ' || (value->>6), value->>9
           FROM json_each(?2)`,
        )
        .bind(account, json),
    );
  }
  if (tagRows.length > 0) {
    statements.push(
      db
        .prepare(
          `INSERT INTO thread_tags (account_id, thread_id, tag, created_at)
           SELECT ?1, value->>0, value->>1, ?3 FROM json_each(?2)`,
        )
        .bind(account, JSON.stringify(tagRows), req.now),
    );
  }
  for (let i = 0; i < readRows.length; i += ROWS_PER_STATEMENT) {
    statements.push(
      db
        .prepare(
          `INSERT INTO thread_reads (account_id, user_id, thread_id, read_at)
           SELECT ?1, value->>0, value->>1, value->>2 FROM json_each(?2)`,
        )
        .bind(account, JSON.stringify(readRows.slice(i, i + ROWS_PER_STATEMENT))),
    );
  }
  await db.batch(statements);
  return { threads: threadRows.length, messages: messageRows.length };
}
