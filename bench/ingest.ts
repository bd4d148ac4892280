/**
 * Webhook ingestion on one local workerd: sustained Graph change notifications per second and their
 * p99 acknowledgement latency, against a route that does nothing on the same runtime in the same run.
 * The notifications are real ones (the subscription id and clientState the emulator holds for a
 * connected mailbox), and delivery is counted where it lands: the mailbox's Durable Object.
 */
import autocannon, { type Result } from "autocannon";
import type { Client } from "./app-client";
import type { DevServer } from "../tests/browser/support/dev-server";

export interface IngestFigures {
  rps: number;
  p99_ms: number;
  ratio_to_bare: number;
  lost: number;
  sent: number;
  /** Answered with something other than 2xx (Graph would deliver those again). */
  refused: number;
  received: number;
  bare_rps: number;
  bare_p99_ms: number;
}

async function subscriptionOf(server: DevServer, address: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const sub = server
      .emulator!.admin.graphSubscriptions()
      .find((s) => s.mailbox === address && s.notificationUrl.startsWith(`${server.origin}/webhooks/microsoft`));
    if (sub?.clientState) return { id: sub.id, clientState: sub.clientState, url: sub.notificationUrl };
    if (Date.now() > deadline) throw new Error(`no Graph subscription for ${address} within 60 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function received(client: Client, inboxId: string): Promise<number> {
  const r = await client.call<{ received: number }>(`/dev/bench/inboxes/${inboxId}/notifications`);
  if (r.status !== 200) throw new Error(`notification count answered ${r.status}`);
  return r.json.received;
}

function load(url: string, body: string, seconds: number, maxRequests: number): Promise<Result> {
  return autocannon({
    url,
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", "user-agent": "Microsoft-Graph-ChangeTracking" },
    body,
    connections: 16,
    duration: seconds,
    maxOverallRequests: maxRequests,
    timeout: 10,
  });
}

export async function measureIngest(
  server: DevServer,
  client: Client,
  inboxId: string,
  address: string,
  opts: { seconds: number; maxRequests: number },
): Promise<IngestFigures> {
  const sub = await subscriptionOf(server, address);
  const notification = JSON.stringify({
    value: [
      {
        subscriptionId: sub.id,
        subscriptionExpirationDateTime: new Date(Date.now() + 3 * 24 * 3600_000).toISOString(),
        changeType: "created",
        resource: `Users/${address}/Messages/bench`,
        resourceData: { "@odata.type": "#Microsoft.Graph.Message", id: "bench" },
        clientState: sub.clientState,
        tenantId: "bench",
      },
    ],
  });
  // Warm both paths (first-request compilation, JWKS and D1 connections) outside the measurement.
  await load(`${server.origin}/dev/bench/bare`, "{}", 2, 2_000);
  // Posted where Graph posts: the subscription's own notification URL (it names the inbox).
  await load(sub.url, notification, 2, 2_000);

  const bare = await load(`${server.origin}/dev/bench/bare`, "{}", opts.seconds, opts.maxRequests);
  const before = await received(client, inboxId);
  const hooks = await load(sub.url, notification, opts.seconds, opts.maxRequests);
  // Each 202 was given after the DO took the notification; read the count until it settles anyway.
  let after = await received(client, inboxId);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const again = await received(client, inboxId);
    if (again === after) break;
    after = again;
  }
  if (hooks.non2xx > 0 || hooks.errors > 0) {
    console.warn(`webhook load: ${hooks.non2xx} non-2xx answers, ${hooks.errors} errors`, hooks.statusCodeStats);
  }
  const sent = hooks["2xx"] + hooks.non2xx + hooks.errors;
  const got = after - before;
  const rps = hooks["2xx"] / hooks.duration;
  const bareRps = bare["2xx"] / bare.duration;
  return {
    rps: Math.round(rps),
    p99_ms: hooks.latency.p99,
    ratio_to_bare: Number((rps / bareRps).toFixed(3)),
    // Acknowledged but never counted by the DO: what Graph would consider delivered and we dropped.
    lost: Math.max(0, hooks["2xx"] - got),
    sent,
    refused: hooks.non2xx + hooks.errors,
    received: got,
    bare_rps: Math.round(bareRps),
    bare_p99_ms: bare.latency.p99,
  };
}
