/**
 * Gmail sync for one mailbox, driven by the MailboxDO. Backfill takes the baseline historyId first,
 * then enumerates message ids page by page onto the backfill queue; live sync reads history from the
 * stored cursor whenever a push (or the polling fallback) hints that something changed. A history id
 * too old for Gmail (404) restarts from a fresh baseline through the backfill path: nothing is lost,
 * and the idempotent store makes sure nothing is doubled.
 */
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../../worker/db/schema";
import { log } from "../../worker/lib/log";
import { readProviderConfig } from "../../worker/providers/config";
import { decodeRaw, GMAIL_EXCLUDED_LABELS, GmailClient, type GmailFailure } from "../../worker/providers/gmail";
import { forgetGoneCopies } from "../../worker/sync/purge";
import { clearRemoved } from "../../worker/sync/removed-copies";
import { storeMessage } from "../../worker/sync/store-message";
import { enqueueBackfill } from "./backfill-queue";
import type { ListingReconciler } from "./listing-reconciler";
import { notStoredYet } from "./stored-ids";
import type { GrantKeeper } from "./grant-keeper";
import type { SyncStateStore } from "./sync-state";

/** Above this many new ids, live sync hands the work to the backfill queue instead of doing it inline. */
const INLINE_LIMIT = 20;

export interface SyncIdentity {
  accountId: string;
  mailboxId: string;
}

export type StepResult = { ok: true; more: boolean } | { ok: false; failure: GmailFailure | { kind: "no_grant" } };

export class GmailSync {
  constructor(
    private readonly env: Env,
    private readonly state: SyncStateStore,
    private readonly grants: GrantKeeper,
    private readonly identity: () => SyncIdentity | null,
    private readonly reconciler: ListingReconciler,
    /** Threads that got new mail, for the inbox's open views. */
    private readonly onThreads: (threadIds: string[]) => void,
  ) {}

