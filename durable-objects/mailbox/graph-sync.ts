/**
 * Microsoft Graph sync for one mailbox, driven by the MailboxDO, with the same life cycle as Gmail's:
 * baseline first, then backfill through the queue, then live sync from the cursor.
 *
 * Graph's cursor is per folder. The backfill runs one delta round per folder (every folder except
 * Junk Email and Deleted Items), windowed with `receivedDateTime ge`; the ids a round returns are the
 * backfill set and go to the queue, and the deltaLink it ends with is that folder's cursor. Live sync
 * follows each folder's deltaLink whenever a change notification (or the polling fallback) hints that
 * something changed. An expired delta token lists every folder again over the window and reconciles
 * the listing with what is stored: nothing is lost, nothing is doubled, and mail deleted during the
 * gap goes.
 *
 * One subscription covers every folder of the mailbox. Its clientState is a random secret of which
 * only a hash is kept; notifications are checked against it in constant time.
 */
import { drizzle } from "drizzle-orm/d1";
import * as schema from "../../worker/db/schema";
import { randomToken, sha256Hex } from "../../worker/lib/crypto";
import { log } from "../../worker/lib/log";
import { readProviderConfig } from "../../worker/providers/config";
import { GraphClient, graphMailboxFor, type GraphFailure } from "../../worker/providers/graph";
import { forgetGoneCopies } from "../../worker/sync/purge";
import { clearRemoved } from "../../worker/sync/removed-copies";
import { storeMessage } from "../../worker/sync/store-message";
import type { SyncIdentity } from "./gmail-sync";
import { enqueueBackfill } from "./backfill-queue";
import type { ListingReconciler } from "./listing-reconciler";
import { notStoredYet, storedOnly } from "./stored-ids";
import type { GrantKeeper } from "./grant-keeper";
import type { SyncStateStore } from "./sync-state";

/** Above this many new ids in one folder, live sync hands the work to the backfill queue. */
const INLINE_LIMIT = 20;
/** Pages per delta round before giving up on a link that never ends. */
const MAX_DELTA_PAGES = 1_000;
/**
 * Subscription lifetimes. Sources disagree on Outlook's maximum (4,230 or 10,080 minutes), so ask
 * for just under the smaller one, and fall back to a day (below every documented maximum) when refused.
 */
const SUBSCRIPTION_LIFETIME_MS = 4_200 * 60_000;
const SHORT_SUBSCRIPTION_LIFETIME_MS = 1_440 * 60_000;
/** A subscription that could not be made (unreachable notification URL, refused) is retried this often at most. */
const SUBSCRIPTION_RETRY_MAX_MS = 6 * 60 * 60 * 1000;
/** How often live sync looks for folders made since the baseline. */
const FOLDER_CHECK_MS = 15 * 60 * 1000;
/** The marker in sync_state.cursor: the folder list is taken; the per-folder links are in graph_folders. */
const FOLDERS_CURSOR = "graph:folders";

export type GraphStepResult = { ok: true; more: boolean } | { ok: false; failure: GraphFailure | { kind: "no_grant" } };

/** What the backfill consumer needs to know about folders: which to skip, and each one's label. */
export type GraphFolderMap = Record<string, { label: string; excluded: boolean }>;

export type GraphLifecycleEvent = "reauthorizationRequired" | "subscriptionRemoved" | "missed";

export type GraphNotificationResult =
  | { ok: true; action: "sync" | "renew" | "recreate" | "resync" }
  | { ok: false; error: "unknown_subscription" | "bad_client_state" };

interface FolderRow {
  id: string;
  label: string;
  excluded: number;
  delta_link: string | null;
  next_link: string | null;
  round_after: number | null;
  synced_at: number | null;
  /** Messages the current delta round has returned so far. */
  round_count: number;
  /** The round reached the filtered-delta cap: the folder is being listed in full. */
  listing: number;
  list_link: string | null;
}

/** Folders with backfill work left: a delta round to finish, or a capped round's full listing. */
const UNFINISHED = `excluded = 0 AND (delta_link IS NULL OR listing = 1)`;

