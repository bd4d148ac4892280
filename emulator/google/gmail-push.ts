import { type EmulatorContext } from "../context";
import { signJwt } from "../core/keys";
import { type GmailChange } from "../world/gmail-mailbox";

const ACK_STATUSES = new Set([102, 200, 201, 202, 204]);
const SERVICE_ACCOUNT_ID = "113022178146722961234";

/**
 * Cloud Pub/Sub push for Gmail watches: one wrapped-format POST per accepted mailbox change, with a
 * Google-signed OIDC token, the 1 event/s per user cap, and at-least-once retries.
 */
export class GmailPush {
  #messageSeq = 2070443601311540;
  readonly #lastSent = new Map<string, number>();
  readonly rateLimited: Array<{ address: string; historyId: number; at: number }> = [];

  constructor(private readonly ctx: EmulatorContext) {
    ctx.mailboxes.events.on("gmail", (change) => this.#onChange(change));
  }

  #onChange(change: GmailChange): void {
    const mailbox = this.ctx.mailboxes.gmail(change.address);
    const watch = mailbox?.state.watch;
    if (!mailbox || !watch) return;
    const now = this.ctx.clock.now();
    // A lapsed watch ends silently: no event, no notification.
    if (watch.expiration <= now) return;
    if (watch.labelIds.length) {
      const hit = change.labelIds.some((l) => watch.labelIds.includes(l));
      if (watch.labelFilterBehavior === "include" ? !hit : hit) return;
    }
    const cap = this.ctx.tunables.push.maxPerSecondPerUser;
    if (cap > 0) {
      const last = this.#lastSent.get(change.address);
      if (last !== undefined && now - last < 1000 / cap) {
        this.rateLimited.push({ address: change.address, historyId: change.historyId, at: now });
        return;
      }
    }
    this.#lastSent.set(change.address, now);
    this.publish(change.address, change.historyId, watch.topicName);
  }

  /** A successful watch() sends one notification straight away. */
  onWatch(address: string): void {
    const mailbox = this.ctx.mailboxes.gmail(address);
    if (!mailbox?.state.watch) return;
    this.#lastSent.set(address, this.ctx.clock.now());
    this.publish(address, mailbox.state.historyId, mailbox.state.watch.topicName);
  }

  publish(emailAddress: string, historyId: number, topicName: string): void {
    const { ctx } = this;
    const route = ctx.pubsub.routes.get(topicName);
    const url = route?.pushEndpoint ?? ctx.pubsub.defaultEndpoint;
    const audience = route?.audience ?? ctx.pubsub.audience ?? url ?? "";
    const t = ctx.tunables.push;
    const id = String(this.#messageSeq++);
    const publishTime = new Date(ctx.clock.now()).toISOString();
    // Same spacing as the payload Gmail publishes (Python json.dumps style).
    const historyValue = t.historyIdType === "number" ? String(historyId) : JSON.stringify(String(historyId));
    const json = `{"emailAddress": ${JSON.stringify(emailAddress)}, "historyId": ${historyValue}}`;
    const data = Buffer.from(json, "utf8").toString(t.dataEncoding === "base64url" ? "base64url" : "base64");
    ctx.channels.gmail.enqueue({
      id,
      url,
      isAck: (status) => ACK_STATUSES.has(status),
      build: async (attempt) => {
        const now = Math.floor(ctx.clock.now() / 1000);
        const token = await signJwt(ctx.keys.google, {
          iss: ctx.googleIssuer(),
          aud: audience,
          azp: SERVICE_ACCOUNT_ID,
          sub: SERVICE_ACCOUNT_ID,
          email: ctx.pubsub.serviceAccountEmail,
          email_verified: true,
          iat: now,
          exp: now + 3600,
        });
        const envelope: Record<string, unknown> = {
          message: { data, messageId: id, message_id: id, publishTime, publish_time: publishTime },
          subscription: route ? `${t.subscription}-${topicName.split("/").pop()}` : t.subscription,
        };
        if (t.includeDeliveryAttempt) envelope["deliveryAttempt"] = attempt;
        return {
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${token}`,
            "user-agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
          },
          body: JSON.stringify(envelope),
        };
      },
    });
  }
}
