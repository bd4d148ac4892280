/**
 * The thread list every view draws from: one inbox, every inbox the caller may use, or what is
 * assigned to them; filtered by status, assignee, tag, unread and the search box; newest activity
 * first, keyset-paginated on (last activity, thread id) so pages never skip or repeat a thread.
 *
 * Raw SQL on purpose: the filters are optional EXISTS clauses and an FTS5 MATCH, which read more
 * plainly here than through a query builder. Every value is bound; inbox id lists travel as one JSON
 * parameter (json_each), so no list can exceed D1's bound-parameter limit.
 */
import type { ThreadStatus, ThreadSummaryView } from "../contracts";
import { ftsMatchExpression, parseSearch, type AssigneeFilter } from "../search/query";

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

export async function listThreads(
  db: D1Database,
  who: ThreadListCaller,
  req: ThreadListRequest,
): Promise<{ threads: ThreadSummaryView[]; nextCursor: string | null }> {
  const query = threadListQuery(who, req, Date.now());
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
  if (search) {
    const match = ftsMatchExpression(search);
    const matching = (expr: string) =>
      `t.id IN (SELECT sm.thread_id FROM message_search s JOIN messages sm ON sm.account_id = s.account_id AND sm.id = s.message_id
         WHERE message_search MATCH ${bind(expr)} AND s.account_id = ?account)`;
    if (match) where.push(matching(match));
    else if (search.excluded.length > 0) where.push(`NOT ${matching(search.excluded.map(ftsLiteral).join(" OR "))}`);
  }

  if (req.cursor) {
    const [ms, id] = req.cursor.split(".") as [string, string];
    where.push(
      `(t.last_message_at < ${bind(Number(ms))} OR (t.last_message_at = ${bind(Number(ms))} AND t.id < ${bind(id)}))`,
    );
  }

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
    FROM threads t
    LEFT JOIN users u ON u.account_id = t.account_id AND u.id = t.assignee_id
    WHERE ${where.join(" AND ")}
    ORDER BY t.last_message_at DESC, t.id DESC
    LIMIT ${bind(req.limit)}`;
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