interface SubscriptionRow {
  subscription_id: string | null;
  client_state_hash: string | null;
  renew_at: number | null;
  reauthorize: number;
  retry_at: number | null;
  failures: number;
}

/** Well-known folders by their Graph names; the labels stored on each copy. */
const JUNK = "junkemail";
const DELETED = "deleteditems";
const SENT = "sentitems";
/** Unsent drafts (a reply being made through createReply, or one written in Outlook) are not mail yet. */
const DRAFTS = "drafts";
const INBOX = "inbox";

/**
 * The mailbox's share of Graph's per-mailbox limits, held by the MailboxDO for everyone calling
 * Graph on its behalf (its own sync and the backfill consumers): at most 4 requests in flight and
 * 10,000 per 10 minutes, and nobody at all while a 429's Retry-After runs.
 */
export class GraphPermits {
  /** Graph allows 4; the MailboxDO's own sequential calls (delta, folders, subscription) keep the fourth. */
  static readonly CONCURRENCY = 3;
  /** A permit a crashed caller never released frees itself after this long. */
  static readonly LEASE_MS = 60_000;
  readonly #perMs = 10_000 / (10 * 60_000);
  readonly #burst = 200;
  #tokens = 50;
  #updatedAt = Date.now();
  #pausedUntil = 0;
  readonly #held = new Map<string, number>();

