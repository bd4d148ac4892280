import { createHash } from "node:crypto";
import { type ParsedMessage, baseSubject, parseMessage } from "../mime/parse";

export const GMAIL_SYSTEM_LABELS = [
  "INBOX",
  "SENT",
  "DRAFT",
  "SPAM",
  "TRASH",
  "UNREAD",
  "STARRED",
  "IMPORTANT",
  "CHAT",
  "CATEGORY_PERSONAL",
  "CATEGORY_SOCIAL",
  "CATEGORY_PROMOTIONS",
  "CATEGORY_UPDATES",
  "CATEGORY_FORUMS",
] as const;

export interface GmailMessageState {
  id: string;
  threadId: string;
  labelIds: string[];
  historyId: number;
  internalDate: number;
  /** The RFC 2822 bytes, base64. */
  raw: string;
}

export type HistoryKind = "messageAdded" | "messageDeleted" | "labelAdded" | "labelRemoved";

export interface HistoryEntry {
  id: number;
  time: number;
  kind: HistoryKind;
  message: { id: string; threadId: string; labelIds: string[] };
  labelIds?: string[];
}

export interface GmailWatchState {
  topicName: string;
  labelIds: string[];
  labelFilterBehavior: "include" | "exclude";
  expiration: number;
  historyId: number;
}

export interface GmailMailboxState {
  address: string;
  historyId: number;
  /** A startHistoryId below this has lost records (retention or an injected expiry): 404. */
  historyFloor: number;
  seq: number;
  messages: Record<string, GmailMessageState>;
  /** Thread id to message ids, oldest first. */
  threads: Record<string, string[]>;
  history: HistoryEntry[];
  userLabels: Record<string, { id: string; name: string }>;
  watch: GmailWatchState | null;
}

export interface GmailChange {
  address: string;
  historyId: number;
  /** Labels of the touched messages (after the change), for watch label filters. */
  labelIds: string[];
}

/** A Gmail-style mailbox: immutable message ids, label sets, per-mailbox threads and gapped history ids. */
export class GmailMailbox {
  readonly state: GmailMailboxState;
  readonly #parsed = new Map<string, ParsedMessage>();
  #byMessageId: Map<string, string> | null = null;
  readonly #onChange: (change: GmailChange) => void;

  constructor(state: GmailMailboxState, onChange: (change: GmailChange) => void) {
    this.state = state;
    this.#onChange = onChange;
  }

  static create(address: string, startHistoryId: number): GmailMailboxState {
    return {
      address,
      historyId: startHistoryId,
      historyFloor: startHistoryId,
      seq: 0,
      messages: {},
      threads: {},
      history: [],
      userLabels: {},
      watch: null,
    };
  }

  get address(): string {
    return this.state.address;
  }

  parsed(id: string): ParsedMessage {
    let p = this.#parsed.get(id);
    if (!p) {
      const m = this.state.messages[id];
      if (!m) throw new Error(`no message ${id}`);
      p = parseMessage(Buffer.from(m.raw, "base64"));
      this.#parsed.set(id, p);
    }
    return p;
  }

  rawBytes(id: string): Buffer {
    const m = this.state.messages[id];
    if (!m) throw new Error(`no message ${id}`);
    return Buffer.from(m.raw, "base64");
  }

  get(id: string): GmailMessageState | undefined {
    return this.state.messages[id];
  }

  all(): GmailMessageState[] {
    return Object.values(this.state.messages);
  }

  labelExists(id: string): boolean {
    return (GMAIL_SYSTEM_LABELS as readonly string[]).includes(id) || id in this.state.userLabels;
  }

