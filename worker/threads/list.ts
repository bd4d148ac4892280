/**
 * The thread list every view draws from: one inbox, every inbox the caller may use, or what is
 * assigned to them; filtered by status, assignee, tag, unread and the search box; newest activity
 * first, keyset-paginated on (last activity, thread id) so pages never skip or repeat a thread.
 *
 * Search takes one of two ways. Matches first: the account's matches are read from its rowid range
 * of the full-text index, bounded (each match names its thread in its rowid), and only their threads
 * are sorted. When the bound cuts them short, matches are dense, so threads first is cheaper: walk
 * the newest threads and ask the index about each one (a rowid range), stopping at a page. A tag
 * filter without a search reads the tag's threads in list order from its own index (thread_tags
 * keeps each thread's last activity). Either way the per-row columns are worked out for a page's
 * rows alone.
 *
 * Raw SQL on purpose: the filters are optional EXISTS clauses and an FTS5 MATCH, which read more
 * plainly here than through a query builder. Every value is bound; inbox id lists travel as one JSON
 * parameter (json_each), so no list can exceed D1's bound-parameter limit.
 */
import type { ThreadStatus, ThreadSummaryView } from "../contracts";
import { accountRowidRangeSql, SEARCH_MAX_PER_THREAD, SEARCH_THREAD_SHIFT } from "../db/search-table";
import {
  ftsMatchExpression,
  literal,
  parseSearch,
  prefixTerm,
  type AssigneeFilter,
  type ParsedSearch,
} from "../search/query";
import { participantClause } from "./participant";

export interface ThreadListCaller {
  accountId: string;
  userId: string;
  email: string;
}

export interface ThreadListRequest {
  /** The inboxes to list: the ones named, always within what the caller may use. */
  inboxIds: string[];
  status?: ThreadStatus;
  assignee?: "me" | "none" | string;
  tag?: string;
  unread?: boolean;
  q?: string;
  cursor?: string;
  limit: number;
  /** Which inboxes the search box's `in:` may name (address or id), for callers listing several. */
  inboxNames?: { id: string; address: string }[];
  /** Only conversations this address wrote in or was sent (an embedded inbox's contact). */
  participant?: string;
}

interface Row {
  /** Null only in the one row an empty matches-first page returns. */
  id: string | null;
  subject: string;
  snippet: string;
  last_message_at: number;
  message_count: number;
  status: ThreadStatus;
  snoozed_until: number | null;
  latest: string | null;
  assignee_id: string | null;
  assignee_email: string | null;
  assignee_name: string | null;
  tags: string | null;
  inbox_ids: string;
  is_read: number;
  /** How many matches the bounded read of a matches-first search found (more than its bound: cut short). */
  hit_count?: number;
}

/** A snooze that has run out reads as open, without anything having to wake it. */
const EFFECTIVE_STATUS = `CASE WHEN t.status = 'snoozed' AND t.snoozed_until <= ?now THEN 'open' ELSE t.status END`;

/** How a search finds its threads (see above). */
export type SearchWay = "matches_first" | "threads_first";

/**
 * Up to this many matching messages, listing the matches first is the cheaper way; above it the
 * matches are dense enough that the newest threads fill a page after a few probes each.
 */
export const MATCHES_FIRST_UP_TO = 50_000;

/** A prefix standing for more indexed words than this keeps FTS5's own prefix matching. */
const MAX_COMPLETIONS = 32;

/** How one search runs: its way, and the indexed words its typed prefix stands for (null: FTS5's own prefix). */
export interface SearchPlan {
  way: SearchWay;
  completions: string[] | null;
  /** Matches first reads at most this many matches (one more tells that there are more). */
  matchesFirstUpTo: number;
}

/** The full-text expression a search sends to MATCH, and whether it lists what matches or what does not. */
function searchExpression(
  search: ParsedSearch,
  completions?: string[] | null,
): { expr: string; negated: boolean } | null {
  const match = ftsMatchExpression(search, completions ?? undefined);
  if (match) return { expr: match, negated: false };
  if (search.excluded.length > 0) return { expr: search.excluded.map(literal).join(" OR "), negated: true };
  return null;
}

/**
 * The indexed words a prefix stands for, as the tokenizer folds them (lower case, no diacritics);
 * null when there are too many to spell out.
 */
