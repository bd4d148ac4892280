/**
 * The thread list every view draws from: one inbox, every inbox the caller may use, or what is
 * assigned to them; filtered by status, assignee, tag, unread and the search box; newest activity
 * first, keyset-paginated on (last activity, thread id) so pages never skip or repeat a thread.
 *
 * Search takes one of two ways, chosen by how many messages of the account match (counted in the
 * full-text index, bounded): few matches list their threads first (each match names its thread in
 * its rowid) and only those are sorted; many matches walk the newest threads and ask the index about
 * each one (a rowid range), stopping at a page. Either way only a page's worth of rows is ever read.
 *
 * Raw SQL on purpose: the filters are optional EXISTS clauses and an FTS5 MATCH, which read more
 * plainly here than through a query builder. Every value is bound; inbox id lists travel as one JSON
 * parameter (json_each), so no list can exceed D1's bound-parameter limit.
 */
import type { ThreadStatus, ThreadSummaryView } from "../contracts";
import { SEARCH_MAX_PER_THREAD, SEARCH_THREAD_SHIFT } from "../db/search-table";
import { ftsMatchExpression, parseSearch, prefixTerm, type AssigneeFilter, type ParsedSearch } from "../search/query";

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
  id: string;
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
}

/** A snooze that has run out reads as open, without anything having to wake it. */
const EFFECTIVE_STATUS = `CASE WHEN t.status = 'snoozed' AND t.snoozed_until <= ?now THEN 'open' ELSE t.status END`;

/** A literal for FTS5 MATCH: the phrase in double quotes, inner quotes doubled. */
const ftsLiteral = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** How a search finds its threads (see above). */
export type SearchWay = "matches_first" | "threads_first";

/** More matching messages than this, and walking the newest threads is the cheaper way. */
const THREADS_FIRST_ABOVE = 5_000;

/** A prefix standing for more indexed words than this keeps FTS5's own prefix matching. */
const MAX_COMPLETIONS = 32;

/** How one search runs: its way, and the indexed words its typed prefix stands for (null: FTS5's own prefix). */
export interface SearchPlan {
  way: SearchWay;
  completions: string[] | null;
}

/** The full-text expression a search sends to MATCH, or null when it has no words. */
function searchExpressions(
  search: ParsedSearch,
  completions?: string[] | null,
): { match: string | null; excluded: string | null } {
  const match = ftsMatchExpression(search, completions ?? undefined);
  return {
    match,
    excluded: !match && search.excluded.length > 0 ? search.excluded.map(ftsLiteral).join(" OR ") : null,
  };
}

/** Narrows an expression to one account inside the index (the account id is one token of `scope`). */
const scoped = (accountId: string, expr: string) => `{scope}: ${ftsLiteral(accountId)} AND (${expr})`;