  /** A permit for `units` requests made one after another, or how long to wait before asking again. */
  acquire(units: number): { ok: true; permitId: string } | { ok: false; waitMs: number } {
    const now = Date.now();
    for (const [id, expires] of this.#held) if (expires <= now) this.#held.delete(id);
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#perMs);
    this.#updatedAt = now;
    if (this.#pausedUntil > now) return { ok: false, waitMs: this.#pausedUntil - now };
    if (this.#held.size >= GraphPermits.CONCURRENCY)
      return { ok: false, waitMs: 100 + Math.floor(Math.random() * 150) };
    if (this.#tokens < units) return { ok: false, waitMs: Math.ceil((units - this.#tokens) / this.#perMs) };
    this.#tokens -= units;
    const permitId = crypto.randomUUID();
    this.#held.set(permitId, now + GraphPermits.LEASE_MS);
    return { ok: true, permitId };
  }

  release(permitId: string): void {
    this.#held.delete(permitId);
  }

  /** Graph answered 429: nobody calls until Retry-After (or 10 s) has passed. */
  pause(retryAfterMs: number | null): void {
    const ms = retryAfterMs ?? 10_000;
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms + Math.random() * 500);
  }
}

export class GraphSync {
  /** Kept in memory only: after an eviction the folder list is simply checked once more. */
  #foldersCheckedAt = Date.now();

  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
    private readonly state: SyncStateStore,
    private readonly grants: GrantKeeper,
    private readonly permits: GraphPermits,
    private readonly identity: () => SyncIdentity | null,
    private readonly reconciler: ListingReconciler,
    /** Threads that got new mail, for the inbox's open views. */
    private readonly onThreads: (threadIds: string[]) => void,
  ) {}

  async #client(): Promise<GraphClient | null> {
    const lease = await this.grants.lease();
    if (!lease.ok) return null;
    return new GraphClient(
      readProviderConfig(this.env).microsoft.graphApiBase,
      lease.accessToken,
      graphMailboxFor(lease),
    );
  }

  /** Takes the folder list (the baseline), then starts a backfill of the inbox's window (null = everything). */
  async begin(): Promise<GraphStepResult> {
    const graph = await this.#client();
    if (!graph) return { ok: false, failure: { kind: "no_grant" } };
    const folders = await graph.listFolders();
    if (!folders.ok) return { ok: false, failure: folders };
    const wellKnown = new Map<string, string>();
    let inboxId: string | null = null;
    for (const name of [JUNK, DELETED, DRAFTS, SENT, INBOX]) {
      const id = await graph.wellKnownFolderId(name);
      if (id.ok && name === INBOX) inboxId = id.value;
      else if (id.ok) wellKnown.set(id.value, name);
      else if (id.kind !== "not_found") return { ok: false, failure: id };
    }
    // Read after the provider calls: the window or scope may have been changed while they were in flight.
    const { scope, window_days: windowDays } = this.state.ensure();
    const narrow = scope === "inbox_sent";
    const after = windowDays === null ? null : Date.now() - windowDays * 86_400_000;
    const now = Date.now();
    this.sql.exec(`DELETE FROM graph_folders`);
    for (const f of folders.value) {
      const name = wellKnown.get(f.id);
      this.sql.exec(
        `INSERT OR REPLACE INTO graph_folders (id, label, excluded, round_after, created_at) VALUES (?, ?, ?, ?, ?)`,
        f.id,
        name ?? f.displayName,
        name === JUNK || name === DELETED || name === DRAFTS || (narrow && name !== SENT && f.id !== inboxId) ? 1 : 0,
        after,
        now,
      );
    }
    this.state.update({
      phase: "backfilling",
      cursor: FOLDERS_CURSOR,
      backfill_after: after,
      backfill_page_token: null,
      backfill_enumerated: 0,
      backfill_total: 0,
      backfill_done: 0,
      backfill_started_at: now,
      last_error: null,
    });
    this.reconciler.start();
    return { ok: true, more: true };
  }

  /** One page of one folder's delta round: its ids go to the queue; its last page leaves the folder's cursor. */
  async enumerateStep(): Promise<GraphStepResult> {
    const row = this.state.ensure();
    const who = this.identity();
    if (!who || row.backfill_enumerated) return { ok: true, more: false };
    const folder = this.#folders(UNFINISHED)[0];
    if (!folder) {
      this.state.update({ backfill_enumerated: 1 });
      return { ok: true, more: false };
    }
    const graph = await this.#client();
    if (!graph) return { ok: false, failure: { kind: "no_grant" } };
    if (folder.delta_link) return this.#listStep(graph, who, folder);
    const page = folder.next_link
      ? await graph.followDelta(folder.next_link)
      : await graph.startDelta(folder.id, folder.round_after);
    if (!page.ok) {
      if (page.kind === "delta_expired" && folder.next_link) {
        // The round's own token expired mid-way: start the round again (stored copies are skipped).
        this.sql.exec(`UPDATE graph_folders SET next_link = NULL WHERE id = ?`, folder.id);
        return { ok: true, more: true };
      }
      if (page.kind === "not_found") {
        // The folder was deleted since the list was taken: nothing left to read in it.
        this.sql.exec(`DELETE FROM graph_folders WHERE id = ?`, folder.id);
        return { ok: true, more: true };
      }
      return { ok: false, failure: page };
    }
    this.reconciler.record(page.value.present);
    await clearRemoved(this.env.DB, who, page.value.present);
    const missing = await notStoredYet(this.env.DB, who, page.value.present);
    await this.#enqueue(who, missing);
    const count = folder.round_count + page.value.present.length;
    // A date-filtered round that reached Graph's cap may have left older messages out.
    const capped =
      page.value.deltaLink !== null &&
      folder.round_after !== null &&
      count >= readProviderConfig(this.env).microsoft.filteredDeltaCap;
    this.sql.exec(
      `UPDATE graph_folders SET next_link = ?, delta_link = ?, synced_at = COALESCE(?, synced_at), round_count = ?,
         listing = ?, list_link = NULL WHERE id = ?`,
      page.value.nextLink,
      page.value.deltaLink,
      page.value.deltaLink ? Date.now() : null,
      count,
      capped ? 1 : 0,
      folder.id,
    );
    if (capped) log.info("graph_delta_capped", { mailboxId: who.mailboxId, folder: folder.label, count });
    return this.#progress(row.backfill_total + missing.length);
  }

  /** One page of a capped folder's full listing over the window. */
  async #listStep(graph: GraphClient, who: SyncIdentity, folder: FolderRow): Promise<GraphStepResult> {
    const page = await graph.listFolderIds(
      folder.list_link ? { link: folder.list_link } : { folderId: folder.id, receivedSince: folder.round_after },
    );
    if (!page.ok) {
      if (page.kind === "not_found") {
        this.sql.exec(`DELETE FROM graph_folders WHERE id = ?`, folder.id);
        return this.#progress(this.state.ensure().backfill_total);
      }
      return { ok: false, failure: page };
    }
    const fresh = this.reconciler.firstSeen(page.value.ids);
    await clearRemoved(this.env.DB, who, fresh);
    const missing = await notStoredYet(this.env.DB, who, fresh);
    await this.#enqueue(who, missing);
    this.sql.exec(
      `UPDATE graph_folders SET list_link = ?, listing = ? WHERE id = ?`,
      page.value.nextLink,
      page.value.nextLink ? 1 : 0,
      folder.id,
    );
    return this.#progress(this.state.ensure().backfill_total + missing.length);
  }

