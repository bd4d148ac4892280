import { useRef, useState } from "preact/hooks";
import type { InboxView, ThreadStatus, ThreadSummaryView } from "../../../worker/contracts";
import { api, messageOf, type ThreadFilters, type ThreadPage, type ThreadScope } from "../lib/api";
import { formatDateTime, formatRelative, isoDate } from "../lib/format";
import { useResource, usePageTitle } from "../lib/hooks";
import { useLive } from "../lib/live";
import { moveFocus, useShortcuts } from "../lib/shortcuts";
import { canSend, isManager } from "../lib/roles";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";
import { EmptyState, Loading, PageHeader } from "../components/Layout";
import { Notice } from "../components/Notice";
import { NewMessage } from "./NewMessage";
import { STATUS_LABELS } from "./thread/ThreadActions";
import { HEALTH_LABELS } from "../lib/connections";

const PAGE_SIZE = 50;

type View = { kind: "all" } | { kind: "assigned" } | { kind: "inbox"; inbox: InboxView };

/**
 * `/` shows every inbox the user may use, `/inbox/assigned` what is assigned to them, and
 * `/inbox/:inboxId` one inbox; the choice lives in the address so it survives a reload.
 */
export function Inbox({ inboxId }: { inboxId: string | null }) {
  usePageTitle("Inbox");
  const { me } = useSession();
  const inboxes = useResource(() => api.inboxes().then((r) => r.inboxes));
  const manager = isManager(me.user.role);
  const list = inboxes.data;
  const found = list && inboxId && inboxId !== "assigned" ? list.find((i) => i.id === inboxId) : undefined;
  const view: View | undefined =
    inboxId === null
      ? { kind: "all" }
      : inboxId === "assigned"
        ? { kind: "assigned" }
        : found && { kind: "inbox", inbox: found };
  const viewKey = view ? (view.kind === "inbox" ? view.inbox.id : view.kind) : "none";

  return (
    <>
      <PageHeader title="Inbox" />
      {inboxes.loading && !list && <Loading label="Loading inboxes…" />}
      {inboxes.error !== null && (
        <Notice tone="error" title="Could not load inboxes">
          <p>{messageOf(inboxes.error)}</p>
          <button type="button" class="button button-small" onClick={() => void inboxes.reload()}>
            Try again
          </button>
        </Notice>
      )}
      {list?.length === 0 && (
        <EmptyState title="No inboxes connected yet">
          {manager ? (
            <p>
              Connect the team’s mailboxes from <Link href="/settings/connections">Settings › Inbox connections</Link>.
              Once a mailbox is connected, its conversations appear here.
            </p>
          ) : (
            <p>
              An owner or admin connects the team’s mailboxes. When one is shared with you, its conversations appear
              here.
            </p>
          )}
        </EmptyState>
      )}
      {list && list.length > 0 && (
        <div class="inbox-layout">
          <nav class="inbox-nav" aria-label="Inboxes">
            <ul class="inbox-nav-list">
              <li>
                <Link href="/" class="inbox-link" aria-current={viewKey === "all" ? "page" : undefined}>
                  <span class="inbox-link-address">All inboxes</span>
                </Link>
              </li>
              <li>
                <Link
                  href="/inbox/assigned"
                  class="inbox-link"
                  aria-current={viewKey === "assigned" ? "page" : undefined}
                >
                  <span class="inbox-link-address">Assigned to me</span>
                </Link>
              </li>
              {list.map((i) => (
                <li key={i.id}>
                  <Link
                    href={`/inbox/${encodeURIComponent(i.id)}`}
                    class="inbox-link"
                    aria-current={viewKey === i.id ? "page" : undefined}
                  >
                    <span
                      class={`health-dot health-dot-${i.health}`}
                      title={HEALTH_LABELS[i.health]}
                      role="img"
                      aria-label={HEALTH_LABELS[i.health]}
                    />
                    <span class="inbox-link-address break">
                      {/* A long address breaks after its @ first, not at whichever letter reaches the edge. */}
                      {i.address.slice(0, i.address.lastIndexOf("@") + 1)}
                      <wbr />
                      {i.address.slice(i.address.lastIndexOf("@") + 1)}
                    </span>
                    {i.kind === "shared" && <span class="badge badge-accent">Shared</span>}
                    {i.unread > 0 && (
                      <span class="count" title={`${i.unread} unread`}>
                        {i.unread}
                        <span class="visually-hidden"> unread</span>
                      </span>
                    )}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          {view ? (
            <ThreadList key={viewKey} view={view} inboxes={list} />
          ) : (
            <Notice tone="warning" title="This inbox is not available">
              <p>
                It may have been disconnected, or you no longer have access to it. Choose another inbox from the list.
              </p>
            </Notice>
          )}
        </div>
      )}
    </>
  );
}

const viewTitle = (v: View) =>
  v.kind === "all" ? "All inboxes" : v.kind === "assigned" ? "Assigned to me" : v.inbox.address;
const scopeOf = (v: View): ThreadScope => (v.kind === "inbox" ? { inboxId: v.inbox.id } : { view: v.kind });

function ThreadList({ view, inboxes }: { view: View; inboxes: InboxView[] }) {
  const [filters, setFilters] = useState<ThreadFilters>({ status: "open" });
  const [query, setQuery] = useState("");
  const first = useResource(() => api.threads(scopeOf(view), filters, null, PAGE_SIZE), JSON.stringify(filters));
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const page = first.data;
  const title = viewTitle(view);
  const reloadTimer = useRef(0);
  const [composing, setComposing] = useState(false);
  // j/k move through the conversations, Enter opens one (it is a link), / goes to search.
  useShortcuts({
    j: () => moveFocus(".thread-list .thread-link", 1),
    k: () => moveFocus(".thread-list .thread-link", -1),
    "/": () => document.getElementById("thread-search")?.focus(),
  });
  const { me } = useSession();
  useLive(view.kind === "inbox" ? [view.inbox.id] : inboxes.map((i) => i.id), (e) => {
    if (e.type !== "thread") return;
    // A burst of changes (a backfill, a busy morning) reloads the first page once.
    window.clearTimeout(reloadTimer.current);
    reloadTimer.current = window.setTimeout(() => void first.reload(), 500);
  });

  const loadMore = async () => {
    if (!page?.nextCursor) return;
    setMore({ busy: true, error: null });
    try {
      const next = await api.threads(scopeOf(view), filters, page.nextCursor, PAGE_SIZE);
      first.setData((current: ThreadPage | null) =>
        current ? { threads: [...current.threads, ...next.threads], nextCursor: next.nextCursor } : next,
      );
      setMore({ busy: false, error: null });
    } catch (err) {
      setMore({ busy: false, error: err });
    }
  };

  return (
    <section class="panel thread-panel" aria-labelledby="thread-panel-title">
      <div class="panel-header">
        <h2 id="thread-panel-title" class="thread-panel-title break">
          {title}
        </h2>
        <button
          type="button"
          class="button button-small"
          onClick={() => void first.reload()}
          disabled={first.loading}
          aria-label={`Refresh ${title}`}
        >
          Refresh
        </button>
        {view.kind === "inbox" && canSend(me.user.role) && !composing && (
          <button type="button" class="button button-small button-primary" onClick={() => setComposing(true)}>
            New message
          </button>
        )}
      </div>
      {composing && view.kind === "inbox" && <NewMessage inbox={view.inbox} onCancel={() => setComposing(false)} />}
      <form
        class="thread-filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ ...filters, q: query });
        }}
      >
        <label class="visually-hidden" for="thread-search">
          Search conversations
        </label>
        <input
          id="thread-search"
          class="input input-small grow"
          type="search"
          maxLength={500}
          placeholder="Search: words, from:, subject:, has:attachment, tag:…"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
        <label class="inline-field">
          <span>Status</span>
          <select
            class="select select-small"
            value={filters.status ?? ""}
            onChange={(e) => {
              const v = e.currentTarget.value as ThreadStatus | "";
              setFilters({ ...filters, ...(v ? { status: v } : { status: undefined }) });
            }}
          >
            <option value="open">Open</option>
            <option value="pending">Pending</option>
            <option value="snoozed">Snoozed</option>
            <option value="closed">Closed</option>
            <option value="">Any</option>
          </select>
        </label>
        <label class="inline-field">
          <input
            type="checkbox"
            checked={filters.unread === true}
            onChange={(e) => setFilters({ ...filters, unread: e.currentTarget.checked || undefined })}
          />
          <span>Unread only</span>
        </label>
      </form>
      {first.loading && !page && <Loading label="Loading conversations…" />}
      {first.error !== null && (
        <div class="panel-body">
          <Notice tone="error" title="Could not load conversations">
            <p>{messageOf(first.error)}</p>
            <button type="button" class="button button-small" onClick={() => void first.reload()}>
              Try again
            </button>
          </Notice>
        </div>
      )}
      {page?.threads.length === 0 && (
        <p class="panel-body muted">
          {filters.q || filters.unread || filters.status !== "open"
            ? "No conversation matches these filters."
            : view.kind === "assigned"
              ? "Nothing is assigned to you."
              : view.kind === "inbox" && view.inbox.provider === "hosted"
                ? `No open conversations. ${view.inbox.address} has no history from before it was created: mail sent to it appears here as it arrives.`
                : "No open conversations. A newly connected mailbox takes a little while to bring in its mail."}
        </p>
      )}
      {page && page.threads.length > 0 && (
        <ul class="thread-list" aria-label={`Conversations in ${title}`}>
          {page.threads.map((t) => (
            <ThreadRow key={t.id} thread={t} inboxes={view.kind === "inbox" ? [] : inboxes} />
          ))}
        </ul>
      )}
      {page?.nextCursor && (
        <div class="load-more thread-load-more">
          <button type="button" class="button" onClick={() => void loadMore()} disabled={more.busy}>
            {more.busy ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
      {more.error !== null && (
        <div class="panel-body">
          <Notice tone="error">
            <p>{messageOf(more.error)}</p>
          </Notice>
        </div>
      )}
    </section>
  );
}

function ThreadRow({ thread, inboxes }: { thread: ThreadSummaryView; inboxes: InboxView[] }) {
  const sender = thread.from ? thread.from.name || thread.from.address : "Unknown sender";
  const where = inboxes.filter((i) => thread.inboxIds.includes(i.id)).map((i) => i.address);
  return (
    <li class={`thread-row${thread.unread ? " thread-unread" : ""}`}>
      <Link href={`/threads/${encodeURIComponent(thread.id)}`} class="thread-link">
        <span class="thread-line">
          <span class="thread-from strong">{sender}</span>
          {thread.messageCount > 1 && (
            <span class="count" title={`${thread.messageCount} messages`}>
              {thread.messageCount}
              <span class="visually-hidden"> messages</span>
            </span>
          )}
          <time
            class="thread-time muted"
            dateTime={isoDate(thread.lastMessageAt)}
            title={formatDateTime(thread.lastMessageAt)}
          >
            {formatRelative(thread.lastMessageAt)}
          </time>
        </span>
        <span class="thread-subject">{thread.subject || "(no subject)"}</span>
        {thread.snippet && <span class="thread-snippet muted">{thread.snippet}</span>}
        <span class="thread-meta">
          {thread.unread && <span class="badge badge-accent">Unread</span>}
          {thread.status !== "open" && (
            <span class={`badge badge-status-${thread.status}`}>{STATUS_LABELS[thread.status]}</span>
          )}
          {thread.assignee && <span class="muted">→ {thread.assignee.name || thread.assignee.email}</span>}
          {thread.tags.map((tag) => (
            <span key={tag} class="tag">
              {tag}
            </span>
          ))}
          {where.length > 0 && <span class="muted break">{where.join(", ")}</span>}
        </span>
      </Link>
    </li>
  );
}
