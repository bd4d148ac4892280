/**
 * The live connection to an inbox: thread changes and who is viewing or replying where. One
 * WebSocket per inbox, reconnected with backoff; the server re-checks the session and the inbox on
 * every connect.
 */
import { useEffect, useRef } from "preact/hooks";

export type LiveEvent =
  | { type: "presence"; threadId: string; viewers: { userId: string; name: string; typing: boolean }[] }
  | { type: "thread"; threadId: string; change: "message" | "updated" | "note" }
  | { type: "pong" };

export interface LiveConnection {
  send: (
    message: { type: "view"; threadId: string | null } | { type: "typing"; threadId: string; typing: boolean },
  ) => void;
}

/**
 * Keeps a socket open to each inbox while the component is mounted. `onEvent` sees every event;
 * `onOpen` runs after each (re)connect, so the caller can say again what it is viewing.
 */
export function useLive(
  inboxIds: string[],
  onEvent: (event: LiveEvent) => void,
  onOpen?: (conn: LiveConnection) => void,
): LiveConnection {
  const handlers = useRef({ onEvent, onOpen });
  handlers.current = { onEvent, onOpen };
  const sockets = useRef<WebSocket[]>([]);
  const conn = useRef<LiveConnection>({
    send: (message) => {
      for (const ws of sockets.current) if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
    },
  });
  const key = inboxIds.join(",");

  useEffect(() => {
    if (typeof WebSocket === "undefined") return;
    let stopped = false;
    const timers: number[] = [];
    const open = (inboxId: string, attempt: number) => {
      if (stopped) return;
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${scheme}//${location.host}/api/inboxes/${encodeURIComponent(inboxId)}/live`);
      sockets.current.push(ws);
      let ping = 0;
      ws.onopen = () => {
        attempt = 0;
        ping = window.setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), 30_000);
        handlers.current.onOpen?.(conn.current);
      };
      ws.onmessage = (e) => {
        try {
          handlers.current.onEvent(JSON.parse(String(e.data)) as LiveEvent);
        } catch {
          // Not ours to handle.
        }
      };
      ws.onclose = () => {
        window.clearInterval(ping);
        sockets.current = sockets.current.filter((s) => s !== ws);
        if (stopped) return;
        const delay = Math.min(30_000, 1000 * 2 ** attempt) + Math.random() * 500;
        timers.push(window.setTimeout(() => open(inboxId, attempt + 1), delay));
      };
    };
    for (const id of inboxIds) open(id, 0);
    return () => {
      stopped = true;
      for (const t of timers) window.clearTimeout(t);
      for (const ws of sockets.current) ws.close(1000, "leaving");
      sockets.current = [];
    };
  }, [key]);

  return conn.current;
}