  #progress(total: number): GraphStepResult {
    const remaining = this.#folders(UNFINISHED).length;
    this.state.update({ backfill_total: total, backfill_enumerated: remaining === 0 ? 1 : 0 });
    return { ok: true, more: remaining > 0 };
  }

  /**
   * Follows every folder's deltaLink and stores what is new. Small changes are fetched right here (a
   * new message is visible seconds after the notification); a big set goes through the queue. A
   * folder's cursor moves only after everything it covers is stored or queued.
   */
  async incremental(): Promise<GraphStepResult> {
    const who = this.identity();
    if (!who || !this.state.ensure().cursor) return { ok: true, more: false };
    const graph = await this.#client();
    if (!graph) return { ok: false, failure: { kind: "no_grant" } };
    let restarted = false;
    if (Date.now() - this.#foldersCheckedAt > FOLDER_CHECK_MS) {
      const checked = await this.#refreshFolders(graph);
      if (!checked.ok) return checked;
      restarted = checked.more;
    }
    const folders = this.#folders(`excluded = 0 AND delta_link IS NOT NULL`);
    const map = this.folderMap();
    for (const folder of folders) {
      const seen = new Set<string>();
      const gone = new Set<string>();
      let link = folder.delta_link!;
      let next: string | null = null;
      for (let pages = 0; pages < MAX_DELTA_PAGES; pages++) {
        const page = await graph.followDelta(link);
        if (!page.ok) {
          if (page.kind !== "delta_expired") return { ok: false, failure: page };
          this.relistAll("delta_expired", folder.label);
          restarted = true;
          break;
        }
        for (const id of page.value.present) {
          seen.add(id);
          gone.delete(id);
        }
        for (const id of page.value.removed) {
          gone.add(id);
          seen.delete(id);
        }
        // Keep following nextLink even when a page is empty: only a deltaLink ends the round.
        if (page.value.nextLink) link = page.value.nextLink;
        else {
          next = page.value.deltaLink;
          break;
        }
      }
      if (restarted) break;
      if (!next) continue;
      const removed = await this.#verifyAndRemove(graph, who, await storedOnly(this.env.DB, who, [...gone]), map);
      if (!removed.ok) return removed;
      await clearRemoved(this.env.DB, who, [...seen]);
      const fresh = await notStoredYet(this.env.DB, who, [...seen]);
      if (fresh.length > INLINE_LIMIT) {
        await this.#enqueue(who, fresh);
        this.state.update({ backfill_total: this.state.ensure().backfill_total + fresh.length });
      } else {
        const queued: string[] = [];
        for (const id of fresh) {
          const permit = await this.#permit(2);
          if (!permit) {
            // The mailbox's Graph budget is busy (backfill consumers): let the queue pace the rest.
            queued.push(id);
            continue;
          }
          try {
            const stored = await fetchAndStoreGraph(this.env, graph, who, id, map);
            if (!stored.ok) return { ok: false, failure: stored.failure };
            if (stored.threadId) this.onThreads([stored.threadId]);
          } finally {
            this.permits.release(permit);
          }
        }
        if (queued.length > 0) {
          await this.#enqueue(who, queued);
          this.state.update({ backfill_total: this.state.ensure().backfill_total + queued.length });
        }
      }
      this.sql.exec(`UPDATE graph_folders SET delta_link = ?, synced_at = ? WHERE id = ?`, next, Date.now(), folder.id);
    }
    const row = this.state.ensure();
    if (restarted && row.phase === "live") this.state.update({ phase: "recovering" });
    if (restarted) this.state.update({ backfill_enumerated: 0 });
    this.state.update({ last_sync_at: Date.now(), last_error: null });
    return { ok: true, more: restarted };
  }

  /**
   * Folders made after the baseline (a new folder, a rule that files mail into it) get a round of
   * their own over the sync window; folders that are gone are forgotten. True when a round is due.
   */
  async #refreshFolders(graph: GraphClient): Promise<GraphStepResult> {
    const listed = await graph.listFolders();
    if (!listed.ok) return { ok: false, failure: listed };
    this.#foldersCheckedAt = Date.now();
    const known = new Set(this.#folders("1 = 1").map((f) => f.id));
    const current = new Set(listed.value.map((f) => f.id));
    const windowDays = this.state.ensure().window_days;
    const after = windowDays === null ? null : Date.now() - windowDays * 86_400_000;
    let added = 0;
    // With the inbox-and-sent scope, new folders are not synced.
    const excluded = this.state.ensure().scope === "inbox_sent" ? 1 : 0;
    for (const f of listed.value) {
      if (known.has(f.id)) continue;
      this.sql.exec(
        `INSERT INTO graph_folders (id, label, excluded, round_after, created_at) VALUES (?, ?, ?, ?, ?)`,
        f.id,
        f.displayName,
        excluded,
        after,
        Date.now(),
      );
      added++;
    }
    for (const id of known) if (!current.has(id)) this.sql.exec(`DELETE FROM graph_folders WHERE id = ?`, id);
    return { ok: true, more: added > 0 };
  }

  /**
   * Lists every folder again over the window (ids only; what is stored is not fetched again) and
   * reconciles the listing with what is stored. After a delta token expired (its deletions during the
   * gap are lost with it, and mail may have moved between folders), or when a backfill stalled
   * because queue messages went missing.
   */
  relistAll(reason: "delta_expired" | "backfill_stalled" | "settings_changed", folder?: string): void {
    log.warn("graph_relist", { mailboxId: this.identity()?.mailboxId, reason, folder });
    const windowDays = this.state.ensure().window_days;
    this.sql.exec(
      `UPDATE graph_folders SET delta_link = NULL, next_link = NULL, round_after = ?, round_count = 0, listing = 0,
         list_link = NULL WHERE excluded = 0`,
      windowDays === null ? null : Date.now() - windowDays * 86_400_000,
    );
    this.state.update({ backfill_total: 0, backfill_done: 0, backfill_started_at: Date.now() });
    this.reconciler.start();
  }

  /** Marks which folders sync after the scope changed: Junk Email and Deleted Items never; others per scope. */
  async applyScope(): Promise<GraphStepResult> {
    const graph = await this.#client();
    if (!graph) return { ok: false, failure: { kind: "no_grant" } };
    const keep: string[] = [];
    for (const name of [INBOX, SENT]) {
      const id = await graph.wellKnownFolderId(name);
      if (id.ok) keep.push(id.value);
      else if (id.kind !== "not_found") return { ok: false, failure: id };
    }
    const narrow = this.state.ensure().scope === "inbox_sent";
    for (const f of this.#folders("1 = 1")) {
      const excluded = f.label === JUNK || f.label === DELETED || (narrow && !keep.includes(f.id));
      this.sql.exec(`UPDATE graph_folders SET excluded = ? WHERE id = ?`, excluded ? 1 : 0, f.id);
    }
    return { ok: true, more: false };
  }

  /** After a complete listing: stored copies it did not see, and that Graph confirms are gone, go. */
  async reconcile(): Promise<GraphStepResult> {
    const who = this.identity();
    if (!who || !this.reconciler.pending()) return { ok: true, more: false };
    const graph = await this.#client();
    if (!graph) return { ok: false, failure: { kind: "no_grant" } };
    const removed = await this.#verifyAndRemove(
      graph,
      who,
      await this.reconciler.candidates(this.env.DB, who),
      this.folderMap(),
    );
    if (!removed.ok) return removed;
    this.reconciler.finish();
    return { ok: true, more: false };
  }

  /** Every known folder: which ones sync skips, and the label each copy gets. */
  folderMap(): GraphFolderMap {
    const out: GraphFolderMap = {};
    for (const f of this.#folders("1 = 1")) out[f.id] = { label: f.label, excluded: f.excluded === 1 };
    return out;
  }

  /**
   * Creates the subscription when there is none, renews it ahead of expiry or when Graph asks for
   * reauthorization. A subscription Graph will not make (for example an unreachable notification
   * URL) is retried later with backoff; polling covers the mailbox meanwhile.
   */
  async maintainSubscription(notificationUrl: string): Promise<GraphStepResult> {
    const sub = this.#subscription();
    const now = Date.now();
    if (sub.subscription_id) {
      if (!sub.reauthorize && (sub.renew_at ?? 0) > now) return { ok: true, more: false };
      const graph = await this.#client();
      if (!graph) return { ok: false, failure: { kind: "no_grant" } };
      let renewed = await graph.renewSubscription(sub.subscription_id, now + SUBSCRIPTION_LIFETIME_MS);
      if (!renewed.ok && renewed.kind === "refused") {
        renewed = await graph.renewSubscription(sub.subscription_id, now + SHORT_SUBSCRIPTION_LIFETIME_MS);
      }
      if (renewed.ok) {
        this.#saveSubscription(renewed.value.id, null, Date.parse(renewed.value.expirationDateTime));
        return { ok: true, more: false };
      }
      if (renewed.kind === "rate_limited" || renewed.kind === "unavailable" || renewed.kind === "auth") {
        return { ok: false, failure: renewed };
      }
      // Graph no longer has it (expired, removed, or made under a grant that has since changed): make a
      // new one, and read what the gap may have hidden.
      log.warn("graph_subscription_lost", { mailboxId: this.identity()?.mailboxId, kind: renewed.kind });
      this.#clearSubscription();
      this.state.update({ hint_pending: 1 });
    } else if (sub.retry_at && sub.retry_at > now) {
      return { ok: true, more: false };
    }
    const graph = await this.#client();
    if (!graph) return { ok: false, failure: { kind: "no_grant" } };
    const clientState = randomToken();
    let created = await graph.createSubscription({
      notificationUrl,
      clientState,
      expiresAt: now + SUBSCRIPTION_LIFETIME_MS,
    });
    if (!created.ok && created.kind === "refused") {
      created = await graph.createSubscription({
        notificationUrl,
        clientState,
        expiresAt: now + SHORT_SUBSCRIPTION_LIFETIME_MS,
      });
    }
    if (!created.ok) {
      const failures = this.#subscription().failures + 1;
      const backoff = Math.min(SUBSCRIPTION_RETRY_MAX_MS, 60_000 * 2 ** Math.min(failures, 10));
      this.#updateSubscription({ failures, retry_at: now + backoff });
      log.warn("graph_subscription_failed", {
        mailboxId: this.identity()?.mailboxId,
        kind: created.kind,
        code: created.code,
      });
      // Refusals are not the grant's fault: the mailbox keeps syncing by polling.
      return created.kind === "refused" || created.kind === "not_found"
        ? { ok: true, more: false }
        : { ok: false, failure: created };
    }
    this.#saveSubscription(
      created.value.id,
      await sha256Hex(clientState),
      Date.parse(created.value.expirationDateTime),
    );
    await this.#publishSubscription(created.value.id);
    // Changes made before the subscription existed produced no notification.
    if (this.state.ensure().cursor) this.state.update({ hint_pending: 1 });
    return { ok: true, more: false };
  }

  /** When the subscription next needs work: a renewal, a reauthorization, or a retry of its creation. */
  subscriptionDeadline(): number | null {
    const sub = this.#subscription();
    if (sub.subscription_id) return sub.reauthorize ? Date.now() : sub.renew_at;
    return sub.retry_at ?? Date.now();
  }

  /** Whether change notifications are flowing (else the mailbox is polled). */
  pushLive(): boolean {
    const sub = this.#subscription();
    return sub.subscription_id !== null && (this.state.ensure().watch_expires_at ?? 0) > Date.now();
  }

  /**
   * A change or lifecycle notification, already parsed by the webhook. It counts only when it names
   * this mailbox's subscription and carries the clientState we gave it.
   */
  async notification(input: {
    subscriptionId: string;
    clientState: string | null;
    lifecycleEvent: string | null;
  }): Promise<GraphNotificationResult> {
    const sub = this.#subscription();
    if (!sub.subscription_id || !sub.client_state_hash || input.subscriptionId !== sub.subscription_id) {
      return { ok: false, error: "unknown_subscription" };
    }
    if (!(await clientStateMatches(input.clientState ?? "", sub.client_state_hash))) {
      return { ok: false, error: "bad_client_state" };
    }
    switch (input.lifecycleEvent) {
      case null:
        if (!this.state.ensure().hint_pending) this.state.update({ hint_pending: 1 });
        return { ok: true, action: "sync" };
      case "reauthorizationRequired":
        // Renewing reauthorizes; delivery may have paused meanwhile, so read the deltas too.
        this.#updateSubscription({ reauthorize: 1 });
        this.state.update({ hint_pending: 1 });
        return { ok: true, action: "renew" };
      case "subscriptionRemoved":
        this.#clearSubscription();
        this.state.update({ hint_pending: 1, watch_expires_at: null });
        return { ok: true, action: "recreate" };
      default:
        // "missed", or an event newer than this code: notifications were lost, the deltas have them.
        this.state.update({ hint_pending: 1 });
        return { ok: true, action: "resync" };
    }
  }

  /** Stops notifications for good (disconnect). */
  async deleteSubscription(): Promise<void> {
    const sub = this.#subscription();
    if (sub.subscription_id) {
      const graph = await this.#client();
      if (graph) await graph.deleteSubscription(sub.subscription_id);
    }
    this.#clearSubscription();
    await this.#publishSubscription(null);
  }

  async #permit(units: number): Promise<string | null> {
    for (let waited = 0; waited <= 5_000;) {
      const p = this.permits.acquire(units);
      if (p.ok) return p.permitId;
      if (waited + p.waitMs > 5_000) return null;
      await new Promise((r) => setTimeout(r, p.waitMs));
      waited += p.waitMs;
    }
    return null;
  }

  /**
   * Stored copies that may have left the mailbox. A move to another synced folder keeps the message
   * (immutable ids survive moves); deleted, or moved to Junk Email or Deleted Items, it leaves the inbox.
   */
  async #verifyAndRemove(
    graph: GraphClient,
    who: SyncIdentity,
    ids: string[],
    folders: GraphFolderMap,
  ): Promise<GraphStepResult> {
    const leave: string[] = [];
    for (const id of ids) {
      const meta = await graph.getMessageMeta(id);
      if (!meta.ok) {
        if (meta.kind === "not_found") leave.push(id);
        else return { ok: false, failure: meta };
        continue;
      }
      const folder = meta.value.parentFolderId ? folders[meta.value.parentFolderId] : undefined;
      // A folder made since the last folder check is synced too; it is not known here yet.
      if (folder?.excluded) leave.push(id);
    }
    await forgetGoneCopies(this.env, who, leave);
    return { ok: true, more: false };
  }

  #enqueue(who: SyncIdentity, ids: string[]): Promise<void> {
    return enqueueBackfill(this.env.BACKFILL_QUEUE, who, ids);
  }

  #folders(where: string): FolderRow[] {
    return this.sql
      .exec<FolderRow & Record<string, SqlStorageValue>>(
        `SELECT * FROM graph_folders WHERE ${where} ORDER BY created_at, id`,
      )
      .toArray();
  }

  #subscription(): SubscriptionRow {
    const rows = this.sql
      .exec<SubscriptionRow & Record<string, SqlStorageValue>>(`SELECT * FROM graph_subscription WHERE id = 1`)
      .toArray();
    if (rows[0]) return rows[0];
    this.sql.exec(`INSERT INTO graph_subscription (id, updated_at) VALUES (1, ?)`, Date.now());
    return {
      subscription_id: null,
      client_state_hash: null,
      renew_at: null,
      reauthorize: 0,
      retry_at: null,
      failures: 0,
    };
  }

  #updateSubscription(fields: Partial<SubscriptionRow>): void {
    this.#subscription();
    const entries = Object.entries(fields);
    if (entries.length === 0) return;
    this.sql.exec(
      `UPDATE graph_subscription SET ${entries.map(([k]) => `${k} = ?`).join(", ")}, updated_at = ? WHERE id = 1`,
      ...entries.map(([, v]) => v as SqlStorageValue),
      Date.now(),
    );
  }

  /** Renewal at a third of the lifetime leaves two chances to renew before Graph drops it. */
  #saveSubscription(id: string, clientStateHash: string | null, expiresAt: number): void {
    const now = Date.now();
    const expiry = Number.isFinite(expiresAt) ? expiresAt : now + SHORT_SUBSCRIPTION_LIFETIME_MS;
    this.#updateSubscription({
      subscription_id: id,
      ...(clientStateHash ? { client_state_hash: clientStateHash } : {}),
      renew_at: now + Math.max(60_000, (expiry - now) / 3),
      reauthorize: 0,
      retry_at: null,
      failures: 0,
    });
    this.state.update({ watch_expires_at: expiry });
  }

  #clearSubscription(): void {
    this.#updateSubscription({
      subscription_id: null,
      client_state_hash: null,
      renew_at: null,
      reauthorize: 0,
      retry_at: null,
    });
    this.state.update({ watch_expires_at: null });
  }

  /** The webhook finds the mailbox by subscription id; D1 holds that mapping (never the clientState). */
  async #publishSubscription(subscriptionId: string | null): Promise<void> {
    const who = this.identity();
    if (!who) return;
    await this.env.DB.prepare(`UPDATE mailboxes SET graph_subscription_id = ? WHERE account_id = ? AND id = ?`)
      .bind(subscriptionId, who.accountId, who.mailboxId)
      .run();
  }
}

