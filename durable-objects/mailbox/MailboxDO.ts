import { DurableObject } from "cloudflare:workers";
import type { HealthReason } from "../../worker/contracts";
import { readConfig } from "../../worker/config";
import { log } from "../../worker/lib/log";
import { readProviderConfig } from "../../worker/providers/config";
import { graphMailboxFor } from "../../worker/providers/graph";
import { GmailSync, type StepResult } from "./gmail-sync";
import {
  GraphPermits,
  GraphSync,
  type GraphFolderMap,
  type GraphNotificationResult,
  type GraphStepResult,
} from "./graph-sync";
import { GrantKeeper, type ConnectInput, type GrantHealth, type LeaseResult } from "./grant-keeper";
import { HostedState } from "./hosted-state";
import { ListingReconciler } from "./listing-reconciler";
import { LiveHub } from "./live-hub";
import { QuotaBudget } from "./quota-budget";
import { MAILBOX_STORAGE_MIGRATIONS, migrateStorage } from "./storage-migrations";
import { SyncStateStore, type SyncPhase } from "./sync-state";

export interface MailboxDescription {
  schemaVersion: number;
  mailboxId: string | null;
  connected: boolean;
}

export interface SyncStatus {
  phase: SyncPhase;
  backfill: { done: number; total: number; enumerated: boolean; etaSeconds: number | null };
  lastSyncAt: number | null;
  watchExpiresAt: number | null;
  lastError: string | null;
}

export type BackfillLease =
  | { ok: true; provider: "google"; accessToken: string; apiBase: string; scope: "all" | "inbox_sent" }
  | {
      ok: true;
      provider: "microsoft";
      accessToken: string;
      apiBase: string;
      /** The shared mailbox a delegate's grant acts on; null when the grant is the mailbox's own. */
      mailbox: string | null;
      folders: GraphFolderMap;
    }
  | { ok: false; reason: string };

/** Gmail asks for a watch renewal at least every 7 days and recommends daily. */
const WATCH_RENEW_MS = 24 * 60 * 60 * 1000;
/** While push is lapsed or unconfigured, check for new mail this often. */
const POLL_MS = 60 * 1000;
/** Even with push live, check this often: providers drop notifications (Gmail above 1/s per mailbox). */
const SAFETY_POLL_MS = 10 * 60 * 1000;
/** A backfill that reported no progress for this long is listed again. */
const BACKFILL_WATCHDOG_MS = 3 * 60 * 1000;
/** Pause between backfill enumeration pages, so alarms never hog the object. */
const ENUMERATE_GAP_MS = 50;
/** The least time between two hint-driven sync runs (see #kickForHint). */
const HINT_SPACING_MS = 1000;
/**
 * Gmail drops a mailbox's notifications above one a second, so a change made just after a delivered
 * one may never be told. One more sync this long after the latest notification picks such a change
 * up in seconds rather than at the next safety poll.
 */
const TRAILING_SYNC_MS = 2000;

/**
 * One object per connected mailbox, addressed by the mailbox's opaque id: the single writer of its
 * grant (sealed tokens, refresh, health) and of its sync state (cursor, backfill, push renewal). The
 * refresh token never leaves this object: callers get short-lived access-token leases. A hosted
 * address has one too, with its health and live channel but no grant and no sync.
 */