/** Which way a search should go, from a bounded count of the account's matching messages. */
async function chooseSearchWay(
  db: D1Database,
  accountId: string,
  search: ParsedSearch,
  completions: string[] | null,
): Promise<SearchWay> {
  const { match, excluded } = searchExpressions(search, completions);
  const expr = match ?? excluded;
  if (!expr) return "matches_first";
  const row = await db
    .prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM message_search WHERE message_search MATCH ? LIMIT ?)`)
    .bind(scoped(accountId, expr), THREADS_FIRST_ABOVE + 1)
    .first<{ n: number }>();
  return (row?.n ?? 0) > THREADS_FIRST_ABOVE ? "threads_first" : "matches_first";
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
 * Decides how a search runs (a way may be imposed, to compare the two). The prefix's words are
 * looked up first, so that neither the count nor the list has FTS5 merge a prefix.
 */
export async function planSearch(
  db: D1Database,
  accountId: string,
  q: string | undefined,
  way?: SearchWay,
): Promise<SearchPlan> {
  if (!q) return { way: "matches_first", completions: null };
  const search = parseSearch(q);
  const prefix = prefixTerm(search);
  const completions = prefix ? await completionsOf(db, prefix) : null;
  return { way: way ?? (await chooseSearchWay(db, accountId, search, completions)), completions };
}

export async function listThreads(
  db: D1Database,
  who: ThreadListCaller,
  req: ThreadListRequest,
  way?: SearchWay,
): Promise<{ threads: ThreadSummaryView[]; nextCursor: string | null }> {
  const query = threadListQuery(who, req, Date.now(), await planSearch(db, who.accountId, req.q, way));
  if (!query) return { threads: [], nextCursor: null };
  const rows = (
    await db
      .prepare(query.text)
      .bind(...query.values)
      .all<Row>()
  ).results;
  const threads = rows.map(toSummary);
  const last = rows.at(-1);
  return { threads, nextCursor: rows.length === req.limit && last ? `${last.last_message_at}.${last.id}` : null };
}

/**
 * The SQL and bound values of one list request; null when it cannot match anything. Exposed so the
 * query plan of exactly what the list runs can be inspected.
 */
export function threadListQuery(
  who: ThreadListCaller,
  req: ThreadListRequest,
  now: number,
  plan: SearchPlan = { way: "matches_first", completions: null },
): { text: string; values: unknown[] } | null {
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

  for (const tag of [...(req.tag ? [req.tag] : []), ...(search?.tags.map((t) => t.toLowerCase()) ?? [])]) {
    where.push(
      `EXISTS (SELECT 1 FROM thread_tags g WHERE g.account_id = t.account_id AND g.thread_id = t.id AND g.tag = ${bind(tag)})`,
    );
  }

  const readClause = `EXISTS (SELECT 1 FROM thread_reads r WHERE r.account_id = t.account_id AND r.user_id = ?user
      AND r.thread_id = t.id AND r.read_at >= t.last_message_at)`;
  if (req.unread === true || search?.unread) where.push(`NOT ${readClause}`);
  if (req.unread === false) where.push(readClause);

  if (req.participant) {
    const who = bind(req.participant.toLowerCase());
    const listed = (column: string) =>
      `EXISTS (SELECT 1 FROM json_each(pm.${column}) j WHERE lower(json_extract(j.value, '$.address')) = ${who})`;
    where.push(
      `EXISTS (SELECT 1 FROM messages pm WHERE pm.account_id = t.account_id AND pm.thread_id = t.id
         AND (lower(pm.from_address) = ${who} OR ${listed("to_list")} OR ${listed("cc_list")}))`,
    );
  }
  if (search?.hasAttachment) {
    where.push(
      `EXISTS (SELECT 1 FROM messages am WHERE am.account_id = t.account_id AND am.thread_id = t.id AND am.attachment_count > 0)`,
    );
  }
  if (req.cursor) {
    const [ms, id] = req.cursor.split(".") as [string, string];
    where.push(
      `(t.last_message_at < ${bind(Number(ms))} OR (t.last_message_at = ${bind(Number(ms))} AND t.id < ${bind(id)}))`,
    );
  }

  // The search clause goes last: the cheap filters above decide first whether a thread is a candidate.
  let source = "threads t";
  if (search) {
    const { match, excluded } = searchExpressions(search, plan.completions);
    const expr = match ?? excluded;
    if (expr && plan.way === "threads_first") {
      const first = `(t.seq << ${SEARCH_THREAD_SHIFT})`;
      const inThread = `EXISTS (SELECT 1 FROM message_search s WHERE message_search MATCH ${bind(expr)}
         AND s.rowid BETWEEN ${first} AND ${first} + ${SEARCH_MAX_PER_THREAD})`;
      where.push(match ? inThread : `NOT ${inThread}`);
    } else if (expr) {
      const seqs = `SELECT DISTINCT s.rowid >> ${SEARCH_THREAD_SHIFT} AS seq FROM message_search s
         WHERE message_search MATCH ${bind(scoped(who.accountId, expr))}`;
      if (match) {
        // CROSS JOIN keeps this order: the (few) matches first, then their threads by seq.
        source = `(${seqs}) hit CROSS JOIN threads t`;
        where.push(`t.seq = hit.seq`);
      } else where.push(`t.seq NOT IN (${seqs})`);
    }
  }

  // The page is chosen first, reading only the thread rows; the columns below are worked out for its rows alone.
  const page = `SELECT t.* FROM ${source} WHERE ${where.join(" AND ")}
    ORDER BY t.last_message_at DESC, t.id DESC LIMIT ${bind(req.limit)}`;
  const sql = `
    SELECT t.id, t.subject, t.snippet, t.last_message_at, t.message_count, t.snoozed_until,
      ${EFFECTIVE_STATUS} AS status,
      (SELECT json_array(m.from_name, m.from_address) FROM messages m
         WHERE m.account_id = t.account_id AND m.thread_id = t.id ORDER BY m.received_at DESC LIMIT 1) AS latest,
      u.id AS assignee_id, u.email AS assignee_email, u.name AS assignee_name,
      (SELECT json_group_array(g.tag) FROM (SELECT tag FROM thread_tags g WHERE g.account_id = t.account_id
         AND g.thread_id = t.id ORDER BY tag) g) AS tags,
      (SELECT json_group_array(tm.mailbox_id) FROM thread_mailboxes tm WHERE tm.account_id = t.account_id
         AND tm.thread_id = t.id AND tm.mailbox_id IN (SELECT value FROM json_each(${scope}))) AS inbox_ids,
      ${readClause} AS is_read
    FROM (${page}) t
    LEFT JOIN users u ON u.account_id = t.account_id AND u.id = t.assignee_id
    ORDER BY t.last_message_at DESC, t.id DESC`;
  return positional(sql, binds);
}

function toSummary(r: Row): ThreadSummaryView {
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
