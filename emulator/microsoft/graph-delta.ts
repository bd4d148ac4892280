import { type GraphMailbox, type GraphMessageState } from "../world/graph-mailbox";

/**
 * Delta state lives in the token itself (like Graph's opaque tokens), so outstanding delta links
 * survive a dev restart; the mailbox epoch lets the emulator expire all of them at once.
 */
export interface DeltaToken {
  v: 1;
  mb: string;
  f: string;
  e: number;
  /** Issued at (emulator clock). */
  t: number;
  /** Baseline change sequence: the changes after it are what the next round returns. */
  s: number;
  /** Upper bound of the round in progress (skiptoken pages). */
  to?: number;
  /** Offset within the round (skiptoken pages). */
  o?: number;
  /** "i" = initial enumeration, "c" = changes since s. */
  p: "i" | "c";
  sel?: string;
  ct?: string[];
  from?: number;
  ps?: number;
  top?: number;
}

export function encodeDeltaToken(t: DeltaToken): string {
  return Buffer.from(JSON.stringify(t)).toString("base64url");
}

export function decodeDeltaToken(raw: string): DeltaToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as DeltaToken;
    return t && t.v === 1 && typeof t.mb === "string" && typeof t.f === "string" ? t : undefined;
  } catch {
    return undefined;
  }
}

export type DeltaItem =
  { kind: "present"; message: GraphMessageState } | { kind: "removed"; id: string; restId: string };

/** All items of one round, in a stable order; paging slices this list. */
export function roundItems(mailbox: GraphMailbox, token: DeltaToken, to: number, cap: number): DeltaItem[] {
  const inWindow = (m: GraphMessageState) => token.from === undefined || m.receivedDateTime >= token.from;
  if (token.p === "i") {
    let present = mailbox
      .inFolder(token.f)
      .filter((m) => m.createdSeq <= to && inWindow(m))
      .sort((a, b) => b.receivedDateTime - a.receivedDateTime || (a.immutableId < b.immutableId ? -1 : 1));
    if (token.from !== undefined) present = present.slice(0, cap);
    return present.map((message) => ({ kind: "present", message }));
  }
  const latest = new Map<string, { first: string; restId: string; lastSeq: number }>();
  for (const ch of mailbox.state.changes) {
    if (ch.folderId !== token.f || ch.seq <= token.s || ch.seq > to) continue;
    const prev = latest.get(ch.id);
    latest.set(ch.id, { first: prev?.first ?? ch.kind, restId: ch.restId, lastSeq: ch.seq });
  }
  const items: Array<DeltaItem & { seq: number }> = [];
  for (const [id, info] of latest) {
    const m = mailbox.state.messages[id];
    const here = m && m.folderId === token.f;
    const kind = here ? (info.first === "created" ? "created" : "updated") : "deleted";
    if (token.ct && !token.ct.includes(kind)) continue;
    if (here) {
      if (!inWindow(m)) continue;
      items.push({ kind: "present", message: m, seq: info.lastSeq });
    } else if (info.first !== "created") {
      // Created and gone again within one round: the client never saw it, so nothing to remove.
      items.push({ kind: "removed", id, restId: info.restId, seq: info.lastSeq });
    }
  }
  return items.sort((a, b) => a.seq - b.seq);
}
