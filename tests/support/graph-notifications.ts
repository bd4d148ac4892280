/**
 * Graph notifications in the Worker tests: the emulator posts them to the recording relay
 * (push-relay.ts); these helpers find the ones for a given subscription and replay them, exactly as
 * recorded, into the real /webhooks/microsoft route.
 */
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { emulatorAdmin } from "./connect";
import { call, type CallResult } from "./http";
import type { RecordedPush } from "./push-relay";

export interface GraphNotification {
  subscriptionId: string;
  clientState: string | null;
  changeType?: string;
  lifecycleEvent?: string;
  resource?: string;
  [key: string]: unknown;
}

export interface RecordedNotification {
  push: RecordedPush;
  items: GraphNotification[];
}

async function recorded(since: number): Promise<RecordedPush[]> {
  const res = await fetch(`${env.TEST_PUSH_RELAY_URL}/__relay/pushes?since=${since}`);
  return ((await res.json()) as { pushes: RecordedPush[] }).pushes;
}

/** The relay's newest sequence number: pushes after it are the ones a test caused. */
export async function relayMark(): Promise<number> {
  const pushes = await recorded(0);
  return pushes.at(-1)?.seq ?? 0;
}

/** Graph notifications recorded after `since` for one subscription (other files' subscriptions are ignored). */
export async function notificationsFor(subscriptionId: string, since: number): Promise<RecordedNotification[]> {
  const out: RecordedNotification[] = [];
  for (const push of await recorded(since)) {
    if (push.path !== "/webhooks/microsoft") continue;
    const items = (JSON.parse(push.body) as { value: GraphNotification[] }).value;
    if (items.some((n) => n.subscriptionId === subscriptionId)) out.push({ push, items });
  }
  return out;
}

/** Waits until at least `count` notifications matching `filter` have been recorded for the subscription. */
export async function awaitNotifications(
  subscriptionId: string,
  since: number,
  count: number,
  filter: (n: GraphNotification) => boolean = () => true,
): Promise<RecordedNotification[]> {
  let found: RecordedNotification[] = [];
  await vi.waitFor(
    async () => {
      found = (await notificationsFor(subscriptionId, since)).filter((r) => r.items.some(filter));
      expect(found.length).toBeGreaterThanOrEqual(count);
    },
    { timeout: 15_000, interval: 100 },
  );
  return found;
}

/** Sends a recorded request into the Worker as Graph sent it. */
export function replay(push: RecordedPush): Promise<CallResult> {
  return post(push.body, push.query);
}

/** Posts a notification body to the webhook the way Graph does (no cookie, no Origin). */
export function post(body: string, query = ""): Promise<CallResult> {
  return call(`/webhooks/microsoft${query}`, {
    rawBody: body,
    origin: null,
    headers: { "content-type": "application/json; charset=utf-8", "user-agent": "Microsoft-Graph-ChangeTracking" },
  });
}

export interface EmulatedSubscription {
  id: string;
  resource: string;
  mailbox: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: number;
  creatorAccount: string;
  immutableIds: boolean;
  reauthorizationRequired: boolean;
}

/** The emulator's view of one subscription (undefined once it is gone). */
export async function emulatedSubscription(id: string): Promise<EmulatedSubscription | undefined> {
  const r = await emulatorAdmin("/graph/subscriptions");
  return (r.json as { subscriptions: EmulatedSubscription[] }).subscriptions.find((s) => s.id === id);
}

/** The subscription id the MailboxDO published for a mailbox, once it has one. */
export async function awaitSubscriptionId(inboxId: string, not?: string): Promise<string> {
  let id = "";
  await vi.waitFor(
    async () => {
      const row = await env.DB.prepare(`SELECT graph_subscription_id AS id FROM mailboxes WHERE id = ?`)
        .bind(inboxId)
        .first<{ id: string | null }>();
      expect(row?.id).toBeTruthy();
      expect(row!.id).not.toBe(not);
      id = row!.id!;
    },
    { timeout: 20_000, interval: 100 },
  );
  return id;
}
