import { useState } from "preact/hooks";
import type { InboxView, ThreadSummaryView } from "../../../worker/contracts";
import { api, messageOf, type ThreadPage } from "../lib/api";
import { formatDateTime, formatRelative, isoDate } from "../lib/format";
import { useResource, usePageTitle } from "../lib/hooks";
import { isManager } from "../lib/roles";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";
import { EmptyState, Loading, PageHeader } from "../components/Layout";
import { Notice } from "../components/Notice";

const PAGE_SIZE = 50;

/** `/` shows the first inbox; `/inbox/:inboxId` a chosen one, so the choice survives a reload. */
export function Inbox({ inboxId }: { inboxId: string | null }) {
  usePageTitle("Inbox");
  const { me } = useSession();
  const inboxes = useResource(() => api.inboxes().then((r) => r.inboxes));
  const manager = isManager(me.user.role);
  const list = inboxes.data;
  const selected = list ? (inboxId === null ? list[0] : list.find((i) => i.id === inboxId)) : undefined;

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
              {list.map((i) => (
                <li key={i.id}>
                  <Link
                    href={`/inbox/${encodeURIComponent(i.id)}`}
                    class="inbox-link"
                    aria-current={selected?.id === i.id ? "page" : undefined}
                  >
                    <span class="inbox-link-address break">{i.address}</span>
                    {i.kind === "shared" && <span class="badge badge-accent">Shared</span>}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          {selected ? (
            <ThreadList key={selected.id} inbox={selected} />
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

function ThreadList({ inbox }: { inbox: InboxView }) {
  const first = useResource(() => api.threads(inbox.id, null, PAGE_SIZE));
  const [more, setMore] = useState<{ busy: boolean; error: unknown }>({ busy: false, error: null });
  const page = first.data;

  const loadMore = async () => {
    if (!page?.nextCursor) return;
    setMore({ busy: true, error: null });
    try {
      const next = await api.threads(inbox.id, page.nextCursor, PAGE_SIZE);
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
          {inbox.address}
        </h2>
        <button
          type="button"
          class="button button-small"
          onClick={() => void first.reload()}
          disabled={first.loading}
          aria-label={`Refresh ${inbox.address}`}
        >
          Refresh
        </button>
      </div>
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
          No conversations yet. A newly connected mailbox takes a little while to bring in its mail.
        </p>
      )}
      {page && page.threads.length > 0 && (
        <ul class="thread-list" aria-label={`Conversations in ${inbox.address}`}>
          {page.threads.map((t) => (
            <ThreadRow key={t.id} thread={t} />
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

function ThreadRow({ thread }: { thread: ThreadSummaryView }) {
  const sender = thread.from ? thread.from.name || thread.from.address : "Unknown sender";
  return (
    <li class="thread-row">
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
      </Link>
    </li>
  );
}
