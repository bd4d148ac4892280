/**
 * The messages between a partner page (the loader) and the widget's frame. Each side posts only to
 * the other's exact origin and accepts a message only from that origin and that window, with a shape
 * checked field by field; nothing received is ever parsed as HTML.
 */
export type ToWidget = { type: "postroom:token"; token: string };
export type FromWidget = { type: "postroom:ready" } | { type: "postroom:token-expired" };

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function isToWidget(data: unknown): data is ToWidget {
  if (typeof data !== "object" || data === null) return false;
  const d = data as Record<string, unknown>;
  return (
    Object.keys(d).length === 2 &&
    d["type"] === "postroom:token" &&
    typeof d["token"] === "string" &&
    d["token"].length <= 8192 &&
    TOKEN.test(d["token"])
  );
}

export function isFromWidget(data: unknown): data is FromWidget {
  if (typeof data !== "object" || data === null) return false;
  const d = data as Record<string, unknown>;
  return Object.keys(d).length === 1 && (d["type"] === "postroom:ready" || d["type"] === "postroom:token-expired");
}
