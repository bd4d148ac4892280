import { type Mailbox, headerValue } from "../mime/headers";
import { type ParsedMessage, collapseWhitespace, parseMessage, plainText } from "../mime/parse";
import {
  conversationGuid,
  exchangeId,
  formatConversationId,
  newConversationIndex,
  parseThreadIndex,
  subjectConversationGuid,
} from "./conversation";

export const WELL_KNOWN_FOLDERS = [
  ["inbox", "Inbox"],
  ["sentitems", "Sent Items"],
  ["drafts", "Drafts"],
  ["deleteditems", "Deleted Items"],
  ["archive", "Archive"],
  ["junkemail", "Junk Email"],
  ["outbox", "Outbox"],
] as const;

export type WellKnownFolder = (typeof WELL_KNOWN_FOLDERS)[number][0];

export interface GraphFolderState {
  id: string;
  displayName: string;
  wellKnownName: string;
  parentFolderId: string;
}

export interface GraphMessageState {
  immutableId: string;
  restId: string;
  folderId: string;
  moveCount: number;
  createdSeq: number;
  /** RFC 2822 bytes (base64); null for a draft until it is sent. */
  raw: string | null;
  subject: string;
  body: { contentType: "text" | "html"; content: string };
  bodyPreview: string;
  from: Mailbox | null;
  sender: Mailbox | null;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  internetMessageId: string;
  inReplyTo: string | null;
  references: string[];
  headers: Array<{ name: string; value: string }>;
  conversationId: string;
  conversationIndex: string;
  hasAttachments: boolean;
  /** Files added to a draft (POST .../attachments) until it is sent; then they are in `raw`. */
  draftAttachments?: GraphDraftAttachment[];
  isRead: boolean;
  isDraft: boolean;
  importance: "low" | "normal" | "high";
  flagStatus: "notFlagged" | "complete" | "flagged";
  categories: string[];
  inferenceClassification: "focused" | "other";
  receivedDateTime: number;
  sentDateTime: number;
  createdDateTime: number;
  lastModifiedDateTime: number;
  version: number;
}

export interface GraphDraftAttachment {
  id: string;
  name: string;
  contentType: string;
  /** base64 */
  contentBytes: string;
  isInline: boolean;
  contentId: string | null;
}

export type ChangeKind = "created" | "updated" | "deleted";

export interface GraphChange {
  seq: number;
  folderId: string;
  id: string;
  /** The rest id the item had in that folder, for `@removed` entries without immutable ids. */
  restId: string;
  kind: ChangeKind;
  time: number;
}

export interface GraphMailboxState {
  address: string;
  userId: string;
  tenantId: string;
  folders: Record<string, GraphFolderState>;
  messages: Record<string, GraphMessageState>;
  changeSeq: number;
  itemSeq: number;
  changes: GraphChange[];
  /** Bumped to invalidate every outstanding delta token of this mailbox. */
  deltaEpoch: number;
  /** Next delta call answers 410 Gone with a Location to restart from (tenant maintenance). */
  deltaResetPending: boolean;
  /** The next change round starts this many changes early, so the client sees replays. */
  deltaReplayChanges?: number;
}

export interface GraphMailboxChange {
  address: string;
  kind: ChangeKind;
  message: GraphMessageState;
  folderId: string;
}

function preview(text: string): string {
  return collapseWhitespace(text).slice(0, 255);
}

/** An Exchange-style mailbox: folders, per-folder change log (for delta), rest ids that follow moves. */
export class GraphMailbox {
  readonly state: GraphMailboxState;
  readonly #parsed = new Map<string, ParsedMessage>();
  readonly #onChange: (change: GraphMailboxChange) => void;

  constructor(state: GraphMailboxState, onChange: (change: GraphMailboxChange) => void) {
    this.state = state;
    this.#onChange = onChange;
  }

  static create(address: string, userId: string, tenantId: string): GraphMailboxState {
    const root = exchangeId("folder", userId, "msgfolderroot");
    const folders: Record<string, GraphFolderState> = {};
    for (const [wellKnownName, displayName] of WELL_KNOWN_FOLDERS) {
      const id = exchangeId("folder", userId, wellKnownName);
      folders[id] = { id, displayName, wellKnownName, parentFolderId: root };
    }
    return {
      address,
      userId,
      tenantId,
      folders,
      messages: {},
      changeSeq: 0,
      itemSeq: 0,
      changes: [],
      deltaEpoch: 1,
      deltaResetPending: false,
    };
  }

