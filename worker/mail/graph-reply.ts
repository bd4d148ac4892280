/**
 * A reply through Microsoft Graph the way Outlook sends one: createReply on the message answered
 * (Exchange sets In-Reply-To, References and Thread-Index and keeps the conversation), then the
 * draft's recipients, subject and body are replaced with exactly what the user chose, the files are
 * added to it, and it is sent. With immutable ids the draft's id is the id of the Sent Items copy the
 * sync will see, so the stored copy and the synced one are the same record.
 */
import type { GraphClient, GraphFailure } from "../providers/graph";
import type { Outgoing } from "./compose";

export interface GraphReplySent {
  /** The immutable id of the message, in Drafts before the send and in Sent Items after. */
  id: string;
  /** The Message-ID Exchange gave the reply, without angle brackets. */
  rfcMessageId: string;
  conversationId: string | null;
}

export type GraphReplyResult = { ok: true; value: GraphReplySent } | GraphFailure;

/** Exchange's Message-IDs are `<local@domain>`; anything else is not something to store or reuse. */
const MESSAGE_ID = /^<([^<>\s\0]+@[^<>\s\0]+)>$/;

export async function sendGraphReply(
  graph: GraphClient,
  parentId: string,
  message: Pick<Outgoing, "to" | "cc" | "bcc" | "subject" | "text" | "attachments">,
): Promise<GraphReplyResult> {
  const draft = await graph.createReply(parentId);
  if (!draft.ok) return draft;
  const rfc = MESSAGE_ID.exec(draft.value.internetMessageId)?.[1];
  const abandon = async (failure: GraphFailure): Promise<GraphFailure> => {
    // Best effort: a half-made draft must not be sent later from Outlook by mistake.
    await graph.deleteMessage(draft.value.id);
    return failure;
  };
  if (!rfc) {
    return abandon({ ok: false, kind: "unavailable", status: 502, retryAfterMs: null, code: "unexpected_shape" });
  }
  const updated = await graph.updateDraft(draft.value.id, message);
  if (!updated.ok) return abandon(updated);
  for (const file of message.attachments ?? []) {
    const added = await graph.addDraftAttachment(draft.value.id, file);
    if (!added.ok) return abandon(added);
  }
  const sent = await graph.sendDraft(draft.value.id);
  // Only a clear refusal leaves the draft unsent; after a timeout or 5xx it may be in Sent Items already.
  if (!sent.ok) return sent.status >= 400 && sent.status < 500 ? abandon(sent) : sent;
  return {
    ok: true,
    value: { id: draft.value.id, rfcMessageId: rfc, conversationId: draft.value.conversationId ?? null },
  };
}