async function completionsOf(db: D1Database, prefix: string): Promise<string[] | null> {
  const folded = prefix.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
  const rows = await db
    .prepare(`SELECT term FROM message_search_terms WHERE term >= ?1 AND term < ?1 || ?2 ORDER BY term LIMIT ?3`)
    .bind(folded, "\u{10FFFF}", MAX_COMPLETIONS + 1)
    .all<{ term: string }>();
  return rows.results.length > MAX_COMPLETIONS ? null : rows.results.map((r) => r.term);
}

/**
 * The words a search's typed prefix stands for, looked up first so that FTS5 never merges a
 * prefix's lists; null when there is no prefix or it stands for too many.
 */
export async function searchCompletions(db: D1Database, q: string | undefined): Promise<string[] | null> {
  const prefix = q ? prefixTerm(parseSearch(q)) : null;
  return prefix ? await completionsOf(db, prefix) : null;
}

export interface ThreadListOptions {
  /** Imposes a way, to compare the two. */
  way?: SearchWay;
  matchesFirstUpTo?: number;
  /** Told D1's own execution time of each statement the list ran (for measurements). */
  onStatement?: (ms: number) => void;
}

export async function listThreads(
  db: D1Database,
  who: ThreadListCaller,
  req: ThreadListRequest,
  options: ThreadListOptions = {},
): Promise<{ threads: ThreadSummaryView[]; nextCursor: string | null }> {
  return (await listThreadsAndWay(db, who, req, options)).page;
}

/** A page of the list, how a search went (null without one), and the statement that made the page. */
export interface ListedPage {
  page: { threads: ThreadSummaryView[]; nextCursor: string | null };
  way: SearchWay | null;
  statement: ThreadListStatement | null;
}

/**
 * The list, and the way it went. A search goes matches first, reading at most a bound + 1 of its
 * matches in the same statement; when there were more, the page is asked again threads first.
 */
export async function listThreadsAndWay(
  db: D1Database,
  who: ThreadListCaller,
  req: ThreadListRequest,
  options: ThreadListOptions = {},
): Promise<ListedPage> {
  const started = Date.now();
  const completions = await searchCompletions(db, req.q);
  options.onStatement?.(Date.now() - started);
  const matchesFirstUpTo = options.matchesFirstUpTo ?? MATCHES_FIRST_UP_TO;
  const all = async <T>(statement: Statement) => {
    const r = await db
      .prepare(statement.text)
      .bind(...statement.values)
      .all<T>();
    options.onStatement?.(r.meta.duration);
    return r.results;
  };
  const run = async (way: SearchWay) => {
    const statement = threadListQuery(who, req, Date.now(), { way, completions, matchesFirstUpTo });
    return statement ? { rows: await all<Row>(statement), statement } : null;
  };
  let way = options.way ?? "matches_first";
  let ran = await run(way);
  const boundedTo = ran?.statement.boundedTo ?? null;
  if (ran && boundedTo !== null && !options.way && (ran.rows[0]?.hit_count ?? 0) > boundedTo) {
    way = "threads_first";
    ran = await run(way);
  }
  const listed = ran?.rows.filter((r): r is Row & { id: string } => r.id !== null) ?? [];
  const last = listed.at(-1);
  return {
    page: {
      threads: listed.map(toSummary),
      nextCursor: listed.length === req.limit && last ? `${last.last_message_at}.${last.id}` : null,
    },
    way: options.way ?? (boundedTo !== null ? way : null),
    statement: ran?.statement ?? null,
  };
}

interface Statement {
  text: string;
  values: unknown[];
}

/**
 * The list's statement. Matches first, it always returns a row (with a null id when the page is
 * empty) whose hit_count says how much of its bounded set it read: more than boundedTo, cut short.
 */
export interface ThreadListStatement extends Statement {
  boundedTo: number | null;
}

/**
 * The SQL and bound values of one list request; null when it cannot match anything. Exposed so the
 * query plan of exactly what the list runs can be inspected.
 */
