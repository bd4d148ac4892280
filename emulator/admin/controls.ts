import { type AutoConsent, type RevocationState } from "../auth/store";
import { type DeepPartial, type Tunables, mergeTunables } from "../config";
import { type EmulatorContext } from "../context";
import { type PushAttempt } from "../core/push-channel";
import { type GmailPush } from "../google/gmail-push";
import { hasGmailScope, normalizeGoogleScope } from "../google/scopes";
import { type GraphSubscriptions, type LifecycleEvent, type SubscriptionState } from "../microsoft/graph-subscriptions";
import { canonicalScope } from "../microsoft/scopes";
import { type ComposeFields, type DeliveryResult, composeFromFields, findThreadTip } from "../world/post-office";
import { type ErrorBurst, type FaultTarget, type Latency, type PushFaults } from "./faults";

export type GoogleTokenFault =
  /** The user removed the app's access in their account settings. */
  | "revoke"
  /** Password change: kills refresh tokens that carry Gmail scopes. */
  | "password-change"
  /** The refresh token reached its expiry (Testing status, time-based access). */
  | "expire"
  /** Unused for six months. */
  | "idle"
  /** Access tokens die now, so the client has to refresh. */
  | "expire-access";

export type MicrosoftTokenFault =
  | "revoke"
  | "password-change-user"
  | "password-reset-admin"
  | "require-mfa"
  | "block-conditional-access"
  | "revoke-consent"
  | "expire"
  | "expire-access";

export interface DeliverInput extends Partial<ComposeFields> {
  to: string | string[];
  /** Raw RFC 5322 message, base64 (or a Buffer in-process); overrides the composed fields. */
  raw?: string | Buffer;
  /** When the mailbox received it (ms since the epoch); now by default. Older mail tests backfill windows. */
  receivedAt?: number;
}

export class AdminError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Every fault switch and world operation, callable in-process (typed helpers for Node tests) and over
 * the loopback-only admin API.
 */
export class Controls {
  constructor(
    private readonly ctx: EmulatorContext,
    private readonly gmailPush: GmailPush,
    private readonly subscriptions: GraphSubscriptions,
  ) {}

  // ---- time and settings ----

  now(): number {
    return this.ctx.clock.now();
  }

  advanceClock(ms: number): number {
    this.ctx.clock.advance(ms);
    return this.ctx.clock.now();
  }

  settings(): Tunables {
    return this.ctx.tunables;
  }

  configure(patch: DeepPartial<Tunables>): Tunables {
    return mergeTunables(this.ctx.tunables, patch);
  }

  resetQuotas(): void {
    this.ctx.quotas.gmail.reset();
    this.ctx.quotas.graph.reset();
  }

  // ---- mail ----

  deliver(input: DeliverInput): DeliveryResult {
    const to = Array.isArray(input.to) ? input.to : [input.to];
    if (!to.length) throw new AdminError(400, "`to` is required");
    let raw: Buffer;
    if (input.raw !== undefined) {
      raw = Buffer.isBuffer(input.raw) ? input.raw : Buffer.from(input.raw, "base64");
    } else {
      const now = input.receivedAt ?? this.ctx.clock.now();
      const target = this.ctx.directory.resolveRecipient(to[0]!)[0];
      const tip =
        input.replyToThread && target ? findThreadTip(this.ctx.mailboxes, target, input.replyToThread) : undefined;
      if (input.replyToThread && !tip)
        throw new AdminError(404, `no thread ${input.replyToThread} in ${target ?? to[0]}`);
      raw = composeFromFields(
        {
          from: input.from ?? "Sandbox Sender <someone@example.com>",
          to,
          cc: input.cc,
          subject: input.subject,
          text: input.text,
          html: input.html,
          attachments: input.attachments,
          replyToThread: input.replyToThread,
          headers: input.headers,
        },
        now,
        tip,
      );
    }
    return this.ctx.postOffice.deliver(raw, input.receivedAt !== undefined ? { receivedAt: input.receivedAt } : {});
  }

  outbox(): Array<{ at: number; from: string; to: string[]; via: string; raw: string }> {
    return this.ctx.mailboxes.state.outbox;
  }

  // ---- OAuth ----

  setAutoConsent(provider: "google" | "microsoft", consent: AutoConsent | null): void {
    if (!consent) {
      this.ctx.auth.autoConsent.delete(provider);
      return;
    }
    const identity = this.ctx.directory.get(consent.account);
    if (!identity || identity.provider !== provider)
      throw new AdminError(404, `no ${provider} account ${consent.account}`);
    const scopes = consent.scopes?.map((s) =>
      provider === "google" ? normalizeGoogleScope(s) : (canonicalScope(s) ?? s),
    );
    this.ctx.auth.autoConsent.set(provider, { ...consent, account: identity.address, scopes });
  }

