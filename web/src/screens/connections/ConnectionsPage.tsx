/**
 * Settings › Inbox connections: the connected mailboxes with their health, invitations to connect
 * more, and the repairs (reconnect links) and removals. Health leads the page because a mailbox
 * that silently stopped syncing is the failure people notice last.
 */
import type { ConnectInviteView, ConnectionView } from "../../../../worker/contracts";
import { api, messageOf, type Connections } from "../../lib/api";
import { useResource, usePageTitle } from "../../lib/hooks";
import { EmptyState, Loading, PageHeader } from "../../components/Layout";
import { Notice } from "../../components/Notice";
import { ConnectInviteForm } from "./ConnectInviteForm";
import { ConnectInvitations } from "./ConnectInvitations";
import { HostedAddressForm } from "./HostedAddressForm";
import { ArchiveList, ConnectionList } from "./ConnectionList";
import type { ThreadsOnDisconnect } from "../../lib/api";

/** The server replaces any open invitation to the same address when it creates a new one. */
function withInvite(data: Connections, invite: ConnectInviteView): Connections {
  return {
    ...data,
    invites: [
      invite,
      ...data.invites.map((i) =>
        i.email === invite.email && i.status === "pending" ? { ...i, status: "revoked" as const } : i,
      ),
    ],
  };
}

export function ConnectionsPage() {
  usePageTitle("Inbox connections");
  const data = useResource(() => api.connections());
  const all = data.data?.connections ?? [];
  const connections = all.filter((c) => c.disconnectedAt === null);
  const archives = all.filter((c) => c.disconnectedAt !== null);
  const troubled = connections.filter((c) => c.health !== "good");

  const addInvite = (invite: ConnectInviteView) => data.setData((d) => (d ? withInvite(d, invite) : d));
  const replaceInvite = (next: ConnectInviteView) =>
    data.setData((d) => (d ? { ...d, invites: d.invites.map((i) => (i.id === next.id ? next : i)) } : d));
  const dropConnection = (inboxId: string) =>
    data.setData((d) => (d ? { ...d, connections: d.connections.filter((c) => c.id !== inboxId) } : d));
  // Kept conversations turn the inbox into an archive, as the server does: no grant, no health to show.
  const disconnected = (inboxId: string, threads: ThreadsOnDisconnect) =>
    threads === "delete"
      ? dropConnection(inboxId)
      : data.setData((d) =>
          d
            ? {
                ...d,
                connections: d.connections.map((c) =>
                  c.id === inboxId ? { ...c, disconnectedAt: Date.now(), grantEmail: null } : c,
                ),
              }
            : d,
        );
  const sendReconnect = async (inboxId: string) => {
    const { invite } = await api.sendReconnectLink(inboxId);
    addInvite(invite);
    return invite;
  };
  // A new hosted inbox joins the list at once, in address order as the server sorts it.
  const addConnection = (connection: ConnectionView) =>
    data.setData((d) =>
      d
        ? {
            ...d,
            connections: [...d.connections, connection].sort((a, b) => a.address.localeCompare(b.address)),
          }
        : d,
    );
  const inboxAddress = (inboxId: string) => all.find((c) => c.id === inboxId)?.address ?? null;

  return (
    <>
      <PageHeader eyebrow="Settings" title="Inbox connections">
        <p>
          Connect the mailboxes your team answers from. Whoever owns a mailbox gets an emailed link and signs in with
          Google or Microsoft; they do not need a Postroom account.
        </p>
      </PageHeader>

      {data.loading && !data.data && <Loading label="Loading connections…" />}
      {data.error !== null && (
        <Notice tone="error" title="Could not load inbox connections">
          <p>{messageOf(data.error)}</p>
          <button type="button" class="button button-small" onClick={() => void data.reload()}>
            Try again
          </button>
        </Notice>
      )}

      {data.data && troubled.length > 0 && (
        <div class="attention">
          <Notice
            tone="warning"
            title={`${troubled.length} ${troubled.length === 1 ? "inbox needs" : "inboxes need"} attention`}
          >
            <p>
              Connection problems on {troubled.map((c) => c.address).join(", ")}. Each one below says what is wrong and
              what to do.
            </p>
          </Notice>
        </div>
      )}

      {data.data && (
        <section class="panel" aria-labelledby="connected-title">
          <div class="panel-header">
            <h2 id="connected-title">
              Connected inboxes <span class="count">{connections.length}</span>
            </h2>
          </div>
          {connections.length === 0 ? (
            <div class="panel-body">
              <EmptyState title="No mailboxes connected yet">
                <p>Invite the owner of a mailbox below. Once they sign in, the mailbox appears here with its health.</p>
              </EmptyState>
            </div>
          ) : (
            <ConnectionList connections={connections} onReconnect={sendReconnect} onDisconnected={disconnected} />
          )}
        </section>
      )}

      {archives.length > 0 && (
        <section class="panel" aria-labelledby="archived-title">
          <div class="panel-header">
            <h2 id="archived-title">
              Disconnected inboxes <span class="count">{archives.length}</span>
            </h2>
            <p class="panel-note">Kept as read-only archives.</p>
          </div>
          <ArchiveList archives={archives} onInvited={addInvite} onDeleted={dropConnection} />
        </section>
      )}

      {data.data?.hostedDomain && (
        <section class="panel" aria-labelledby="hosted-title">
          <div class="panel-header">
            <h2 id="hosted-title">Request a shared address</h2>
            <p class="panel-note">No mailbox to connect? Get one on {data.data.hostedDomain}.</p>
          </div>
          <div class="panel-body">
            <HostedAddressForm domain={data.data.hostedDomain} onCreated={addConnection} />
          </div>
        </section>
      )}

      {data.data && (
        <section class="panel" aria-labelledby="connect-invite-title">
          <div class="panel-header">
            <h2 id="connect-invite-title">Invite to connect</h2>
          </div>
          <div class="panel-body">
            <ConnectInviteForm onInvited={addInvite} onReconnect={sendReconnect} />
          </div>
          <div class="panel-body panel-body-divided">
            <h3 class="subheading" id="connect-pending-title">
              Pending invitations
            </h3>
            <ConnectInvitations invites={data.data.invites} inboxAddress={inboxAddress} onUpdated={replaceInvite} />
          </div>
        </section>
      )}
    </>
  );
}