export function threadListQuery(
  who: ThreadListCaller,
  req: ThreadListRequest,
  now: number,
  plan: SearchPlan = { way: "matches_first", completions: null, matchesFirstUpTo: MATCHES_FIRST_UP_TO },
): ThreadListStatement | null {
  const where: string[] = ["t.account_id = ?account", "t.hidden_at IS NULL"];
  const binds = new Map<string, unknown>([
    ["account", who.accountId],
    ["user", who.userId],
    ["now", now],
  ]);
  let n = 0;
  const bind = (value: unknown) => {
    const key = `p${n++}`;
    binds.set(key, value);
    return `?${key}`;
  };

  const search = req.q ? parseSearch(req.q) : null;
  let inboxIds = req.inboxIds;
  if (search && search.inboxes.length > 0) {
    const named = new Set(search.inboxes.map((s) => s.toLowerCase()));
    inboxIds = inboxIds.filter((id) => {
      const name = req.inboxNames?.find((i) => i.id === id);
      return named.has(id.toLowerCase()) || (name !== undefined && named.has(name.address.toLowerCase()));
    });
  }
  if (inboxIds.length === 0) return null;
  const scope = bind(JSON.stringify(inboxIds));
  where.push(
    `EXISTS (SELECT 1 FROM thread_mailboxes tm WHERE tm.account_id = t.account_id AND tm.thread_id = t.id
       AND tm.mailbox_id IN (SELECT value FROM json_each(${scope})))`,
  );

  const statuses = [...(req.status ? [req.status] : []), ...(search?.status ?? [])];
  if (statuses.length > 0) {
    // The filter and the search box both apply: a thread must satisfy each of them.
    if (req.status) where.push(`${EFFECTIVE_STATUS} = ${bind(req.status)}`);
    if (search && search.status.length > 0)
      where.push(`${EFFECTIVE_STATUS} IN (SELECT value FROM json_each(${bind(JSON.stringify(search.status))}))`);
  }

  const assigneeClause = (a: "me" | "none" | string | AssigneeFilter): string => {
    if (a === "me" || (typeof a === "object" && a.kind === "me")) return `t.assignee_id = ?user`;
    if (a === "none" || (typeof a === "object" && a.kind === "none")) return `t.assignee_id IS NULL`;
    if (typeof a === "object")
      return `t.assignee_id IN (SELECT id FROM users WHERE account_id = ?account AND email = ${bind(a.email.toLowerCase())})`;
    return `t.assignee_id = ${bind(a)}`;
  };
  if (req.assignee) where.push(assigneeClause(req.assignee));
  if (search && search.assignee.length > 0) where.push(`(${search.assignee.map(assigneeClause).join(" OR ")})`);

  const tags = [...(req.tag ? [req.tag] : []), ...(search?.tags.map((t) => t.toLowerCase()) ?? [])];
  const expression = search ? searchExpression(search, plan.completions) : null;
  // Without a search, the first tag's own index gives the threads in list order.
  const byTag = expression ? undefined : tags[0];
  const order =
    byTag === undefined ? { at: "t.last_message_at", id: "t.id" } : { at: "g.last_message_at", id: "g.thread_id" };
  for (const tag of byTag === undefined ? tags : tags.slice(1)) {
    where.push(
      `EXISTS (SELECT 1 FROM thread_tags g WHERE g.account_id = t.account_id AND g.thread_id = t.id AND g.tag = ${bind(tag)})`,
    );
  }

  const readClause = `EXISTS (SELECT 1 FROM thread_reads r WHERE r.account_id = t.account_id AND r.user_id = ?user
      AND r.thread_id = t.id AND r.read_at >= t.last_message_at)`;
  if (req.unread === true || search?.unread) where.push(`NOT ${readClause}`);
  if (req.unread === false) where.push(readClause);

  if (req.participant) {
    where.push(participantClause("t.account_id", "t.id", bind(req.participant.toLowerCase())));
  }
  if (search?.hasAttachment) {
    where.push(
      `EXISTS (SELECT 1 FROM messages am WHERE am.account_id = t.account_id AND am.thread_id = t.id AND am.attachment_count > 0)`,
    );
  }
  if (req.cursor) {
    const [ms, id] = req.cursor.split(".") as [string, string];
    where.push(
      `(${order.at} < ${bind(Number(ms))} OR (${order.at} = ${bind(Number(ms))} AND ${order.id} < ${bind(id)}))`,
    );
  }

  // The search clause goes last: the cheap filters above decide first whether a thread is a candidate.
  // Matches first, the page starts from the search's matches, a bounded set; the caller asks again
  // threads first when the set was cut short.
  let source = "threads t";
  let set: string | null = null;
  const upTo = plan.matchesFirstUpTo;
  if (byTag !== undefined) {
    // CROSS JOIN keeps the tag's index (in list order) outermost, so the page stops at its limit.
    source = "thread_tags g CROSS JOIN threads t";
    where.push(
      `g.account_id = ?account`,
      `g.tag = ${bind(byTag)}`,
      `t.account_id = g.account_id`,
      `t.id = g.thread_id`,
    );
  } else if (expression && plan.way === "threads_first") {
    const first = `(t.seq << ${SEARCH_THREAD_SHIFT})`;
    const inThread = `EXISTS (SELECT 1 FROM message_search s WHERE message_search MATCH ${bind(expression.expr)}
       AND s.rowid BETWEEN ${first} AND ${first} + ${SEARCH_MAX_PER_THREAD})`;
    where.push(expression.negated ? `NOT ${inThread}` : inThread);
  } else if (expression) {
    // This account's matches: one rowid range of the index.
    const [from, to] = accountRowidRangeSql("?account");
    set = `SELECT rowid AS r FROM message_search WHERE message_search MATCH ${bind(expression.expr)}
       AND rowid >= ${from} AND rowid <= ${to} LIMIT ${bind(upTo + 1)}`;
    const seqs = `SELECT DISTINCT r >> ${SEARCH_THREAD_SHIFT} AS seq FROM hits`;
    if (!expression.negated) {
      // CROSS JOIN keeps this order: the (few) matches first, then their threads by seq.
      source = `(${seqs}) hit CROSS JOIN threads t`;
      where.push(`t.seq = hit.seq`);
    } else where.push(`t.seq NOT IN (${seqs})`);
  }
  // Cut short, the rest of the page's work is skipped (a constant condition, tested once).
  if (set) where.push(`(SELECT n FROM found) <= ${upTo}`);
  const hits = set ? `WITH hits AS MATERIALIZED (${set}), found AS MATERIALIZED (SELECT count(*) AS n FROM hits)` : "";

  // The page is chosen first, reading only the thread rows; the columns below are worked out for its rows alone.
  const page = `SELECT t.* FROM ${source} WHERE ${where.join(" AND ")}
    ORDER BY ${order.at} DESC, ${order.id} DESC LIMIT ${bind(req.limit)}`;
  const sql = `${hits}
    SELECT t.id, t.subject, t.snippet, t.last_message_at, t.message_count, t.snoozed_until,
      ${EFFECTIVE_STATUS} AS status,
      (SELECT json_array(m.from_name, m.from_address) FROM messages m
         WHERE m.account_id = t.account_id AND m.thread_id = t.id ORDER BY m.received_at DESC LIMIT 1) AS latest,
      u.id AS assignee_id, u.email AS assignee_email, u.name AS assignee_name,
      (SELECT json_group_array(g.tag) FROM (SELECT tag FROM thread_tags g WHERE g.account_id = t.account_id
         AND g.thread_id = t.id ORDER BY tag) g) AS tags,
      (SELECT json_group_array(tm.mailbox_id) FROM thread_mailboxes tm WHERE tm.account_id = t.account_id
         AND tm.thread_id = t.id AND tm.mailbox_id IN (SELECT value FROM json_each(${scope}))) AS inbox_ids,
      ${readClause} AS is_read${set ? ", found.n AS hit_count" : ""}
    FROM ${set ? `found LEFT JOIN (${page}) t ON 1` : `(${page}) t`}
    LEFT JOIN users u ON u.account_id = t.account_id AND u.id = t.assignee_id
    ORDER BY t.last_message_at DESC, t.id DESC`;
  return { ...positional(sql, binds), boundedTo: set ? upTo : null };
}

function toSummary(r: Row & { id: string }): ThreadSummaryView {
  const latest = r.latest ? (JSON.parse(r.latest) as [string, string]) : null;
  return {
    id: r.id,
    subject: r.subject,
    snippet: r.snippet,
    lastMessageAt: r.last_message_at,
    messageCount: r.message_count,
    from: latest && latest[1] ? { name: latest[0], address: latest[1] } : null,
    status: r.status,
    snoozedUntil: r.status === "snoozed" ? r.snoozed_until : null,
    assignee: r.assignee_id ? { id: r.assignee_id, email: r.assignee_email ?? "", name: r.assignee_name ?? "" } : null,
    tags: r.tags ? (JSON.parse(r.tags) as string[]) : [],
    unread: r.is_read === 0,
    inboxIds: JSON.parse(r.inbox_ids) as string[],
  };
}

/** Named placeholders (?name) to D1's positional ones, in order of appearance. */
function positional(sql: string, binds: Map<string, unknown>): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const text = sql.replace(/\?([a-z][a-z0-9]*)/g, (_, name: string) => {
    if (!binds.has(name)) throw new Error(`unbound parameter ${name}`);
    values.push(binds.get(name));
    return "?";
  });
  return { text, values };
}