/** Both sides hashed to the same length, then compared in constant time. */
async function clientStateMatches(candidate: string, storedHash: string): Promise<boolean> {
  const enc = new TextEncoder();
  const a = enc.encode(await sha256Hex(candidate));
  const b = enc.encode(storedHash);
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/**
 * Fetches one message (its folder, conversation and date, then its MIME) and stores it (idempotent).
 * Shared by live sync and the backfill consumer.
 */
export async function fetchAndStoreGraph(
  env: Env,
  graph: GraphClient,
  who: SyncIdentity,
  id: string,
  folders: GraphFolderMap,
): Promise<{ ok: true; stored: boolean; threadId?: string } | { ok: false; failure: GraphFailure }> {
  const meta = await graph.getMessageMeta(id);
  if (!meta.ok) {
    // Deleted since it was listed: nothing to store, nothing lost.
    if (meta.kind === "not_found") return { ok: true, stored: false };
    return { ok: false, failure: meta };
  }
  const folder = meta.value.parentFolderId ? folders[meta.value.parentFolderId] : undefined;
  // Moved to Junk Email or Deleted Items since it was listed.
  if (folder?.excluded) return { ok: true, stored: false };
  const mime = await graph.getMime(id);
  if (!mime.ok) {
    if (mime.kind === "not_found") return { ok: true, stored: false };
    return { ok: false, failure: mime };
  }
  const received = Date.parse(meta.value.receivedDateTime ?? "");
  const outcome = await storeMessage(drizzle(env.DB, { schema }), env.RAW_MAIL, {
    accountId: who.accountId,
    mailboxId: who.mailboxId,
    providerMessageId: id,
    providerThreadId: meta.value.conversationId ?? null,
    // Graph merges unrelated mail with the same subject into one conversation.
    providerThreadReliable: false,
    labels: folder ? [folder.label] : [],
    outbound: folder?.label === SENT,
    receivedAt: Number.isFinite(received) && received > 0 ? received : Date.now(),
    raw: mime.value,
  });
  // A new message or a new copy changes the thread; a duplicate changes nothing.
  const changed = outcome.status === "stored" || outcome.status === "linked";
  return { ok: true, stored: changed, ...(changed ? { threadId: outcome.threadId } : {}) };
}
