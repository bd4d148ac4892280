/**
 * Keyset pagination of the thread lists while mail keeps arriving: the per-inbox list, the list of
 * every inbox and a search, each walked 50 at a time with new conversations and new replies stored
 * (through the real message store) between page fetches. No conversation may appear twice, none that
 * existed and stayed put may be skipped, and the walk runs newest activity first, ties broken by id.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ThreadSummaryView } from "../../worker/contracts";
import { addMailbox, signUp, type Actor } from "../support/accounts";
import { call } from "../support/http";
import { deliver } from "../support/store-mail";

interface Known {
  id: string;
  inbox: string;
  /** The newest activity the test stored in it. */
  at: number;
  /** The Message-ID of its first message, to reply to. */
  messageId: string;
  subject: string;
}

let owner: Actor;
let inboxA: string;
let inboxB: string;
const known = new Map<string, Known>();
let serial = 0;
/** Arrivals and replies during the walks: newer than everything seeded, each a millisecond apart. */
let clock = Date.now();

/** Newest activity first, ties by id descending: the order the lists promise. */
const byActivity = (a: { at: number; id: string }, b: { at: number; id: string }) =>
  b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

async function newThread(inbox: string, at: number): Promise<Known> {
  const n = ++serial;
  const messageId = `paging-${n}@customer.test`;
  const subject = `Quarterly figures ${n}`;
  const id = await deliver(owner.accountId, inbox, { id: messageId, subject, to: "sales@acme.test", at });
  const k = { id, inbox, at, messageId, subject };
  known.set(id, k);
  return k;
}

/** A reply stored into an existing conversation, which moves it to the top of every list. */
async function reply(k: Known): Promise<void> {
  const at = ++clock;
  await deliver(owner.accountId, k.inbox, {
    id: `paging-reply-${++serial}@customer.test`,
    subject: `Re: ${k.subject}`,
    to: "sales@acme.test",
    inReplyTo: k.messageId,
    at,
  });
  k.at = at;
}

beforeAll(async () => {
  owner = await signUp("Paging");
  inboxA = await addMailbox(owner.accountId);
  inboxB = await addMailbox(owner.accountId);
  const base = Date.now() - 10 * 24 * 60 * 60 * 1000;
  // 120 conversations in A, three to a timestamp so that pages end inside a run of ties; 30 in B,
  // between A's timestamps, so that the list of every inbox interleaves the two.
  for (let i = 0; i < 120; i++) await newThread(inboxA, base - Math.floor(i / 3) * 1000);
  for (let i = 0; i < 30; i++) await newThread(inboxB, base - i * 4000 - 500);
}, 120_000);

interface Walk {
  pages: ThreadSummaryView[][];
  before: Known[];
  moved: Set<string>;
  arrived: Set<string>;
}

/**
 * Walks a list 50 at a time. After each page, while the walk goes on: two new conversations arrive,
 * one conversation not reached yet gets a reply (moving above the cursor), and one already seen does.
 */
async function walk(path: string, inboxes: string[]): Promise<Walk> {
  const inScope = () => [...known.values()].filter((k) => inboxes.includes(k.inbox)).sort(byActivity);
  const before = inScope().map((k) => ({ ...k }));
  const moved = new Set<string>();
  const arrived = new Set<string>();
  const seen = new Set<string>();
  const pages: ThreadSummaryView[][] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const r = await call(`${path}${sep}limit=50${cursor ? `&cursor=${cursor}` : ""}`, { cookie: owner.cookie });
    expect(r.status, r.text).toBe(200);
    const page = r.json.threads as ThreadSummaryView[];
    pages.push(page);
    for (const t of page) seen.add(t.id);
    cursor = r.json.nextCursor as string | null;
    if (!cursor) break;

    for (const inbox of inboxes) arrived.add((await newThread(inbox, ++clock)).id);
    const last = page.at(-1)!;
    const notYetSeen = inScope().filter(
      (k) => !seen.has(k.id) && !arrived.has(k.id) && byActivity(k, { at: last.lastMessageAt, id: last.id }) > 0,
    );
    // None may be left when the page just read happened to be the last one, exactly full.
    const later = notYetSeen[Math.min(20, notYetSeen.length - 1)];
    if (later) {
      await reply(later);
      moved.add(later.id);
    }
    const earlier = inScope().find((k) => seen.has(k.id) && !moved.has(k.id));
    await reply(earlier!);
    moved.add(earlier!.id);
  } while (cursor);
  return { pages, before, moved, arrived };
}

function expectStable({ pages, before, moved, arrived }: Walk): void {
  const all = pages.flat();
  const ids = all.map((t) => t.id);
  // Never the same conversation twice.
  expect(ids.length - new Set(ids).size).toBe(0);
  // Every conversation that was there and stayed put, exactly once.
  const count = new Map<string, number>();
  for (const id of ids) count.set(id, (count.get(id) ?? 0) + 1);
  const missing = before.filter((k) => !moved.has(k.id) && count.get(k.id) !== 1).map((k) => k.subject);
  expect(missing).toEqual([]);
  // Nothing that arrived after the walk began turns up further down; moved ones at most once (above).
  expect(ids.filter((id) => arrived.has(id))).toEqual([]);
  // Newest activity first across the whole walk, ties by id.
  const keys = all.map((t) => ({ at: t.lastMessageAt, id: t.id }));
  expect(keys).toEqual([...keys].sort(byActivity));
  // The walk was a real one: several pages, at least one ending inside a run of equal timestamps.
  expect(pages.length).toBeGreaterThanOrEqual(3);
  expect(moved.size).toBeGreaterThanOrEqual(4);
}

/** Whether some page ends in the middle of a run of conversations with the same last activity. */
const endsInsideTie = (pages: ThreadSummaryView[][]) =>
  pages.some((p, i) => i + 1 < pages.length && p.at(-1)!.lastMessageAt === pages[i + 1]![0]?.lastMessageAt);

describe("keyset pagination under concurrent inserts", () => {
  it("one inbox's list", { timeout: 120_000 }, async () => {
    const w = await walk(`/api/inboxes/${inboxA}/threads`, [inboxA]);
    expectStable(w);
    expect(w.before).toHaveLength(120);
    expect(endsInsideTie(w.pages)).toBe(true);
  });

  it("the list of every inbox", { timeout: 120_000 }, async () => {
    const w = await walk(`/api/threads`, [inboxA, inboxB]);
    expectStable(w);
    expect(new Set(w.pages.flat().map((t) => known.get(t.id)?.inbox))).toEqual(new Set([inboxA, inboxB]));
  });

  it("a search", { timeout: 120_000 }, async () => {
    const w = await walk(`/api/threads?q=${encodeURIComponent("subject:quarterly")}`, [inboxA, inboxB]);
    expectStable(w);
  });
});