  get address(): string {
    return this.state.address;
  }

  folder(idOrWellKnown: string): GraphFolderState | undefined {
    const lower = idOrWellKnown.toLowerCase();
    return (
      this.state.folders[idOrWellKnown] ??
      Object.values(this.state.folders).find((f) => f.wellKnownName === lower || f.displayName.toLowerCase() === lower)
    );
  }

  folderId(wellKnown: WellKnownFolder): string {
    const f = this.folder(wellKnown);
    if (!f) throw new Error(`mailbox ${this.address} lacks ${wellKnown}`);
    return f.id;
  }

  /** Finds by current rest id or by immutable id; a rest id from before a move no longer matches. */
  find(id: string): GraphMessageState | undefined {
    const direct = this.state.messages[id];
    if (direct) return direct;
    return Object.values(this.state.messages).find((m) => m.restId === id);
  }

  inFolder(folderId: string): GraphMessageState[] {
    return Object.values(this.state.messages).filter((m) => m.folderId === folderId);
  }

  all(): GraphMessageState[] {
    return Object.values(this.state.messages);
  }

  parsed(m: GraphMessageState): ParsedMessage | undefined {
    if (!m.raw) return undefined;
    let p = this.#parsed.get(m.immutableId);
    if (!p) {
      p = parseMessage(Buffer.from(m.raw, "base64"));
      this.#parsed.set(m.immutableId, p);
    }
    return p;
  }

