import { toBase64Url, escapeHtml } from "../core/encoding";
import { decodeWords } from "../mime/headers";
import { type MimePart, collapseWhitespace, plainText } from "../mime/parse";
import { type GmailMailbox, type GmailMessageState } from "../world/gmail-mailbox";

export type GmailFormat = "minimal" | "full" | "raw" | "metadata";

const ATTACHMENT_PREFIX = "ANGjdJ";

/** Gmail's attachment ids are opaque; this one encodes where the part is so attachments.get can find it. */
export function attachmentId(messageId: string, partId: string): string {
  return ATTACHMENT_PREFIX + toBase64Url(`${messageId}/${partId}`);
}

export function parseAttachmentId(id: string): { messageId: string; partId: string } | undefined {
  if (!id.startsWith(ATTACHMENT_PREFIX)) return undefined;
  const [messageId, partId] = Buffer.from(id.slice(ATTACHMENT_PREFIX.length), "base64url").toString("utf8").split("/");
  return messageId && partId !== undefined ? { messageId, partId } : undefined;
}

export function findPart(root: MimePart, partId: string): MimePart | undefined {
  if (partId === "") return root;
  let node: MimePart | undefined = root;
  for (const index of partId.split(".")) node = node?.children[Number(index)];
  return node;
}

function isAttachmentPart(part: MimePart): boolean {
  return part.filename !== "" || part.disposition === "attachment";
}

function renderPart(part: MimePart, partId: string, messageId: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    partId,
    mimeType: part.mimeType,
    filename: part.filename,
    headers: part.headers.map((h) => ({ name: h.name, value: decodeWords(h.value) })),
  };
  if (part.children.length > 0) {
    out["body"] = { size: 0 };
    out["parts"] = part.children.map((child, i) =>
      renderPart(child, partId === "" ? String(i) : `${partId}.${i}`, messageId),
    );
  } else if (isAttachmentPart(part)) {
    out["body"] = { attachmentId: attachmentId(messageId, partId), size: part.body.length };
  } else {
    out["body"] = part.body.length ? { size: part.body.length, data: toBase64Url(part.body) } : { size: 0 };
  }
  return out;
}

/** Gmail snippets are plain text with HTML entities escaped, about 200 characters. */
export function snippetOf(mailbox: GmailMailbox, id: string): string {
  const text = collapseWhitespace(plainText(mailbox.parsed(id)));
  return escapeHtml(text.length > 200 ? text.slice(0, 200) : text);
}

function withOptionalLabels(base: Record<string, unknown>, m: GmailMessageState): Record<string, unknown> {
  // Like other Gmail arrays, labelIds is left out when empty.
  return m.labelIds.length ? { ...base, labelIds: [...m.labelIds] } : base;
}

export function renderMessage(
  mailbox: GmailMailbox,
  m: GmailMessageState,
  format: GmailFormat,
  opts: { metadataHeaders?: string[]; minimalIncludesExtras: boolean },
): Record<string, unknown> {
  const base = withOptionalLabels({ id: m.id, threadId: m.threadId }, m);
  const extras = {
    snippet: snippetOf(mailbox, m.id),
    sizeEstimate: Buffer.from(m.raw, "base64").length,
    historyId: String(m.historyId),
    internalDate: String(m.internalDate),
  };
  if (format === "minimal") return opts.minimalIncludesExtras ? { ...base, ...extras } : base;
  if (format === "raw") {
    return {
      ...base,
      snippet: extras.snippet,
      sizeEstimate: extras.sizeEstimate,
      raw: toBase64Url(mailbox.rawBytes(m.id)),
      historyId: extras.historyId,
      internalDate: extras.internalDate,
    };
  }
  const parsed = mailbox.parsed(m.id);
  if (format === "metadata") {
    const wanted = opts.metadataHeaders?.map((h) => h.toLowerCase());
    const headers = parsed.headers
      .filter((h) => !wanted?.length || wanted.includes(h.name.toLowerCase()))
      .map((h) => ({ name: h.name, value: decodeWords(h.value) }));
    return {
      ...base,
      snippet: extras.snippet,
      payload: { partId: "", mimeType: parsed.root.mimeType, filename: "", headers },
      sizeEstimate: extras.sizeEstimate,
      historyId: extras.historyId,
      internalDate: extras.internalDate,
    };
  }
  return {
    ...base,
    snippet: extras.snippet,
    payload: renderPart(parsed.root, "", m.id),
    sizeEstimate: extras.sizeEstimate,
    historyId: extras.historyId,
    internalDate: extras.internalDate,
  };
}