  async #client(): Promise<GmailClient | null> {
    const lease = await this.grants.lease();
    if (!lease.ok) return null;
    return new GmailClient(readProviderConfig(this.env).google.gmailApiBase, lease.accessToken);
  }

  /**
   * Lists the inbox's window (null = everything), baseline first: a first backfill, or a recovery
   * after the history id expired. Listing ids is cheap; only what is not stored yet is fetched, and
   * what the mailbox no longer has is found by the reconciliation that follows.
   */
  async begin(phase: "backfilling" | "recovering" = "backfilling"): Promise<StepResult> {
    const gmail = await this.#client();
    if (!gmail) return { ok: false, failure: { kind: "no_grant" } };
    const profile = await gmail.getProfile();
    if (!profile.ok) return { ok: false, failure: profile };
    // Read after the provider calls: the window may have been changed while they were in flight.
    const windowDays = this.state.ensure().window_days;
    this.state.update({
      phase,
      cursor: profile.value.historyId,
      backfill_after: windowDays === null ? null : Date.now() - windowDays * 86_400_000,
      backfill_page_token: null,
      backfill_enumerated: 0,
      backfill_total: 0,
      backfill_done: 0,
      backfill_started_at: Date.now(),
      last_error: null,
    });
    this.reconciler.start();
    return { ok: true, more: true };
  }

  /**
   * Lists the (widened) window again from the current cursor, which stays valid: history keeps
   * covering what changes meanwhile, and the listing adds what the wider window takes in.
   */
  relist(): void {
    const row = this.state.ensure();
    this.state.update({
      phase: "backfilling",
      backfill_after: row.window_days === null ? null : Date.now() - row.window_days * 86_400_000,
      backfill_page_token: null,
      backfill_enumerated: 0,
      backfill_total: 0,
      backfill_done: 0,
      backfill_started_at: Date.now(),
    });
    this.reconciler.start();
  }

  /** Enumerates one page of ids and queues the ones not stored yet. */
  async enumerateStep(): Promise<StepResult> {
    const row = this.state.ensure();
    const who = this.identity();
    if (!who || row.backfill_enumerated) return { ok: true, more: false };
    const gmail = await this.#client();
    if (!gmail) return { ok: false, failure: { kind: "no_grant" } };
    // Seconds since the epoch: a date string would be read as midnight Pacific time. messages.list
    // leaves spam and trash out by default (includeSpamTrash=false); every other label is included
    // unless the scope is the inbox and sent mail only.
    const terms = [
      ...(row.backfill_after !== null ? [`after:${Math.floor(row.backfill_after / 1000)}`] : []),
      ...(row.scope === "inbox_sent" ? ["{in:inbox in:sent}"] : []),
    ];
    const q = terms.length > 0 ? terms.join(" ") : undefined;
    const page = await gmail.listMessages({
      ...(q ? { q } : {}),
      ...(row.backfill_page_token ? { pageToken: row.backfill_page_token } : {}),
    });
    if (!page.ok) return { ok: false, failure: page };
    const ids = (page.value.messages ?? []).map((m) => m.id);
    this.reconciler.record(ids);
    await clearRemoved(this.env.DB, who, ids);
    const missing = await notStoredYet(this.env.DB, who, ids);
    await this.#enqueue(who, missing);
    const done = !page.value.nextPageToken;
    this.state.update({
      backfill_page_token: page.value.nextPageToken ?? null,
      backfill_total: row.backfill_total + missing.length,
      backfill_enumerated: done ? 1 : 0,
    });
    return { ok: true, more: !done };
  }

  /** After a complete listing: stored copies it did not see, and that Gmail confirms are gone, go. */
  async reconcile(): Promise<StepResult> {
    const who = this.identity();
    if (!who || !this.reconciler.pending()) return { ok: true, more: false };
    const gmail = await this.#client();
    if (!gmail) return { ok: false, failure: { kind: "no_grant" } };
    const gone: string[] = [];
    for (const id of await this.reconciler.candidates(this.env.DB, who)) {
      const m = await gmail.getLabels(id);
      if (!m.ok) {
        if (m.kind === "not_found") gone.push(id);
        else return { ok: false, failure: m };
      } else if (!gmailInScope(m.value.labelIds ?? [], this.state.ensure().scope)) {
        gone.push(id);
      }
    }
    await forgetGoneCopies(this.env, who, gone);
    this.reconciler.finish();
    return { ok: true, more: false };
  }

  #enqueue(who: SyncIdentity, ids: string[]): Promise<void> {
    return enqueueBackfill(this.env.BACKFILL_QUEUE, who, ids);
  }

  /**
   * Reads history from the cursor and stores what was added. Small changes are fetched right here
   * (a new message is visible seconds after the push); a big gap goes through the queue.
   */
  async incremental(): Promise<StepResult> {
    const row = this.state.ensure();
    const who = this.identity();
    if (!who || !row.cursor) return { ok: true, more: false };
    const gmail = await this.#client();
    if (!gmail) return { ok: false, failure: { kind: "no_grant" } };
    // The last change of each message wins: a message trashed and restored in one gap stays.
    const fate = new Map<string, "add" | "remove">();
    const isExcluded = (labels: readonly string[] | undefined) =>
      (labels ?? []).some((l) => (GMAIL_EXCLUDED_LABELS as readonly string[]).includes(l));
    const narrow = row.scope === "inbox_sent";
    const inScope = (labels: readonly string[] | undefined) => gmailInScope(labels ?? [], row.scope);
    let pageToken: string | undefined;
    let newest = row.cursor;
    do {
      const page = await gmail.history({ startHistoryId: row.cursor, ...(pageToken ? { pageToken } : {}) });
      if (!page.ok) {
        if (page.kind === "history_expired") return this.#recover();
        return { ok: false, failure: page };
      }
      for (const h of page.value.history ?? []) {
        for (const a of h.messagesAdded ?? []) if (inScope(a.message.labelIds)) fate.set(a.message.id, "add");
        // Moved into spam or trash: no longer part of the mailbox. Moved out of them: part of it again.
        // With the inbox-and-sent scope, moving into the inbox adds and archiving removes as well.
        for (const a of h.labelsAdded ?? []) {
          if (isExcluded(a.labelIds)) fate.set(a.message.id, "remove");
          else if (narrow && inScope(a.message.labelIds)) fate.set(a.message.id, "add");
        }
        for (const r of h.labelsRemoved ?? []) {
          if (isExcluded(r.labelIds) && inScope(r.message.labelIds)) fate.set(r.message.id, "add");
          else if (narrow && !inScope(r.message.labelIds)) fate.set(r.message.id, "remove");
        }
        for (const d of h.messagesDeleted ?? []) fate.set(d.message.id, "remove");
      }
      newest = page.value.historyId;
      pageToken = page.value.nextPageToken;
    } while (pageToken);

    const gone = [...fate].filter(([, f]) => f === "remove").map(([id]) => id);
    await forgetGoneCopies(this.env, who, gone);
    const ids = [...fate].filter(([, f]) => f === "add").map(([id]) => id);
    await clearRemoved(this.env.DB, who, ids);
    if (ids.length > INLINE_LIMIT) {
      await this.#enqueue(who, ids);
      this.state.update({ backfill_total: row.backfill_total + ids.length });
    } else {
      const touched: string[] = [];
      for (const id of ids) {
        const stored = await fetchAndStoreGmail(this.env, gmail, who, id, row.scope);
        if (!stored.ok) return { ok: false, failure: stored.failure };
        if (stored.threadId) touched.push(stored.threadId);
      }
      if (touched.length > 0) this.onThreads(touched);
    }
    // The cursor moves only after everything it covers is stored or queued.
    this.state.update({ cursor: newest, last_sync_at: Date.now(), last_error: null });
    return { ok: true, more: false };
  }

  /** The history id expired: take a new baseline, then list the window again (see begin). */
  async #recover(): Promise<StepResult> {
    log.warn("gmail_history_expired", { mailboxId: this.identity()?.mailboxId });
    return this.begin("recovering");
  }

  async watch(topicName: string): Promise<StepResult> {
    const gmail = await this.#client();
    if (!gmail) return { ok: false, failure: { kind: "no_grant" } };
    const r = await gmail.watch(topicName);
    if (!r.ok) return { ok: false, failure: r };
    this.state.update({ watch_expires_at: Number(r.value.expiration) });
    return { ok: true, more: false };
  }

  async stopWatch(): Promise<void> {
    const gmail = await this.#client();
    if (gmail) await gmail.stop();
  }
}

