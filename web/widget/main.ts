/**
 * The embedded inbox inside a partner's page. It trusts one parent: the `host` origin the loader
 * named, which must be one of the partner's registered origins (the Worker writes them into this page
 * and frame-ancestors holds the browser to them). From that window alone it takes the embed token,
 * exchanges it for a bearer token kept only in memory, and talks to /api/embed with it.
 */
import type {
  EmbedMessageView,
  EmbedSessionView,
  EmbedThreadSummary,
  EmbedThreadView,
} from "../../worker/contracts/embed";
import { isToWidget, type FromWidget } from "../embed/protocol";
import "./styles.css";

const meta = (name: string) => document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") ?? "";
const allowed = meta("postroom-origins").split(" ").filter(Boolean);
const host = new URLSearchParams(location.search).get("host") ?? "";
const ancestor = location.ancestorOrigins?.[0];
const root = document.getElementById("widget")!;

type Child = Node | string | null | false;
function h(tag: string, props: Record<string, string | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (typeof v === "function") el.addEventListener(k, v);
    else el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== false) el.append(c);
  return el;
}

const when = (ms: number) =>
  new Date(ms).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
const person = (p: { name: string; address: string } | null) => (p ? p.name || p.address : "Unknown sender");

let session: EmbedSessionView | null = null;
let renewing: Promise<void> | null = null;
let resolveRenewal: (() => void) | null = null;
let expiryTimer: ReturnType<typeof setTimeout> | undefined;

function toParent(message: FromWidget): void {
  window.parent.postMessage(message, host);
}

function show(...children: Child[]): void {
  root.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== false));
}

function notice(text: string): void {
  show(h("p", { class: "notice", role: "alert" }, text));
}

class SessionEnded extends Error {}

/** Asks the partner's page for a fresh token, once however many calls are waiting for it. */
function renew(): Promise<void> {
  session = null;
  renewing ??= new Promise<void>((resolve) => {
    resolveRenewal = resolve;
    toParent({ type: "postroom:token-expired" });
  });
  return renewing;
}

async function api<T>(path: string, body?: unknown, retry = true): Promise<T> {
  if (!session) await renew();
  const res = await fetch(`/api/embed${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${session!.accessToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && retry) {
    await renew();
    return api(path, body, false);
  }
  const json = (await res.json().catch(() => null)) as (T & { error?: { message: string } }) | null;
  if (res.status === 401) throw new SessionEnded();
  if (!res.ok) throw new Error(json?.error?.message ?? `The inbox answered ${res.status}.`);
  return json as T;
}

async function exchange(token: string): Promise<void> {
  const res = await fetch("/api/embed/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  if (res.status !== 201) {
    notice("This inbox could not be opened: the partner's sign-in was not accepted.");
    return;
  }
  const first = session === null && renewing === null && resolveRenewal === null;
  session = (await res.json()) as EmbedSessionView;
  clearTimeout(expiryTimer);
  // Ask for the next token a little before this one runs out, so nobody waits on a reply.
  expiryTimer = setTimeout(() => void renew(), Math.max(5_000, session.expiresAt - Date.now() - 30_000));
  const done = resolveRenewal;
  renewing = null;
  resolveRenewal = null;
  done?.();
  if (first) await showList();
}

function header(...extra: Child[]): HTMLElement {
  const s = session!;
  return h(
    "header",
    { class: "bar" },
    h(
      "div",
      {},
      h("strong", {}, s.inbox.name || s.inbox.address),
      h("span", { class: "muted" }, ` · ${s.partner.name}`),
    ),
    ...extra,
  );
}

async function showList(cursor?: string): Promise<void> {
  try {
    const s = session;
    const page = await api<{ threads: EmbedThreadSummary[]; nextCursor: string | null }>(
      `/threads${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    const items = page.threads.map((t) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "thread", click: () => void showThread(t.id) },
          h(
            "span",
            { class: "row" },
            h("span", { class: "strong" }, person(t.from)),
            h("span", { class: "muted" }, when(t.lastMessageAt)),
          ),
          h("span", { class: "subject" }, t.subject || "(no subject)"),
          h("span", { class: "muted snippet" }, t.snippet),
        ),
      ),
    );
    show(
      header(),
      h("h1", {}, s?.contact ? `Conversations with ${s.contact}` : "Conversations"),
      items.length > 0 ? h("ul", { class: "threads" }, ...items) : h("p", { class: "muted" }, "No conversations yet."),
      page.nextCursor &&
        h(
          "button",
          { type: "button", class: "button", click: () => void showList(page.nextCursor!) },
          "Older conversations",
        ),
    );
  } catch (err) {
    notice(
      err instanceof SessionEnded ? "Your session has ended. Reload the page to continue." : (err as Error).message,
    );
  }
}

