import { isoSeconds } from "../core/encoding";
import { type Mailbox } from "../mime/headers";
import { htmlToText } from "../mime/parse";
import { type GraphMailbox, type GraphMessageState } from "../world/graph-mailbox";

export const MESSAGE_PROPERTIES = [
  "createdDateTime",
  "lastModifiedDateTime",
  "changeKey",
  "categories",
  "receivedDateTime",
  "sentDateTime",
  "hasAttachments",
  "internetMessageId",
  "subject",
  "bodyPreview",
  "importance",
  "parentFolderId",
  "conversationId",
  "conversationIndex",
  "isDeliveryReceiptRequested",
  "isReadReceiptRequested",
  "isRead",
  "isDraft",
  "webLink",
  "inferenceClassification",
  "body",
  "sender",
  "from",
  "toRecipients",
  "ccRecipients",
  "bccRecipients",
  "replyTo",
  "flag",
] as const;

/** Only returned when asked for with $select. */
export const SELECT_ONLY = ["internetMessageHeaders", "uniqueBody"] as const;

const ALL_SELECTABLE = new Map(["id", ...MESSAGE_PROPERTIES, ...SELECT_ONLY].map((p) => [p.toLowerCase(), p] as const));

export interface RenderOptions {
  immutableIds: boolean;
  textBody: boolean;
  /** Canonical property names from $select, or undefined for the default set. */
  select: string[] | undefined;
}

export function parseSelect(raw: string | undefined): string[] | undefined | { unknown: string } {
  if (!raw) return undefined;
  const out: string[] = [];
  for (const name of raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const canonical = ALL_SELECTABLE.get(name.toLowerCase());
    if (!canonical) return { unknown: name };
    out.push(canonical);
  }
  return out;
}

export const recipient = (m: Mailbox) => ({ emailAddress: { name: m.name || m.address, address: m.address } });

export function messageId(m: GraphMessageState, immutable: boolean): string {
  return immutable ? m.immutableId : m.restId;
}

export function etag(mailbox: GraphMailbox, m: GraphMessageState): string {
  return `W/"${mailbox.changeKey(m)}"`;
}

export function renderMessage(
  mailbox: GraphMailbox,
  m: GraphMessageState,
  opts: RenderOptions,
): Record<string, unknown> {
  const id = messageId(m, opts.immutableIds);
  const body =
    opts.textBody && m.body.contentType === "html"
      ? { contentType: "text", content: htmlToText(m.body.content) }
      : { contentType: m.body.contentType, content: m.body.content };
  const values: Record<string, unknown> = {
    createdDateTime: isoSeconds(m.createdDateTime),
    lastModifiedDateTime: isoSeconds(m.lastModifiedDateTime),
    changeKey: mailbox.changeKey(m),
    categories: [...m.categories],
    receivedDateTime: isoSeconds(m.receivedDateTime),
    sentDateTime: isoSeconds(m.sentDateTime),
    hasAttachments: m.hasAttachments,
    internetMessageId: m.internetMessageId,
    subject: m.subject,
    bodyPreview: m.bodyPreview,
    importance: m.importance,
    parentFolderId: m.folderId,
    conversationId: m.conversationId,
    conversationIndex: m.conversationIndex,
    isDeliveryReceiptRequested: m.isDraft ? false : null,
    isReadReceiptRequested: false,
    isRead: m.isRead,
    isDraft: m.isDraft,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: m.inferenceClassification,
    body,
    sender: m.sender ? recipient(m.sender) : null,
    from: m.from ? recipient(m.from) : null,
    toRecipients: m.to.map(recipient),
    ccRecipients: m.cc.map(recipient),
    bccRecipients: m.bcc.map(recipient),
    replyTo: m.replyTo.map(recipient),
    flag: { flagStatus: m.flagStatus },
    internetMessageHeaders: m.headers.map((h) => ({ name: h.name, value: h.value })),
    uniqueBody: body,
  };
  const out: Record<string, unknown> = { "@odata.etag": etag(mailbox, m), id };
  const names = opts.select ?? MESSAGE_PROPERTIES;
  for (const name of names) if (name !== "id") out[name] = values[name];
  return out;
}