export class MailboxDO extends DurableObject<Env> {
  #schemaVersion = 0;
  #grants: GrantKeeper;
  #sync: SyncStateStore;
  #gmail: GmailSync;
  #graph: GraphSync;
  #budget: QuotaBudget;
  #graphPermits = new GraphPermits();
  #live: LiveHub;
  #hosted: HostedState;
  #syncing: Promise<void> | null = null;
  /** When the last sync run ended (in memory: after a restart the next hint runs at once). */
  #lastSyncEndedAt = 0;
  /**
   * When the sync that trails the latest Gmail notification is due; 0 when none is. In memory: it is
   * seconds away, and after a restart the safety poll covers the little it could miss.
   */
  #trailingSyncAt = 0;
  /** Notifications counted since the count was last written (see #countNotification). */
  #unsavedNotifications = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#grants = new GrantKeeper(ctx, env, () => this.#reschedule());
    this.#sync = new SyncStateStore(ctx.storage.sql);
    const reconciler = new ListingReconciler(ctx.storage.sql);
    this.#live = new LiveHub(ctx);
    this.#hosted = new HostedState(ctx.storage.sql, env.DB);
    const onThreads = (ids: string[]) => {
      for (const id of new Set(ids)) this.#live.threadChanged(id, "message");
    };
    this.#gmail = new GmailSync(env, this.#sync, this.#grants, () => this.#identity(), reconciler, onThreads);
    this.#graph = new GraphSync(
      env,
      ctx.storage.sql,
      this.#sync,
      this.#grants,
      this.#graphPermits,
      () => this.#identity(),
      reconciler,
      onThreads,
    );
    this.#budget = new QuotaBudget(env);
    void ctx.blockConcurrencyWhile(async () => {
      this.#schemaVersion = migrateStorage(ctx.storage, MAILBOX_STORAGE_MIGRATIONS);
    });
  }

  /** Binds this object to its mailbox the first time it is used; later calls must name the same one. */
  async attach(mailboxId: string): Promise<{ ok: true } | { ok: false; error: "mailbox_mismatch" }> {
    const current = this.#meta("mailbox_id");
    if (current === null) {
      this.ctx.storage.sql.exec(`INSERT INTO mailbox_meta (key, value) VALUES ('mailbox_id', ?)`, mailboxId);
      return { ok: true };
    }
    return current === mailboxId ? { ok: true } : { ok: false, error: "mailbox_mismatch" };
  }

  /** The inbox's live channel; reached only through the Worker, which checks the session and access first. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const userId = request.headers.get("x-user-id");
    if (url.pathname !== "/live" || request.headers.get("upgrade") !== "websocket" || !userId) {
      return new Response("not found", { status: 404 });
    }
    return this.#live.accept({ userId, name: request.headers.get("x-user-name") ?? "" });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.#live.onMessage(ws, message);
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.#live.onClose(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#live.onClose(ws);
  }

  /** Threads of this inbox changed (new mail, status, notes): open views refresh. */
  async threadsChanged(threadIds: string[], change: "message" | "updated" | "note"): Promise<void> {
    for (const id of new Set(threadIds)) this.#live.threadChanged(id, change);
  }

  async describe(): Promise<MailboxDescription> {
    return {
      schemaVersion: this.#schemaVersion,
      mailboxId: this.#meta("mailbox_id"),
      connected: this.#grants.connected() || this.#hosted.row() !== null,
    };
  }

  /**
   * Makes this object the home of a hosted address (kind hosted): no grant and no sync, only
   * health, the live channel and when mail last came and went.
   */
  async attachHosted(input: {
    accountId: string;
    mailboxId: string;
    address: string;
  }): Promise<{ ok: true } | { ok: false; error: "mailbox_mismatch" }> {
    const attached = await this.attach(input.mailboxId);
    if (!attached.ok) return attached;
    this.#hosted.create(input);
    return { ok: true };
  }

  /** Mail for the hosted address was stored: open views of these threads refresh. */
  async hostedReceived(threadIds: string[]): Promise<void> {
    this.#hosted.received();
    for (const id of new Set(threadIds)) this.#live.threadChanged(id, "message");
  }

  /** The platform accepted (ok) or refused a message from the hosted address; health follows. */
  async hostedSendResult(result: { ok: true } | { ok: false; detail: string }): Promise<void> {
    if (result.ok) await this.#hosted.sent();
    else await this.#hosted.sendFailed(String(result.detail).slice(0, 300));
  }

  /**
   * Stores a new grant (first connect or reconnect in place) and starts syncing: a first connect
   * backfills the window; a reconnect recovers everything since the last good sync.
   */
  async storeGrant(
    input: ConnectInput & { windowDays?: number | null; scope?: "all" | "inbox_sent" },
  ): Promise<{ ok: true } | { ok: false; error: "mailbox_mismatch" }> {
    const attached = await this.attach(input.mailboxId);
    if (!attached.ok) return attached;
    await this.#grants.connect(input);
    const row = this.#sync.get();
    if (!row || !row.cursor) {
      this.#sync.update({
        phase: "backfilling",
        window_days: input.windowDays === undefined ? 30 : input.windowDays,
        scope: input.scope ?? "all",
      });
    } else {
      this.#sync.update({ phase: "recovering", hint_pending: 1 });
    }
    await this.#kick();
    return { ok: true };
  }

  /**
   * The inbox's history window or folder scope changed. Widening either lists the mailbox again
   * (the listing is cheap and what is stored is not fetched again); narrowing only applies from now
   * on, and nothing stored is removed for it. The relist itself runs in the sync loop, never beside it.
   */
  async configure(settings: { windowDays: number | null; scope: "all" | "inbox_sent" }): Promise<void> {
    const row = this.#sync.ensure();
    const wider =
      (settings.windowDays === null && row.window_days !== null) ||
      (settings.windowDays !== null && row.window_days !== null && settings.windowDays > row.window_days) ||
      (settings.scope === "all" && row.scope === "inbox_sent");
    this.#sync.update({ window_days: settings.windowDays, scope: settings.scope });
    if (this.#grants.binding()?.provider === "microsoft" && settings.scope !== row.scope) {
      // Which folders count changes at once (a narrower scope stops fetching from the others).
      this.#sync.update({ relist_requested: wider ? 1 : 2 });
    } else if (wider) {
      this.#sync.update({ relist_requested: 1 });
    }
    if (!row.cursor || !this.#grants.connected()) return;
    await this.#kick();
  }

  /** A short-lived access token for a provider call, refreshing it first when it is near expiry. */
  async leaseAccessToken(): Promise<LeaseResult> {
    return this.#grants.lease();
  }

  /**
   * What the backfill consumer needs for one batch, after checking that the queue message names
   * this mailbox's own account (a forged message cannot reach another tenant's mail).
   */
  async backfillLease(accountId: string, mailboxId: string): Promise<BackfillLease> {
    const grant = this.#grants.binding();
    if (!grant || grant.accountId !== accountId || grant.mailboxId !== mailboxId)
      return { ok: false, reason: "not_this_mailbox" };
    const lease = await this.#grants.lease();
    if (!lease.ok) return { ok: false, reason: lease.reason };
    const config = readProviderConfig(this.env);
    if (lease.provider === "google") {
      return {
        ok: true,
        provider: "google",
        accessToken: lease.accessToken,
        apiBase: config.google.gmailApiBase,
        scope: this.#sync.ensure().scope,
      };
    }
    return {
      ok: true,
      provider: "microsoft",
      accessToken: lease.accessToken,
      apiBase: config.microsoft.graphApiBase,
      mailbox: graphMailboxFor(lease),
      folders: this.#graph.folderMap(),
    };
  }

  /** A provider refused the leased access token: forget it, so the next lease refreshes. */
  async accessTokenRejected(): Promise<void> {
    this.#grants.dropAccessToken();
  }

  /** Quota permits for provider calls: wait this long before spending `units`. */
  async acquirePermits(units: number): Promise<{ waitMs: number }> {
    return { waitMs: this.#budget.take(units) };
  }

  /**
   * A permit for `units` Graph requests made one after another: Graph allows 4 in flight per mailbox,
   * shared by this object's own sync and every backfill consumer. Release it when done.
   */
  async graphPermit(units: number): Promise<{ ok: true; permitId: string } | { ok: false; waitMs: number }> {
    return this.#graphPermits.acquire(Math.max(1, Math.min(10, Math.floor(units))));
  }

  async releaseGraphPermit(permitId: string): Promise<void> {
    this.#graphPermits.release(permitId);
  }

  /** The provider said 429: everyone using this mailbox's budget backs off. */
  async throttled(retryAfterMs: number | null): Promise<void> {
    this.#budget.pause(retryAfterMs);
    this.#graphPermits.pause(retryAfterMs);
    await this.#grants.reportFailure("rate_limited", "");
  }

  /** The consumer found the grant broken: enumerate again (cheaply, skipping stored copies) once it is repaired. */
  async backfillInterrupted(): Promise<void> {
    const row = this.#sync.ensure();
    if (row.phase === "backfilling" || row.phase === "recovering") {
      this.#sync.update({ backfill_enumerated: 0, backfill_page_token: null, backfill_total: row.backfill_done });
    }
  }

  /** The backfill consumer finished ids (stored, already present, or given up on). */
  async reportBackfill(count: number): Promise<void> {
    const row = this.#sync.ensure();
    const done = row.backfill_done + count;
    this.#sync.update({ backfill_done: done, backfill_progress_at: Date.now() });
    if (
      row.backfill_enumerated &&
      done >= row.backfill_total &&
      (row.phase === "backfilling" || row.phase === "recovering")
    ) {
      this.#sync.update({ phase: "live", last_sync_at: Date.now() });
      await this.#kick();
    }
  }

  /**
   * A push notification (or anything else) says the mailbox changed. Only a hint: the sync runs
   * from the stored cursor, so a stale, duplicated or reordered hint does no harm.
   */
  async hint(historyId?: string): Promise<{ accepted: boolean }> {
    this.#countNotification();
    const row = this.#sync.get();
    if (!row || !this.#grants.connected()) return { accepted: false };
    // Even a stale notification opens the second in which Gmail drops the next ones.
    this.#trailingSyncAt = Date.now() + TRAILING_SYNC_MS;
    if (historyId && row.cursor && /^\d+$/.test(historyId) && BigInt(historyId) <= BigInt(row.cursor)) {
      await this.#alarmBy(this.#trailingSyncAt);
      return { accepted: false };
    }
    if (!row.hint_pending) this.#sync.update({ hint_pending: 1 });
    await this.#kickForHint();
    return { accepted: true };
  }

  /**
   * A Graph change or lifecycle notification routed here by the webhook. Only a hint (the deltas are
   * the truth), and it counts only with this mailbox's subscription id and clientState, so a
   * duplicated, reordered or forged one does no harm.
   */
  async graphNotification(input: {
    subscriptionId: string;
    clientState: string | null;
    lifecycleEvent?: string | null;
  }): Promise<GraphNotificationResult | { ok: false; error: "not_connected" }> {
    if (this.#grants.binding()?.provider !== "microsoft") return { ok: false, error: "not_connected" };
    const result = await this.#graph.notification({
      subscriptionId: String(input.subscriptionId).slice(0, 256),
      clientState: typeof input.clientState === "string" ? input.clientState.slice(0, 256) : null,
      lifecycleEvent: typeof input.lifecycleEvent === "string" ? input.lifecycleEvent.slice(0, 64) : null,
    });
    if (result.ok) {
      this.#countNotification();
      await this.#kickForHint();
    }
    return result;
  }

  /**
   * How many provider notifications reached this object (Gmail hints, and Graph notifications that
   * carried this subscription's clientState), so delivery can be checked end to end.
   */
  async notificationsReceived(): Promise<number> {
    this.#saveNotificationCount();
    return Number(this.#meta("notifications_received") ?? 0);
  }

  async syncStatus(): Promise<SyncStatus> {
    const hosted = this.#hosted.row();
    if (hosted) {
      // Nothing to import: a hosted address has no history before it existed.
      return {
        phase: "live",
        backfill: { done: 0, total: 0, enumerated: true, etaSeconds: 0 },
        lastSyncAt: hosted.last_received_at,
        watchExpiresAt: null,
        lastError: null,
      };
    }
    const row = this.#sync.ensure();
    const elapsed = row.backfill_started_at ? Date.now() - row.backfill_started_at : 0;
    const rate = elapsed > 0 ? row.backfill_done / elapsed : 0;
    const remaining = Math.max(0, row.backfill_total - row.backfill_done);
    return {
      phase: row.phase,
      backfill: {
        done: row.backfill_done,
        total: row.backfill_total,
        enumerated: row.backfill_enumerated === 1,
        etaSeconds: remaining === 0 ? 0 : rate > 0 ? Math.ceil(remaining / rate / 1000) : null,
      },
      lastSyncAt: row.last_sync_at,
      watchExpiresAt: row.watch_expires_at,
      lastError: row.last_error,
    };
  }

  async health(): Promise<GrantHealth | null> {
    return this.#grants.health() ?? this.#hosted.health();
  }

  /** A provider call with a leased token failed in a way that says something about the grant. */
  async reportProviderFailure(reason: HealthReason, detail: string): Promise<void> {
    await this.#grants.reportFailure(reason, detail);
  }

  /** Stops push, revokes the grant at the provider and forgets everything this object stored. */
  async disconnect(options: { revokeAtProvider: boolean } = { revokeAtProvider: true }): Promise<{ ok: true }> {
    const provider = this.#grants.binding()?.provider;
    if (provider === "google") await this.#gmail.stopWatch().catch(() => undefined);
    if (provider === "microsoft") await this.#graph.deleteSubscription().catch(() => undefined);
    if (options.revokeAtProvider) await this.#grants.revoke();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    // The object may be asked again (for example describe()); give it an empty, current schema.
    this.#schemaVersion = migrateStorage(this.ctx.storage, MAILBOX_STORAGE_MIGRATIONS);
    return { ok: true };
  }

  override async alarm(): Promise<void> {
    this.#saveNotificationCount();
    this.#takeDueTrailingSync();
    await this.#grants.onAlarm();
    await this.#runSync();
    await this.#reschedule();
  }

  /**
   * A provider hint: sync soon, but not back to back. During a burst of notifications the runs are
   * spaced by HINT_SPACING_MS, so the sync does not take the runtime from the webhooks that bring
   * them; a hint after a quiet spell runs at once.
   */
  async #kickForHint(): Promise<void> {
    await this.#alarmBy(Math.max(Date.now(), this.#lastSyncEndedAt + HINT_SPACING_MS));
  }

  /** The alarm fires by `at` at the latest. */
  async #alarmBy(at: number): Promise<void> {
    const due = await this.ctx.storage.getAlarm();
    if (due !== null && due <= at) return;
    await this.ctx.storage.setAlarm(at);
  }

  /** Once due, the sync that trails a notification is a hint like any other. */
  #takeDueTrailingSync(): void {
    if (this.#trailingSyncAt === 0 || this.#trailingSyncAt > Date.now()) return;
    this.#trailingSyncAt = 0;
    const row = this.#sync.get();
    if (row && !row.hint_pending) this.#sync.update({ hint_pending: 1 });
  }

  /** Runs the due sync work now (coalesced: one run at a time, re-run if more was asked meanwhile). */
  async #kick(): Promise<void> {
    const now = Date.now();
    // A burst of notifications needs one alarm, not one write each.
    const due = await this.ctx.storage.getAlarm();
    if (due !== null && due <= now) return;
    await this.ctx.storage.setAlarm(now);
  }

  async #runSync(): Promise<void> {
    if (this.#syncing) return this.#syncing;
    this.#syncing = this.#syncOnce().finally(() => {
      this.#syncing = null;
      this.#lastSyncEndedAt = Date.now();
    });
    return this.#syncing;
  }

  async #syncOnce(): Promise<void> {
    const grant = this.#grants.binding();
    if (!grant) return;
    const health = this.#grants.health();
    if (health?.health === "failing") return;
    if (grant.provider === "microsoft") return this.#syncGraphOnce();
    let row = this.#sync.ensure();
    if (row.relist_requested && row.cursor) {
      this.#sync.update({ relist_requested: 0 });
      this.#gmail.relist();
      row = this.#sync.ensure();
    }

    if ((row.phase === "backfilling" || row.phase === "recovering") && !row.cursor) {
      if (!(await this.#handle(await this.#gmail.begin()))) return;
      row = this.#sync.ensure();
    }
    if (this.#backfillStalled(row)) {
      // Queue messages can be lost outside the product's control (a local restart, say): list the
      // window again. Stored copies are skipped without a provider call, so this costs little.
      log.warn("backfill_restarted", {
        mailboxId: this.#meta("mailbox_id"),
        done: row.backfill_done,
        total: row.backfill_total,
      });
      row = this.#sync.update({
        backfill_enumerated: 0,
        backfill_page_token: null,
        backfill_done: 0,
        backfill_total: 0,
        backfill_progress_at: Date.now(),
      });
    }
    if ((row.phase === "backfilling" || row.phase === "recovering") && !row.backfill_enumerated) {
      const step = await this.#gmail.enumerateStep();
      if (!(await this.#handle(step))) return;
      this.#sync.update({ backfill_progress_at: Date.now() });
      this.#liveWhenCaughtUp();
      row = this.#sync.ensure();
    }
    if (row.backfill_enumerated && !(await this.#handle(await this.#gmail.reconcile()))) return;
    const topic = this.env.GMAIL_PUBSUB_TOPIC;
    if (topic && (!row.watch_expires_at || row.watch_expires_at - Date.now() < 6 * WATCH_RENEW_MS)) {
      // A new watch is valid for 7 days; renewing daily keeps a 6-day margin. Until one succeeds,
      // the mailbox is polled and its health says so.
      const watched = await this.#handle(await this.#gmail.watch(topic));
      if (watched) await this.#grants.clearFailure("push_lapsed");
      else if (this.#grants.health()?.health !== "failing") await this.#grants.reportFailure("push_lapsed", "");
    }
    row = this.#sync.ensure();
    const pollDue = (row.last_sync_at ?? 0) + (this.#pushLive(row) ? SAFETY_POLL_MS : POLL_MS) <= Date.now();
    if (row.cursor && (row.hint_pending || pollDue) && row.phase !== "failing") {
      this.#sync.update({ hint_pending: 0 });
      if (await this.#handle(await this.#gmail.incremental())) this.#liveWhenCaughtUp();
    }
  }

  /** Enumerated, not finished, and nothing reported for a while: queue messages went missing. */
  #backfillStalled(row: {
    phase: SyncPhase;
    backfill_enumerated: number;
    backfill_done: number;
    backfill_total: number;
    backfill_progress_at: number | null;
  }): boolean {
    return (
      (row.phase === "backfilling" || row.phase === "recovering") &&
      row.backfill_enumerated === 1 &&
      row.backfill_done < row.backfill_total &&
      Date.now() - (row.backfill_progress_at ?? 0) > BACKFILL_WATCHDOG_MS
    );
  }

  /** The Graph life cycle, step for step the Gmail one: baseline, backfill through the queue, live from the deltas. */
  async #syncGraphOnce(): Promise<void> {
    let row = this.#sync.ensure();
    if ((row.phase === "backfilling" || row.phase === "recovering") && !row.cursor) {
      if (!(await this.#handle(await this.#graph.begin()))) return;
      row = this.#sync.ensure();
    }
    if (row.relist_requested && row.cursor) {
      // 1: the settings widened (list every folder again); 2: the scope narrowed (only which folders count).
      if (!(await this.#handle(await this.#graph.applyScope()))) return;
      if (row.relist_requested === 1) {
        this.#graph.relistAll("settings_changed");
        this.#sync.update({ phase: "backfilling", backfill_enumerated: 0 });
      }
      row = this.#sync.update({ relist_requested: 0 });
    }
    if (this.#backfillStalled(row)) {
      this.#graph.relistAll("backfill_stalled");
      row = this.#sync.update({ backfill_enumerated: 0, backfill_progress_at: Date.now() });
    }
    if ((row.phase === "backfilling" || row.phase === "recovering") && !row.backfill_enumerated) {
      if (!(await this.#handle(await this.#graph.enumerateStep()))) return;
      this.#liveWhenCaughtUp();
    }
    if (this.#sync.ensure().backfill_enumerated && !(await this.#handle(await this.#graph.reconcile()))) return;
    const subscribed = await this.#handle(await this.#graph.maintainSubscription(this.#graphNotificationUrl()));
    // Without a live subscription the mailbox is polled, and its health says so.
    if (subscribed && this.#graph.pushLive()) await this.#grants.clearFailure("push_lapsed");
    else if (!subscribed && this.#grants.health()?.health !== "failing")
      await this.#grants.reportFailure("push_lapsed", "");
    row = this.#sync.ensure();
    const pollDue = (row.last_sync_at ?? 0) + (this.#pushLive(row) ? SAFETY_POLL_MS : POLL_MS) <= Date.now();
    if (row.cursor && (row.hint_pending || pollDue) && row.phase !== "failing") {
      this.#sync.update({ hint_pending: 0 });
      if (await this.#handle(await this.#graph.incremental())) this.#liveWhenCaughtUp();
    }
  }

  /** A backfill or recovery with nothing left to enumerate or store is over. */
  #liveWhenCaughtUp(): void {
    const row = this.#sync.ensure();
    if (
      (row.phase === "backfilling" || row.phase === "recovering") &&
      row.backfill_enumerated &&
      row.backfill_done >= row.backfill_total
    ) {
      this.#sync.update({ phase: "live", last_sync_at: Date.now() });
    }
  }

  /**
   * Graph posts change and lifecycle notifications here; a deployment behind another host can
   * override the address. It names this inbox, so the webhook can hand a notification straight to
   * this object without looking the subscription up (this object still checks it and its clientState).
   */
  #graphNotificationUrl(): string {
    const base =
      this.env.GRAPH_NOTIFICATION_URL ||
      `${readConfig(this.env as unknown as Record<string, unknown>).appOrigin}/webhooks/microsoft`;
    const url = new URL(base);
    const mailboxId = this.#meta("mailbox_id");
    if (mailboxId) url.searchParams.set("inbox", mailboxId);
    return url.toString();
  }

  #pushLive(row: { watch_expires_at: number | null }): boolean {
    if (this.#grants.binding()?.provider === "microsoft") return this.#graph.pushLive();
    return Boolean(this.env.GMAIL_PUBSUB_TOPIC) && (row.watch_expires_at ?? 0) > Date.now();
  }

  /** Turns a step's failure into health and backoff; true when the step succeeded. */
  async #handle(result: StepResult | GraphStepResult): Promise<boolean> {
    if (result.ok) return true;
    const f = result.failure;
    log.warn("sync_step_failed", { mailboxId: this.#meta("mailbox_id"), kind: f.kind });
    this.#sync.update({ last_error: f.kind });
    if (f.kind === "rate_limited") await this.throttled(f.retryAfterMs);
    else if (f.kind === "unavailable") await this.#grants.reportFailure("provider_unavailable", "");
    else if (f.kind === "auth") this.#grants.dropAccessToken();
    return false;
  }

  /** One alarm, at the earliest of every deadline this mailbox has. */
  async #reschedule(): Promise<void> {
    const row = this.#sync.get();
    const deadlines: number[] = [];
    const grantDue = this.#grants.nextDeadline();
    if (grantDue !== null) deadlines.push(grantDue);
    if (row && this.#grants.connected() && this.#grants.health()?.health !== "failing") {
      if ((row.phase === "backfilling" || row.phase === "recovering") && !row.backfill_enumerated) {
        deadlines.push(Date.now() + (row.last_error ? 30_000 : ENUMERATE_GAP_MS));
      }
      if (row.hint_pending)
        deadlines.push(
          row.last_error ? Date.now() + 30_000 : Math.max(Date.now(), this.#lastSyncEndedAt + HINT_SPACING_MS),
        );
      if (row.relist_requested) deadlines.push(Date.now());
      if (this.#trailingSyncAt) deadlines.push(this.#trailingSyncAt);
      if (this.#grants.binding()?.provider === "microsoft") {
        const due = this.#graph.subscriptionDeadline();
        if (due !== null) deadlines.push(row.last_error ? Math.max(due, Date.now() + 30_000) : due);
      } else {
        if (row.watch_expires_at && this.env.GMAIL_PUBSUB_TOPIC)
          deadlines.push(row.watch_expires_at - 6 * WATCH_RENEW_MS);
      }
      if (
        (row.phase === "backfilling" || row.phase === "recovering") &&
        row.backfill_enumerated &&
        row.backfill_done < row.backfill_total
      ) {
        deadlines.push((row.backfill_progress_at ?? Date.now()) + BACKFILL_WATCHDOG_MS + 1000);
      }
      if (row.cursor)
        deadlines.push((row.last_sync_at ?? Date.now()) + (this.#pushLive(row) ? SAFETY_POLL_MS : POLL_MS));
    }
    if (deadlines.length === 0) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    await this.ctx.storage.setAlarm(Math.max(Date.now(), Math.min(...deadlines)));
  }

  #identity() {
    const g = this.#grants.binding();
    return g ? { accountId: g.accountId, mailboxId: g.mailboxId } : null;
  }

  /**
   * Counted in memory and written with the next sync run (or when asked), so a notification costs
   * no storage write of its own. A restart in between can only make the count short, never long.
   */
  #countNotification(): void {
    this.#unsavedNotifications++;
  }

  #saveNotificationCount(): void {
    if (this.#unsavedNotifications === 0) return;
    this.ctx.storage.sql.exec(
      `INSERT INTO mailbox_meta (key, value) VALUES ('notifications_received', ?)
       ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value`,
      String(this.#unsavedNotifications),
    );
    this.#unsavedNotifications = 0;
  }

  #meta(key: string): string | null {
    const rows = this.ctx.storage.sql
      .exec<{ value: string }>(`SELECT value FROM mailbox_meta WHERE key = ?`, key)
      .toArray();
    return rows[0]?.value ?? null;
  }
}
