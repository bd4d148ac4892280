import { randomBytes } from "node:crypto";
import { type Clock } from "../core/clock";
import { type ComposeAttachment, composeMime, stripHeader, withHeaders } from "../mime/compose";
import { type Mailbox, parseAddressList } from "../mime/headers";
import { type ParsedMessage, parseMessage } from "../mime/parse";
import { type Provider } from "./directory";
import { type Mailboxes } from "./world";

export interface Delivery {
  address: string;
  provider: Provider;
  /** Gmail message id or Graph immutable id. */
  id: string;
  /** Gmail threadId or Graph conversationId. */
  threadId: string;
}

export interface DeliveryResult {
  messageId: string | undefined;
  deliveries: Delivery[];
  /** Recipients outside the sandbox; the message is recorded in the outbox for them. */
  external: string[];
}

export const RECEIVED_LABELS = ["INBOX", "UNREAD", "CATEGORY_PERSONAL"];

export function newMessageId(domain: string): string {
  return `<${randomBytes(9).toString("base64url")}.${Date.now().toString(36)}@${domain}>`;
}

function recipientsOf(parsed: ParsedMessage): string[] {
  return [...parsed.to, ...parsed.cc, ...parsed.bcc].map((m) => m.address.toLowerCase());
}

/** Routes mail between sandbox mailboxes the way an MTA would: aliases and groups resolved, Bcc hidden. */
export class PostOffice {
  readonly #mailboxes: Mailboxes;
  readonly #clock: Clock;

  constructor(mailboxes: Mailboxes, clock: Clock) {
    this.#mailboxes = mailboxes;
    this.#clock = clock;
  }

  deliver(
    raw: Buffer,
    opts: { recipients?: string[]; via?: string; skip?: string; receivedAt?: number } = {},
  ): DeliveryResult {
    const parsed = parseMessage(raw);
    const rcpts = [...new Set((opts.recipients ?? recipientsOf(parsed)).map((r) => r.toLowerCase()))];
    const now = this.#clock.now();
    const visible = stripHeader(raw, "bcc");
    const deliveries: Delivery[] = [];
    const external: string[] = [];
    const seen = new Set<string>();
    for (const rcpt of rcpts) {
      const targets = this.#mailboxes.directory.resolveRecipient(rcpt);
      if (targets.length === 0) {
        if (!this.#mailboxes.directory.get(rcpt)) external.push(rcpt);
        continue;
      }
      for (const target of targets) {
        if (seen.has(target) || target === opts.skip) continue;
        seen.add(target);
        const copy = withHeaders(visible, [["Delivered-To", target]]);
        const gmail = this.#mailboxes.gmail(target);
        if (gmail) {
          const m = gmail.insert(copy, { labelIds: RECEIVED_LABELS, internalDate: opts.receivedAt ?? now, now });
          deliveries.push({ address: target, provider: "google", id: m.id, threadId: m.threadId });
        }
        const graph = this.#mailboxes.graph(target);
        if (graph) {
          const m = graph.insert(copy, { folder: "inbox", receivedAt: opts.receivedAt ?? now, now });
          deliveries.push({ address: target, provider: "microsoft", id: m.immutableId, threadId: m.conversationId });
        }
      }
    }
    if (external.length) {
      this.#mailboxes.recordOutbound({
        at: now,
        from: parsed.from[0]?.address ?? "",
        to: external,
        via: opts.via ?? "",
        raw: raw.toString("base64"),
      });
    }
    return { messageId: parsed.messageId, deliveries, external };
  }
}

export interface ComposeFields {
  from: string;
  to: string | string[];
  cc?: string | string[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: ComposeAttachment[];
  /** In the recipient mailbox: a Gmail threadId, a Graph conversationId, or a message id to answer. */
  replyToThread?: string;
  headers?: Array<[string, string]>;
}

function addresses(value: string | string[] | undefined): Mailbox[] {
  if (!value) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((v) => parseAddressList(v));
}

/** The message a thread reply should answer: the newest message of the thread in the given mailbox. */
export function findThreadTip(
  mailboxes: Mailboxes,
  address: string,
  threadOrMessage: string,
): ParsedMessage | undefined {
  const gmail = mailboxes.gmail(address);
  if (gmail) {
    const ids = gmail.state.threads[threadOrMessage] ?? [];
    const direct = gmail.get(threadOrMessage);
    const pick = ids.length ? ids[ids.length - 1] : direct?.id;
    return pick ? gmail.parsed(pick) : undefined;
  }
  const graph = mailboxes.graph(address);
  if (graph) {
    const direct = graph.find(threadOrMessage);
    const inConversation = graph
      .all()
      .filter((m) => m.conversationId === threadOrMessage)
      .sort((a, b) => a.receivedDateTime - b.receivedDateTime);
    const tip = inConversation[inConversation.length - 1] ?? direct;
    return tip ? graph.parsed(tip) : undefined;
  }
  return undefined;
}

export function composeFromFields(
  fields: ComposeFields,
  now: number,
  tip: ParsedMessage | undefined,
  boundarySeed = randomBytes(6).toString("hex"),
): Buffer {
  const from = parseAddressList(fields.from)[0] ?? { name: "", address: fields.from };
  const domain = from.address.split("@")[1] ?? "example.com";
  let subject = fields.subject ?? "";
  let inReplyTo: string | undefined;
  let references: string[] | undefined;
  if (tip) {
    if (!fields.subject) subject = /^re:/i.test(tip.subject) ? tip.subject : `Re: ${tip.subject}`;
    if (tip.messageId) {
      inReplyTo = tip.messageId;
      references = [...(tip.references.length ? tip.references : tip.inReplyTo), tip.messageId];
    }
  }
  return composeMime({
    from,
    to: addresses(fields.to),
    cc: addresses(fields.cc),
    subject,
    text: fields.text ?? (fields.html === undefined ? "" : undefined),
    html: fields.html,
    attachments: fields.attachments,
    messageId: newMessageId(domain),
    date: now,
    inReplyTo,
    references,
    headers: fields.headers,
    boundarySeed,
  });
}
