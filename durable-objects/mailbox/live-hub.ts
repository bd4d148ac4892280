/**
 * Live updates and presence for one inbox, on the MailboxDO's WebSockets (hibernation API: an idle
 * socket costs nothing, and the object may sleep between messages).
 *
 * Each socket carries who it is (set by the Worker after the session and inbox checks) and what its
 * user is doing: the thread they are viewing and whether they are typing a reply there. Any change is
 * broadcast to every socket of the inbox as the thread's presence; changes to threads (new mail,
 * status, assignment, notes) are broadcast as `thread` events so open views refresh without reload.
 */
import { z } from "zod";

export interface Viewer {
  userId: string;
  name: string;
  threadId: string | null;
  typing: boolean;
}

export type LiveEvent =
  | { type: "presence"; threadId: string; viewers: { userId: string; name: string; typing: boolean }[] }
  | { type: "thread"; threadId: string; change: "message" | "updated" | "note" };

const clientMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("view"), threadId: z.string().max(40).nullable() }).strict(),
  z.object({ type: z.literal("typing"), threadId: z.string().max(40), typing: z.boolean() }).strict(),
  z.object({ type: z.literal("ping") }).strict(),
]);

/** Larger client messages are refused without being parsed. */
const MAX_CLIENT_MESSAGE = 1024;

export class LiveHub {
  constructor(private readonly ctx: DurableObjectState) {}

  /** Accepts a socket for a user the Worker has already authenticated and authorized for this inbox. */
  accept(user: { userId: string; name: string }): Response {
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [user.userId]);
    const viewer: Viewer = { userId: user.userId, name: user.name, threadId: null, typing: false };
    server.serializeAttachment(viewer);
    return new Response(null, { status: 101, webSocket: client });
  }

  onMessage(ws: WebSocket, data: string | ArrayBuffer): void {
    if (typeof data !== "string" || data.length > MAX_CLIENT_MESSAGE) {
      ws.close(1009, "message too large or not text");
      return;
    }
    let parsed: z.infer<typeof clientMessage>;
    try {
      const result = clientMessage.safeParse(JSON.parse(data));
      if (!result.success) return;
      parsed = result.data;
    } catch {
      return;
    }
    if (parsed.type === "ping") {
      ws.send(JSON.stringify({ type: "pong" }));
      return;
    }
    const viewer = ws.deserializeAttachment() as Viewer;
    const before = viewer.threadId;
    const next: Viewer =
      parsed.type === "view"
        ? { ...viewer, threadId: parsed.threadId, typing: false }
        : { ...viewer, threadId: parsed.threadId, typing: parsed.typing };
    ws.serializeAttachment(next);
    if (before && before !== next.threadId) this.#presence(before);
    if (next.threadId) this.#presence(next.threadId);
  }

  onClose(ws: WebSocket): void {
    const viewer = ws.deserializeAttachment() as Viewer | null;
    try {
      ws.close(1000, "bye");
    } catch {
      // Already closed.
    }
    if (viewer?.threadId) this.#presence(viewer.threadId, ws);
  }

  /** Tells every open view of the inbox that a thread changed. */
  threadChanged(threadId: string, change: "message" | "updated" | "note"): void {
    this.#broadcast({ type: "thread", threadId, change });
  }

  #presence(threadId: string, leaving?: WebSocket): void {
    const viewers = this.ctx
      .getWebSockets()
      .filter((ws) => ws !== leaving)
      .map((ws) => ws.deserializeAttachment() as Viewer)
      .filter((v) => v.threadId === threadId);
    // One entry per person, typing if any of their tabs is.
    const people = new Map<string, { userId: string; name: string; typing: boolean }>();
    for (const v of viewers) {
      const seen = people.get(v.userId);
      people.set(v.userId, { userId: v.userId, name: v.name, typing: (seen?.typing ?? false) || v.typing });
    }
    this.#broadcast({ type: "presence", threadId, viewers: [...people.values()] }, leaving);
  }

  #broadcast(event: LiveEvent, except?: WebSocket): void {
    const text = JSON.stringify(event);
    for (const ws of this.ctx.getWebSockets()) {
      if (ws === except) continue;
      try {
        ws.send(text);
      } catch {
        // A socket closing at this moment; its close handler tidies up.
      }
    }
  }
}