function messageView(m: EmbedMessageView): HTMLElement {
  return h(
    "article",
    { class: "message", "aria-label": `From ${person(m.from)}` },
    h(
      "p",
      { class: "row" },
      h("span", { class: "strong" }, person(m.from)),
      h("span", { class: "muted" }, when(m.receivedAt)),
    ),
    m.sentVia && h("p", { class: "via" }, `Sent by ${m.sentVia.userName} via ${m.sentVia.partnerName}`),
    // Mail bodies usually end in a line break, which pre-wrap would show as an empty line.
    h(
      "div",
      { class: "text" },
      m.text.replace(/\s+$/, "") || (m.hasHtml ? "(This message has only a formatted version.)" : ""),
    ),
  );
}

async function showThread(threadId: string): Promise<void> {
  try {
    const t = await api<EmbedThreadView>(`/threads/${threadId}`);
    const s = session!;
    const status = h("p", { class: "status", role: "status" });
    const composer = (label: string, button: string, send: (text: string) => Promise<void>) => {
      const id = `f-${label.replace(/\W/g, "")}`;
      const area = h("textarea", { id, rows: "4", required: "" }) as HTMLTextAreaElement;
      const submit = h("button", { type: "submit", class: "button primary" }, button) as HTMLButtonElement;
      return h(
        "form",
        {
          class: "composer",
          submit: (e: Event) => {
            e.preventDefault();
            if (!area.value.trim()) return;
            submit.disabled = true;
            status.textContent = "Sending…";
            send(area.value)
              .then(() => showThread(threadId))
              .catch((err: Error) => {
                status.textContent = err.message;
                submit.disabled = false;
              });
          },
        },
        h("label", { for: id }, label),
        area,
        submit,
      );
    };
    show(
      header(h("button", { type: "button", class: "link", click: () => void showList() }, "← All conversations")),
      h("h1", {}, t.subject || "(no subject)"),
      ...t.messages.map(messageView),
      t.notes &&
        t.notes.length > 0 &&
        h(
          "section",
          { class: "notes", "aria-label": "Internal notes" },
          ...t.notes.map((n) =>
            h(
              "p",
              { class: "note" },
              h("span", { class: "strong" }, `${n.author}: `),
              n.body,
              h("span", { class: "muted" }, ` · ${when(n.createdAt)}`),
            ),
          ),
        ),
      s.permissions.includes("reply") &&
        composer("Reply", "Send reply", (text) => api(`/threads/${threadId}/reply`, { text, baseVersion: t.version })),
      s.permissions.includes("notes") &&
        composer("Internal note", "Add note", (body) => api(`/threads/${threadId}/notes`, { body })),
      status,
    );
  } catch (err) {
    notice(
      err instanceof SessionEnded ? "Your session has ended. Reload the page to continue." : (err as Error).message,
    );
  }
}

if (window.parent === window || !allowed.includes(host) || (ancestor !== undefined && ancestor !== host)) {
  notice("This inbox can only be shown inside its partner's site.");
} else {
  window.addEventListener("message", (event) => {
    // Exact equality on both the origin and the window: nothing else may hand us a token.
    if (event.origin !== host || event.source !== window.parent || !isToWidget(event.data)) return;
    void exchange(event.data.token);
  });
  show(h("p", { class: "muted" }, "Opening the inbox…"));
  toParent({ type: "postroom:ready" });
}
