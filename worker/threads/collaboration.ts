/**
 * What the team adds to a conversation: its status, assignee, tags and internal notes, as the
 * thread view shows them. Notes can mention teammates (@name or @email); mentions are resolved to
 * users of the account who may see the thread.
 */
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { NoteView, ThreadStatus, UserRef } from "../contracts";
import { inboxAccess, notes, threadTags, users } from "../db/schema";
import { partnerNames, sentVia } from "../embed/attribution";
import type { ThreadRow } from "./access";

/** A snooze that has run out reads as open. */
export function effectiveStatus(t: Pick<ThreadRow, "status" | "snoozedUntil">, now = Date.now()): ThreadStatus {
  return t.status === "snoozed" && (t.snoozedUntil ?? 0) <= now ? "open" : t.status;
}

const toRef = (u: { id: string; email: string; name: string }): UserRef => ({ id: u.id, email: u.email, name: u.name });

/** The thread's team-side state; `notesAfterVersion` keeps only the notes newer than that thread version. */
export async function threadCollaboration(
  c: Context<AppEnv>,
  thread: ThreadRow,
  options: { notesAfterVersion?: number } = {},
) {
  const { accountId } = c.var.principal;
  const [noteRows, tagRows] = await Promise.all([
    c.var.db
      .select()
      .from(notes)
      .where(
        and(
          eq(notes.accountId, accountId),
          eq(notes.threadId, thread.id),
          ...(options.notesAfterVersion !== undefined ? [gt(notes.threadVersion, options.notesAfterVersion)] : []),
        ),
      )
      .orderBy(asc(notes.createdAt), asc(notes.id))
      .all(),
    c.var.db
      .select({ tag: threadTags.tag })
      .from(threadTags)
      .where(and(eq(threadTags.accountId, accountId), eq(threadTags.threadId, thread.id)))
      .orderBy(asc(threadTags.tag))
      .all(),
  ]);
  const ids = new Set<string>();
  if (thread.assigneeId) ids.add(thread.assigneeId);
  for (const n of noteRows) {
    if (n.authorId) ids.add(n.authorId);
    for (const m of JSON.parse(n.mentions) as string[]) ids.add(m);
  }
  const [people, partners] = await Promise.all([
    usersById(c, [...ids]),
    partnerNames(
      c.var.db,
      accountId,
      noteRows.map((n) => n.viaPartnerId),
    ),
  ]);
  const ref = (id: string): UserRef => people.get(id) ?? { id, email: "", name: "Former user" };
  const status = effectiveStatus(thread);
  return {
    notes: noteRows.map((n): NoteView => ({
      id: n.id,
      author: n.viaUserName !== null ? { id: "", email: "", name: n.viaUserName } : ref(n.authorId),
      via: sentVia(partners, n.viaPartnerId, n.viaUserName),
      body: n.body,
      mentions: (JSON.parse(n.mentions) as string[]).map(ref),
      createdAt: n.createdAt,
    })),
    status,
    snoozedUntil: status === "snoozed" ? thread.snoozedUntil : null,
    assignee: thread.assigneeId ? ref(thread.assigneeId) : null,
    tags: tagRows.map((t) => t.tag),
    version: thread.version,
    hidden: thread.hiddenAt !== null,
  };
}

async function usersById(c: Context<AppEnv>, ids: string[]): Promise<Map<string, UserRef>> {
  const out = new Map<string, UserRef>();
  for (let i = 0; i < ids.length; i += 90) {
    const rows = await c.var.db
      .select({ id: users.id, email: users.email, name: users.name })
      .from(users)
      .where(and(eq(users.accountId, c.var.principal.accountId), inArray(users.id, ids.slice(i, i + 90))))
      .all();
    for (const r of rows) out.set(r.id, toRef(r));
  }
  return out;
}

/**
 * The teammates who may see a thread listed in these inboxes: owners and admins, and members and
 * light users given one of the inboxes. Removed users and contributors never qualify.
 */
export async function teammatesFor(c: Context<AppEnv>, inboxIds: string[]): Promise<UserRef[]> {
  const { accountId } = c.var.principal;
  const all = await c.var.db
    .select({ id: users.id, email: users.email, name: users.name, role: users.role, removedAt: users.removedAt })
    .from(users)
    .where(eq(users.accountId, accountId))
    .all();
  const granted = new Set(
    (
      await c.var.db
        .select({ userId: inboxAccess.userId, mailboxId: inboxAccess.mailboxId })
        .from(inboxAccess)
        .where(eq(inboxAccess.accountId, accountId))
        .all()
    )
      .filter((g) => inboxIds.includes(g.mailboxId))
      .map((g) => g.userId),
  );
  return all
    .filter((u) => u.removedAt === null && u.role !== "contributor")
    .filter((u) => u.role === "owner" || u.role === "admin" || granted.has(u.id))
    .map(toRef);
}

/**
 * The teammates a note mentions: "@ana@example.com", or "@ana" for the part before the @ of a
 * teammate's address (or their name without spaces) when exactly one teammate matches.
 */
export function mentionedIn(body: string, teammates: UserRef[]): UserRef[] {
  const found = new Map<string, UserRef>();
  for (const m of body.matchAll(/(^|[^\w@.])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)/g)) {
    const handle = m[2]!.replace(/[.]+$/, "").toLowerCase();
    const matches = handle.includes("@")
      ? teammates.filter((t) => t.email === handle)
      : teammates.filter(
          (t) => t.email.split("@")[0] === handle || t.name.replace(/\s+/g, "").toLowerCase() === handle,
        );
    if (matches.length === 1) found.set(matches[0]!.id, matches[0]!);
  }
  return [...found.values()];
}
