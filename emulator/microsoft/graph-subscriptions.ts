import { randomUUID } from "node:crypto";
import { type EmulatorContext } from "../context";
import { type GraphMailboxChange } from "../world/graph-mailbox";
import { etag } from "./graph-render";

export interface SubscriptionState {
  id: string;
  resource: string;
  mailbox: string;
  /** null = every folder (`/me/messages`). */
  folderId: string | null;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: number;
  applicationId: string;
  creatorId: string;
  creatorAccount: string;
  includeResourceData: boolean;
  latestSupportedTlsVersion: string;
  immutableIds: boolean;
  /** Set after a reauthorizationRequired event until the app reauthorizes or renews. */
  reauthorizationRequired: boolean;
}

export type LifecycleEvent = "reauthorizationRequired" | "subscriptionRemoved" | "missed";

export type ValidationOutcome = { ok: true } | { ok: false; reason: "timeout" | "status" | "body"; status?: number };

export function renderSubscription(s: SubscriptionState, graphBase: string): Record<string, unknown> {
  return {
    "@odata.context": `${graphBase}/v1.0/$metadata#subscriptions/$entity`,
    id: s.id,
    resource: s.resource,
    applicationId: s.applicationId,
    changeType: s.changeType,
    clientState: s.clientState,
    notificationUrl: s.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl,
    expirationDateTime: new Date(s.expirationDateTime).toISOString(),
    creatorId: s.creatorId,
    includeResourceData: s.includeResourceData,
    latestSupportedTlsVersion: s.latestSupportedTlsVersion,
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  };
}

/** POST {url}?validationToken=...; the endpoint must echo the decoded token as text/plain with 200. */
export async function validateEndpoint(url: string, timeoutMs: number): Promise<ValidationOutcome> {
  const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
  const target = new URL(url);
  target.searchParams.set("validationToken", token);
  try {
    const res = await fetch(target, {
      method: "POST",
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: "",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await res.text();
    if (res.status !== 200) return { ok: false, reason: "status", status: res.status };
    if (body !== token) return { ok: false, reason: "body" };
    return { ok: true };
  } catch (err) {
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
      return { ok: false, reason: "timeout" };
    return { ok: false, reason: "status" };
  }
}

/** Subscriptions and the change / lifecycle notifications they produce. */
export class GraphSubscriptions {
  readonly state: Record<string, SubscriptionState>;
  /** Every clientState an app ever registered, deleted subscriptions included: what a secret scan looks for. */
  readonly clientStates = new Set<string>();

  constructor(
    private readonly ctx: EmulatorContext,
    state: Record<string, SubscriptionState>,
  ) {
    this.state = state;
    for (const s of Object.values(state)) if (s.clientState) this.clientStates.add(s.clientState);
    ctx.mailboxes.events.on("graph", (change) => this.#onChange(change));
  }

  active(id: string): SubscriptionState | undefined {
    const s = this.state[id];
    if (!s) return undefined;
    if (s.expirationDateTime <= this.ctx.clock.now()) {
      // Expired subscriptions are gone, as Graph deletes them.
      delete this.state[id];
      this.ctx.mailboxes.events.emit("changed");
      return undefined;
    }
    return s;
  }

  all(): SubscriptionState[] {
    return Object.keys(this.state)
      .map((id) => this.active(id))
      .filter((s): s is SubscriptionState => !!s);
  }

  add(s: SubscriptionState): void {
    this.state[s.id] = s;
    if (s.clientState) this.clientStates.add(s.clientState);
    this.ctx.mailboxes.events.emit("changed");
  }

  remove(id: string): boolean {
    const existed = id in this.state;
    delete this.state[id];
    this.ctx.mailboxes.events.emit("changed");
    return existed;
  }

  #onChange(change: GraphMailboxChange): void {
    for (const s of this.all()) {
      if (s.mailbox !== change.address) continue;
      if (s.folderId !== null && s.folderId !== change.folderId) continue;
      if (
        !s.changeType
          .split(",")
          .map((x) => x.trim())
          .includes(change.kind)
      )
        continue;
      this.#notify(s, change);
    }
  }

  #notify(s: SubscriptionState, change: GraphMailboxChange): void {
    const { ctx } = this;
    const mailbox = ctx.mailboxes.graph(s.mailbox)!;
    const id = s.immutableIds ? change.message.immutableId : change.message.restId;
    const resource = `Users/${mailbox.state.userId}/Messages/${id}`;
    const notification: Record<string, unknown> = {
      id: null,
      subscriptionId: s.id,
      subscriptionExpirationDateTime: new Date(s.expirationDateTime).toISOString(),
      changeType: change.kind,
      resource,
      tenantId: mailbox.state.tenantId,
      clientState: s.clientState,
      resourceData: {
        "@odata.type": "#Microsoft.Graph.Message",
        "@odata.id": resource,
        "@odata.etag": etag(mailbox, change.message),
        id,
      },
    };
    this.#post(`${s.id}:${change.kind}:${id}`, s.notificationUrl, { value: [notification] });
  }

  lifecycle(s: SubscriptionState, event: LifecycleEvent): boolean {
    if (event === "reauthorizationRequired") s.reauthorizationRequired = true;
    if (event === "subscriptionRemoved") this.remove(s.id);
    if (!s.lifecycleNotificationUrl) return false;
    const mailbox = this.ctx.mailboxes.graph(s.mailbox)!;
    this.#post(`${s.id}:${event}`, s.lifecycleNotificationUrl, {
      value: [
        {
          subscriptionId: s.id,
          subscriptionExpirationDateTime: new Date(s.expirationDateTime).toISOString(),
          tenantId: mailbox.state.tenantId,
          clientState: s.clientState,
          lifecycleEvent: event,
        },
      ],
    });
    return true;
  }

  #post(id: string, url: string, body: unknown): void {
    const { ctx } = this;
    ctx.channels.graph.enqueue({
      id,
      url,
      isAck: (status) => status >= 200 && status < 300,
      build: () =>
        Promise.resolve({
          headers: {
            "content-type": "application/json; charset=utf-8",
            "user-agent": "Microsoft-Graph-ChangeTracking",
          },
          body: JSON.stringify(body),
        }),
    });
  }
}
