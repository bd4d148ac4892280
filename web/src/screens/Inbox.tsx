import { api, messageOf } from "../lib/api";
import { PROVIDER_LABELS } from "../lib/connections";
import { useResource, usePageTitle } from "../lib/hooks";
import { isManager } from "../lib/roles";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";
import { EmptyState, Loading, PageHeader } from "../components/Layout";
import { Notice } from "../components/Notice";

export function Inbox() {
  usePageTitle("Inbox");
  const { me } = useSession();
  const inboxes = useResource(() => api.inboxes().then((r) => r.inboxes));
  const manager = isManager(me.user.role);

  return (
    <>
      <PageHeader title="Inbox" />
      {inboxes.loading && !inboxes.data && <Loading label="Loading inboxes…" />}
      {inboxes.error !== null && (
        <Notice tone="error" title="Could not load inboxes">
          <p>{messageOf(inboxes.error)}</p>
          <button type="button" class="button button-small" onClick={() => void inboxes.reload()}>
            Try again
          </button>
        </Notice>
      )}
      {inboxes.data?.length === 0 && (
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
      {inboxes.data && inboxes.data.length > 0 && (
        <ul class="card-list" aria-label="Inboxes">
          {inboxes.data.map((i) => (
            <li key={i.id} class="card-list-item">
              <p class="strong">{i.displayName || i.address}</p>
              <p class="muted break">
                {i.address} · {PROVIDER_LABELS[i.provider]} · {i.kind === "shared" ? "Shared" : "Personal"}
              </p>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