  #record(kind: ChangeKind, m: GraphMessageState, folderId: string, now: number): void {
    this.state.changeSeq++;
    this.state.changes.push({
      seq: this.state.changeSeq,
      folderId,
      id: m.immutableId,
      restId: m.restId,
      kind,
      time: now,
    });
    this.#onChange({ address: this.address, kind, message: m, folderId });
  }

  #restId(immutableId: string, folderId: string, moveCount: number): string {
    return exchangeId("rest", this.state.userId, immutableId, folderId, String(moveCount));
  }

  #conversation(parsed: ParsedMessage, at: number): { conversationId: string; conversationIndex: string } {
    const index =
      parseThreadIndex(headerValue(parsed.headers, "thread-index")) ??
      newConversationIndex(subjectConversationGuid(parsed.subject), at);
    return {
      conversationId: formatConversationId(this.state.userId, conversationGuid(index)),
      conversationIndex: index.toString("base64"),
    };
  }

  insert(
    raw: Buffer,
    opts: { folder: WellKnownFolder | string; receivedAt: number; now: number; isRead?: boolean; record?: boolean },
  ): GraphMessageState {
    const parsed = parseMessage(raw);
    const folder = this.folder(opts.folder);
    if (!folder) throw new Error(`unknown folder ${opts.folder}`);
    this.state.itemSeq++;
    const immutableId = exchangeId("immutable", this.state.userId, String(this.state.itemSeq), parsed.messageId ?? "");
    const html = parsed.html;
    const text = plainText(parsed);
    const sentAt = parsed.date ?? opts.receivedAt;
    const m: GraphMessageState = {
      immutableId,
      restId: this.#restId(immutableId, folder.id, 0),
      folderId: folder.id,
      moveCount: 0,
      createdSeq: 0,
      raw: raw.toString("base64"),
      subject: parsed.subject,
      body: html !== undefined ? { contentType: "html", content: html } : { contentType: "text", content: text },
      bodyPreview: preview(text),
      from: parsed.from[0] ?? null,
      sender: parsed.sender[0] ?? parsed.from[0] ?? null,
      to: parsed.to,
      cc: parsed.cc,
      bcc: parsed.bcc,
      replyTo: parsed.replyTo,
      internetMessageId: parsed.messageId ?? `<${immutableId.slice(-20)}@emulator.invalid>`,
      inReplyTo: parsed.inReplyTo[0] ?? null,
      references: parsed.references,
      headers: parsed.headers.map((h) => ({ name: h.name, value: h.value })),
      ...this.#conversation(parsed, sentAt),
      hasAttachments: parsed.attachments.some((a) => a.disposition !== "inline" || !a.contentId),
      isRead: opts.isRead ?? false,
      isDraft: false,
      importance: /high|urgent|^1/i.test(
        headerValue(parsed.headers, "importance") ?? headerValue(parsed.headers, "x-priority") ?? "",
      )
        ? "high"
        : "normal",
      flagStatus: "notFlagged",
      categories: [],
      inferenceClassification: /auto-replied|auto-generated/i.test(headerValue(parsed.headers, "auto-submitted") ?? "")
        ? "other"
        : "focused",
      receivedDateTime: opts.receivedAt,
      sentDateTime: sentAt,
      createdDateTime: opts.receivedAt,
      lastModifiedDateTime: opts.receivedAt,
      version: 1,
    };
    this.state.messages[immutableId] = m;
    this.#parsed.set(immutableId, parsed);
    if (opts.record ?? true) this.#record("created", m, folder.id, opts.now);
    m.createdSeq = this.state.changeSeq;
    return m;
  }

  /** A draft built from fields (createReply / POST messages); it has no MIME until sent. */
  insertDraft(
    fields: Partial<GraphMessageState> & Pick<GraphMessageState, "subject" | "body">,
    now: number,
  ): GraphMessageState {
    const drafts = this.folderId("drafts");
    this.state.itemSeq++;
    const immutableId = exchangeId("immutable", this.state.userId, String(this.state.itemSeq), "draft");
    const m: GraphMessageState = {
      immutableId,
      restId: this.#restId(immutableId, drafts, 0),
      folderId: drafts,
      moveCount: 0,
      createdSeq: 0,
      raw: null,
      bodyPreview: preview(fields.body.content),
      from: null,
      sender: null,
      to: [],
      cc: [],
      bcc: [],
      replyTo: [],
      internetMessageId: `<${immutableId.slice(8, 40).replace(/[^A-Za-z0-9]/g, "")}@${this.address.split("@")[1]}>`,
      inReplyTo: null,
      references: [],
      headers: [],
      conversationId: "",
      conversationIndex: "",
      hasAttachments: false,
      isRead: true,
      isDraft: true,
      importance: "normal",
      flagStatus: "notFlagged",
      categories: [],
      inferenceClassification: "focused",
      receivedDateTime: now,
      sentDateTime: now,
      createdDateTime: now,
      lastModifiedDateTime: now,
      version: 1,
      ...fields,
    };
    this.state.messages[immutableId] = m;
    this.#record("created", m, drafts, now);
    m.createdSeq = this.state.changeSeq;
    return m;
  }

  update(m: GraphMessageState, patch: Partial<GraphMessageState>, now: number): GraphMessageState {
    Object.assign(m, patch);
    if (patch.body)
      m.bodyPreview = preview(
        patch.body.contentType === "html" ? patch.body.content.replace(/<[^>]+>/g, " ") : patch.body.content,
      );
    m.version++;
    m.lastModifiedDateTime = now;
    this.#record("updated", m, m.folderId, now);
    return m;
  }

  move(m: GraphMessageState, folderId: string, now: number): GraphMessageState {
    if (m.folderId === folderId) return m;
    const from = m.folderId;
    this.#record("deleted", m, from, now);
    m.folderId = folderId;
    m.moveCount++;
    m.restId = this.#restId(m.immutableId, folderId, m.moveCount);
    m.version++;
    m.lastModifiedDateTime = now;
    this.#record("created", m, folderId, now);
    m.createdSeq = this.state.changeSeq;
    return m;
  }

  remove(m: GraphMessageState, now: number): void {
    delete this.state.messages[m.immutableId];
    this.#parsed.delete(m.immutableId);
    this.#record("deleted", m, m.folderId, now);
  }

  setRaw(m: GraphMessageState, raw: Buffer): void {
    m.raw = raw.toString("base64");
    this.#parsed.delete(m.immutableId);
  }

  changeKey(m: GraphMessageState): string {
    return Buffer.from(`CQAAABYAAAC${m.immutableId.slice(-12)}${m.version}`)
      .toString("base64")
      .slice(0, 40);
  }

  expireDelta(): void {
    this.state.deltaEpoch++;
  }
}