  #messageIdIndex(): Map<string, string> {
    if (!this.#byMessageId) {
      this.#byMessageId = new Map();
      for (const m of this.all()) {
        const mid = this.parsed(m.id).messageId;
        if (mid) this.#byMessageId.set(mid, m.id);
      }
    }
    return this.#byMessageId;
  }

  findByMessageId(messageId: string): GmailMessageState | undefined {
    const normalized = messageId.startsWith("<") ? messageId : `<${messageId}>`;
    const id = this.#messageIdIndex().get(normalized);
    return id ? this.state.messages[id] : undefined;
  }

  /** History ids grow by a small, deterministic gap so clients never assume they are contiguous. */
  #nextHistoryId(): number {
    const gap = 1 + (createHash("sha1").update(`${this.address}:${this.state.historyId}`).digest()[0]! % 9);
    this.state.historyId += gap;
    return this.state.historyId;
  }

  #newMessageId(internalDate: number): string {
    for (;;) {
      this.state.seq++;
      const id = (BigInt(Math.max(0, Math.floor(internalDate))) * 4096n + BigInt(this.state.seq % 4096))
        .toString(16)
        .padStart(16, "0");
      if (!(id in this.state.messages)) return id;
    }
  }

  /**
   * Gmail puts a message into an existing thread only when it references a message of that thread
   * and the subject matches; a sent message also needs the caller's threadId.
   */
  #chooseThread(parsed: ParsedMessage, requestedThreadId: string | undefined, sent: boolean): string | undefined {
    const refs = [...parsed.references, ...parsed.inReplyTo];
    const subject = baseSubject(parsed.subject);
    const candidates = new Set<string>();
    for (const ref of refs) {
      const hit = this.findByMessageId(ref);
      if (hit) candidates.add(hit.threadId);
    }
    const matches = (threadId: string) => {
      const first = this.state.threads[threadId]?.[0];
      return first !== undefined && baseSubject(this.parsed(first).subject) === subject;
    };
    if (sent) {
      if (requestedThreadId && candidates.has(requestedThreadId) && matches(requestedThreadId))
        return requestedThreadId;
      return undefined;
    }
    for (const threadId of candidates) if (matches(threadId)) return threadId;
    return undefined;
  }

  insert(
    raw: Buffer,
    opts: {
      labelIds: string[];
      internalDate: number;
      now?: number;
      threadId?: string;
      sent?: boolean;
      recordHistory?: boolean;
    },
  ): GmailMessageState {
    const parsed = parseMessage(raw);
    const id = this.#newMessageId(opts.internalDate);
    const threadId = this.#chooseThread(parsed, opts.threadId, opts.sent ?? false) ?? id;
    const record = opts.recordHistory ?? true;
    const historyId = this.#nextHistoryId();
    // Seeded mail predates every history record a client can ask for.
    if (!record) this.state.historyFloor = historyId;
    const message: GmailMessageState = {
      id,
      threadId,
      labelIds: [...new Set(opts.labelIds)],
      historyId,
      internalDate: opts.internalDate,
      raw: raw.toString("base64"),
    };
    this.state.messages[id] = message;
    (this.state.threads[threadId] ??= []).push(id);
    this.#parsed.set(id, parsed);
    if (parsed.messageId) this.#messageIdIndex().set(parsed.messageId, id);
    if (record) {
      this.state.history.push({
        id: historyId,
        time: opts.now ?? opts.internalDate,
        kind: "messageAdded",
        message: { id, threadId, labelIds: [...message.labelIds] },
      });
      this.#onChange({ address: this.address, historyId, labelIds: message.labelIds });
    }
    return message;
  }

  modify(id: string, add: string[], remove: string[], now: number): GmailMessageState | undefined {
    const m = this.state.messages[id];
    if (!m) return undefined;
    const added = add.filter((l) => !m.labelIds.includes(l));
    const removed = remove.filter((l) => m.labelIds.includes(l) && !add.includes(l));
    if (added.length === 0 && removed.length === 0) return m;
    m.labelIds = m.labelIds.filter((l) => !removed.includes(l)).concat(added);
    if (added.length) {
      m.historyId = this.#nextHistoryId();
      this.state.history.push({
        id: m.historyId,
        time: now,
        kind: "labelAdded",
        message: this.#ref(m),
        labelIds: added,
      });
    }
    if (removed.length) {
      m.historyId = this.#nextHistoryId();
      this.state.history.push({
        id: m.historyId,
        time: now,
        kind: "labelRemoved",
        message: this.#ref(m),
        labelIds: removed,
      });
    }
    this.#onChange({ address: this.address, historyId: m.historyId, labelIds: [...m.labelIds, ...removed] });
    return m;
  }

  delete(id: string, now: number): boolean {
    const m = this.state.messages[id];
    if (!m) return false;
    delete this.state.messages[id];
    const thread = (this.state.threads[m.threadId] ?? []).filter((x) => x !== id);
    if (thread.length) this.state.threads[m.threadId] = thread;
    else delete this.state.threads[m.threadId];
    const mid = this.#parsed.get(id)?.messageId;
    if (mid) this.#byMessageId?.delete(mid);
    this.#parsed.delete(id);
    const historyId = this.#nextHistoryId();
    this.state.history.push({ id: historyId, time: now, kind: "messageDeleted", message: this.#ref(m) });
    this.#onChange({ address: this.address, historyId, labelIds: m.labelIds });
    return true;
  }

  #ref(m: GmailMessageState) {
    return { id: m.id, threadId: m.threadId, labelIds: [...m.labelIds] };
  }

  /** Drops records older than the retention; a start id before the newest dropped record is then invalid. */
  prune(now: number, retentionMs: number): void {
    const cutoff = now - retentionMs;
    let dropped = 0;
    for (const h of this.state.history) {
      if (h.time >= cutoff) break;
      this.state.historyFloor = Math.max(this.state.historyFloor, h.id);
      dropped++;
    }
    if (dropped) this.state.history.splice(0, dropped);
  }

  /** Every cursor handed out so far becomes invalid; getProfile then gives a fresh, valid one. */
  expireHistory(): void {
    this.#nextHistoryId();
    this.state.historyFloor = this.state.historyId;
    this.state.history = [];
  }

  threadIds(): string[] {
    return Object.keys(this.state.threads);
  }
}