/** Whether a message with these labels belongs to what the mailbox syncs. */
export function gmailInScope(labels: readonly string[], scope: "all" | "inbox_sent"): boolean {
  if (labels.some((l) => (GMAIL_EXCLUDED_LABELS as readonly string[]).includes(l))) return false;
  return scope === "all" || labels.includes("INBOX") || labels.includes("SENT");
}

/** Fetches one message as raw MIME and stores it (idempotent). Shared by live sync and the backfill consumer. */
export async function fetchAndStoreGmail(
  env: Env,
  gmail: GmailClient,
  who: SyncIdentity,
  id: string,
  scope: "all" | "inbox_sent",
): Promise<{ ok: true; stored: boolean; threadId?: string } | { ok: false; failure: GmailFailure }> {
  const msg = await gmail.getRaw(id);
  if (!msg.ok) {
    // Deleted since it was listed: nothing to store, nothing lost.
    if (msg.kind === "not_found") return { ok: true, stored: false };
    return { ok: false, failure: msg };
  }
  const labels = msg.value.labelIds ?? [];
  if (!gmailInScope(labels, scope)) return { ok: true, stored: false };
  const received = Number(msg.value.internalDate);
  const outcome = await storeMessage(drizzle(env.DB, { schema }), env.RAW_MAIL, {
    accountId: who.accountId,
    mailboxId: who.mailboxId,
    providerMessageId: msg.value.id,
    providerThreadId: msg.value.threadId,
    providerThreadReliable: true,
    labels,
    outbound: labels.includes("SENT"),
    receivedAt: Number.isFinite(received) && received > 0 ? received : Date.now(),
    raw: decodeRaw(msg.value.raw),
  });
  // A new message or a new copy changes the thread; a duplicate changes nothing.
  const changed = outcome.status === "stored" || outcome.status === "linked";
  return { ok: true, stored: changed, ...(changed ? { threadId: outcome.threadId } : {}) };
}