  #account(provider: "google" | "microsoft", account: string): string {
    const identity = this.ctx.directory.get(account);
    if (!identity || identity.provider !== provider) throw new AdminError(404, `no ${provider} account ${account}`);
    return identity.address;
  }

  googleTokenFault(account: string, fault: GoogleTokenFault): number {
    const address = this.#account("google", account);
    const { auth, clock } = this.ctx;
    const now = clock.now();
    const live = auth.liveRefreshTokens("google", address);
    switch (fault) {
      case "revoke": {
        const n = auth.revokeRefreshTokens(live, { at: now, reason: "revoked" });
        auth.revokeAccessTokens((t) => t.provider === "google" && t.account === address);
        for (const g of Object.values(auth.state.grants))
          if (g.provider === "google" && g.account === address) auth.removeGrant("google", g.clientId, address);
        return n;
      }
      case "password-change":
        return auth.revokeRefreshTokens(
          live.filter((t) => hasGmailScope(t.scopes)),
          {
            at: now,
            reason: "password-change",
          },
        );
      case "expire":
        for (const t of live) t.expiresAt = now;
        auth.changed();
        return live.length;
      case "idle":
        for (const t of live) t.lastUsedAt = now - (this.ctx.tunables.google.refreshTokenIdleDays + 1) * 86_400_000;
        auth.changed();
        return live.length;
      case "expire-access": {
        let n = 0;
        for (const t of auth.accessTokens.values()) {
          if (t.provider === "google" && t.account === address) {
            t.expiresAt = now;
            n++;
          }
        }
        return n;
      }
    }
  }

  microsoftTokenFault(
    account: string,
    fault: MicrosoftTokenFault,
    opts: { error?: string; scope?: string } = {},
  ): number {
    const address = this.#account("microsoft", account);
    const { auth, clock } = this.ctx;
    const now = clock.now();
    const live = auth.liveRefreshTokens("microsoft", address);
    const revoke = (tokens: typeof live, r: Omit<RevocationState, "at">) =>
      auth.revokeRefreshTokens(tokens, { at: now, ...r });
    let n: number;
    switch (fault) {
      case "revoke":
        n = revoke(live, { reason: "revoked", code: 50173, error: "invalid_grant" });
        break;
      case "password-change-user": {
        // A user's own password change revokes public-client tokens; confidential (web) apps keep theirs.
        const publicIds = new Set(this.ctx.clients.microsoft.filter((c) => c.public).map((c) => c.clientId));
        n = revoke(
          live.filter((t) => publicIds.has(t.clientId)),
          { reason: "password-change", code: 50173, error: "invalid_grant" },
        );
        break;
      }
      case "password-reset-admin":
        n = revoke(live, { reason: "password-reset", code: 50173, error: "invalid_grant" });
        break;
      case "require-mfa":
        n = revoke(live, { reason: "mfa", code: 50076, error: opts.error ?? "invalid_grant" });
        break;
      case "block-conditional-access":
        n = revoke(live, { reason: "conditional-access", code: 53003, error: opts.error ?? "invalid_grant" });
        break;
      case "revoke-consent":
        if (opts.scope) {
          const scope = canonicalScope(opts.scope) ?? opts.scope;
          auth.removeScope("microsoft", address, scope);
          n = live.length;
        } else {
          n = revoke(live, { reason: "consent-revoked", code: 65001, error: opts.error ?? "invalid_grant" });
          for (const g of Object.values(auth.state.grants))
            if (g.provider === "microsoft" && g.account === address) auth.removeGrant("microsoft", g.clientId, address);
        }
        break;
      case "expire":
        n = revoke(live, { reason: "inactive", code: 700082, error: "invalid_grant" });
        break;
      case "expire-access":
        n = 0;
        for (const t of auth.accessTokens.values()) {
          if (t.provider === "microsoft" && t.account === address) {
            t.expiresAt = now;
            n++;
          }
        }
        return n;
    }
    // Graph asks subscribers to reauthorize when the grant behind a subscription goes away.
    if (n > 0 && fault !== "password-change-user") {
      for (const s of this.subscriptions.all())
        if (s.creatorAccount === address) this.subscriptions.lifecycle(s, "reauthorizationRequired");
    }
    return n;
  }

  removeGoogleScope(account: string, scope: string): void {
    this.ctx.auth.removeScope("google", this.#account("google", account), normalizeGoogleScope(scope));
  }

  // ---- Gmail ----

  expireGmailHistory(account: string): number {
    const mailbox = this.ctx.mailboxes.gmail(this.#account("google", account));
    if (!mailbox) throw new AdminError(404, `no mailbox ${account}`);
    mailbox.expireHistory();
    this.ctx.mailboxes.events.emit("changed");
    return mailbox.state.historyFloor;
  }

  /** The owner deletes a message for good in their own mail client (history messageDeleted). */
  deleteGmailMessage(account: string, id: string): boolean {
    const mailbox = this.ctx.mailboxes.gmail(this.#account("google", account));
    if (!mailbox) throw new AdminError(404, `no mailbox ${account}`);
    const deleted = mailbox.delete(id, this.ctx.clock.now());
    if (deleted) this.ctx.mailboxes.events.emit("changed");
    return deleted;
  }

  lapseGmailWatch(account: string): boolean {
    const mailbox = this.ctx.mailboxes.gmail(this.#account("google", account));
    if (!mailbox?.state.watch) return false;
    mailbox.state.watch.expiration = this.ctx.clock.now();
    this.ctx.mailboxes.events.emit("changed");
    return true;
  }

  routePubSubTopic(topicName: string, pushEndpoint: string, audience?: string): void {
    this.ctx.pubsub.routes.set(topicName, { topicName, pushEndpoint, audience });
  }

  /** An empty audience goes back to the default (the endpoint URL). */
  setGmailPushEndpoint(url: string | undefined, audience?: string): void {
    this.ctx.pubsub.defaultEndpoint = url;
    if (audience !== undefined) this.ctx.pubsub.audience = audience || undefined;
  }

  gmailRateLimited(): Array<{ address: string; historyId: number; at: number }> {
    return this.gmailPush.rateLimited;
  }

  // ---- Graph ----

  expireGraphDelta(account: string, mode: "expired" | "reset" = "expired"): void {
    const mailbox = this.ctx.mailboxes.graph(this.#account("microsoft", account));
    if (!mailbox) throw new AdminError(404, `no mailbox ${account}`);
    if (mode === "reset") mailbox.state.deltaResetPending = true;
    else mailbox.expireDelta();
    this.ctx.mailboxes.events.emit("changed");
  }

  /** Graph replays changes: the next delta round of this mailbox re-sends the last `changes` changes. */
  replayGraphDelta(account: string, changes: number): void {
    const mailbox = this.ctx.mailboxes.graph(this.#account("microsoft", account));
    if (!mailbox) throw new AdminError(404, `no mailbox ${account}`);
    mailbox.state.deltaReplayChanges = changes;
  }

  /** Every credential the emulator handed out (or was handed) so far, for scanning an app for leaks. */
  issuedSecrets(): { accessTokens: string[]; refreshTokens: string[]; clientStates: string[] } {
    return {
      accessTokens: [...this.ctx.auth.issuedAccessTokens],
      refreshTokens: Object.keys(this.ctx.auth.state.refreshTokens),
      clientStates: [...this.subscriptions.clientStates],
    };
  }

  graphSubscriptions(): SubscriptionState[] {
    return this.subscriptions.all();
  }

  #subs(selector: { id?: string; account?: string }): SubscriptionState[] {
    const all = this.subscriptions.all();
    if (selector.id) return all.filter((s) => s.id === selector.id);
    if (selector.account) {
      const lower = selector.account.toLowerCase();
      return all.filter((s) => s.mailbox === lower || s.creatorAccount === lower);
    }
    return all;
  }

  lapseGraphSubscription(selector: { id?: string; account?: string }): number {
    const list = this.#subs(selector);
    for (const s of list) s.expirationDateTime = this.ctx.clock.now();
    this.ctx.mailboxes.events.emit("changed");
    return list.length;
  }

  graphLifecycle(selector: { id?: string; account?: string }, event: LifecycleEvent): number {
    const list = this.#subs(selector);
    for (const s of list) this.subscriptions.lifecycle(s, event);
    return list.length;
  }

  // ---- faults ----

  errorBurst(burst: { target: FaultTarget | "all"; status?: number; count?: number; pathIncludes?: string }): void {
    const b: ErrorBurst = {
      target: burst.target,
      status: burst.status ?? 503,
      remaining: burst.count ?? 1,
      pathIncludes: burst.pathIncludes,
    };
    this.ctx.faults.bursts.push(b);
  }

  slowResponses(latency: {
    target: FaultTarget | "all";
    ms: number;
    count?: number | null;
    pathIncludes?: string;
  }): void {
    const l: Latency = {
      target: latency.target,
      ms: latency.ms,
      remaining: latency.count ?? null,
      pathIncludes: latency.pathIncludes,
    };
    this.ctx.faults.latency.push(l);
  }

  pushFaults(channel: "gmail" | "graph", faults: Partial<PushFaults>): PushFaults {
    const current = this.ctx.faults.push[channel];
    if (faults.drop !== undefined) current.drop = faults.drop;
    if (faults.duplicate !== undefined) current.duplicate = faults.duplicate;
    if (faults.delay !== undefined) current.delay = { ...faults.delay };
    if (faults.reorder !== undefined) current.reorder = faults.reorder;
    return current;
  }

  flushHeldPushes(channel: "gmail" | "graph"): void {
    this.ctx.channels[channel].flushHeld();
  }

  clearFaults(): void {
    this.ctx.faults.clear();
  }

  pushLog(channel?: "gmail" | "graph"): PushAttempt[] {
    if (channel) return [...this.ctx.channels[channel].log];
    return [...this.ctx.channels.gmail.log, ...this.ctx.channels.graph.log].sort((a, b) => a.at - b.at);
  }

  /** Waits until no push or notification is in flight or waiting for a retry. */
  async pushIdle(): Promise<void> {
    await Promise.all([this.ctx.channels.gmail.idle(), this.ctx.channels.graph.idle()]);
  }
}
