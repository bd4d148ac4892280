/**
 * The partner page's loader (/embed.js):
 *
 *   <script src="https://inbox.example.com/embed.js"></script>
 *   Postroom.mount(element, { token, onTokenExpired: () => fetchNewTokenFromYourServer() });
 *
 * It puts the widget's frame inside a shadow root on `element` (so the page's CSS cannot reach it),
 * hands the frame the embed token by postMessage to Postroom's exact origin, and asks the partner's
 * page for a fresh token whenever the widget's session runs out.
 */
import { isFromWidget, type ToWidget } from "./protocol";

export interface MountOptions {
  /** The embed token the partner's server signed (at most 15 minutes). */
  token: string;
  /** Called when the token has run out; resolve with a new one to carry on. */
  onTokenExpired?: () => string | Promise<string>;
}

export interface Mounted {
  /** Hands the widget a new token (for partners that refresh on their own schedule). */
  setToken(token: string): void;
  unmount(): void;
}

// Where this script came from is where the widget lives.
const script = document.currentScript as HTMLScriptElement | null;
const postroomOrigin = new URL(script?.src ?? location.href).origin;

/** The partner id (`iss`) names the frame page; the token itself is checked by Postroom, not here. */
function partnerOf(token: string): string {
  const part = token.split(".")[1] ?? "";
  try {
    const claims = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))) as { iss?: unknown };
    if (typeof claims.iss === "string" && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(claims.iss)) return claims.iss;
  } catch {
    // Falls through to the error below.
  }
  throw new Error("Postroom.mount: the token is not a Postroom embed token");
}

export function mount(element: HTMLElement, options: MountOptions): Mounted {
  let token = options.token;
  const root = element.shadowRoot ?? element.attachShadow({ mode: "open" });
  root.replaceChildren();
  const style = document.createElement("style");
  style.textContent =
    ":host{display:block;all:initial;display:block;width:100%;height:100%}" +
    "iframe{display:block;box-sizing:border-box;width:100%;height:100%;min-height:480px;border:1px solid #d8dce3;border-radius:8px;background:#fff}";
  const frame = document.createElement("iframe");
  frame.title = "Inbox";
  frame.referrerPolicy = "no-referrer";
  frame.src = `${postroomOrigin}/widget/${partnerOf(token)}?host=${encodeURIComponent(location.origin)}`;

  const post = (message: ToWidget) => frame.contentWindow?.postMessage(message, postroomOrigin);
  const onMessage = async (event: MessageEvent) => {
    if (event.origin !== postroomOrigin || event.source !== frame.contentWindow || !isFromWidget(event.data)) return;
    if (event.data.type === "postroom:ready") post({ type: "postroom:token", token });
    else if (options.onTokenExpired) {
      token = await options.onTokenExpired();
      post({ type: "postroom:token", token });
    }
  };
  window.addEventListener("message", onMessage);
  root.append(style, frame);
  return {
    setToken(next) {
      token = next;
      post({ type: "postroom:token", token });
    },
    unmount() {
      window.removeEventListener("message", onMessage);
      root.replaceChildren();
    },
  };
}
