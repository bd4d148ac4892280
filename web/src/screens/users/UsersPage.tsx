import type { InviteView, UserView } from "../../../../worker/contracts";
import { api, messageOf } from "../../lib/api";
import { formatDateTime, isoDate } from "../../lib/format";
import { useResource, usePageTitle } from "../../lib/hooks";
import { isManager } from "../../lib/roles";
import { useSession } from "../../lib/session";
import { Loading, PageHeader } from "../../components/Layout";
import { Notice } from "../../components/Notice";
import { InviteForm } from "./InviteForm";
import { Invitations } from "./Invitations";
import { UserTable } from "./UserTable";

function LoadError({ what, error, retry }: { what: string; error: unknown; retry: () => void }) {
  return (
    <Notice tone="error" title={`Could not load ${what}`}>
      <p>{messageOf(error)}</p>
      <button type="button" class="button button-small" onClick={retry}>
        Try again
      </button>
    </Notice>
  );
}

export function Users() {
  usePageTitle("Users");
  const { me } = useSession();
  const manager = isManager(me.user.role);
  const users = useResource(() => api.users().then((r) => r.users));
  // Members cannot list invitations (the server answers 403), so they never ask.
  const invites = useResource<InviteView[] | null>(
    () => (manager ? api.invites().then((r) => r.invites) : Promise.resolve(null)),
    manager,
  );

  const all = users.data ?? [];
  const team = all.filter((u) => u.role !== "contributor");
  const contributors = all.filter((u) => u.role === "contributor");

  const replaceUser = (next: UserView) =>
    users.setData((list) => list?.map((u) => (u.id === next.id ? next : u)) ?? null);
  const dropUser = (id: string) => users.setData((list) => list?.filter((u) => u.id !== id) ?? null);
  const addInvite = (invite: InviteView) =>
    // The server revokes an earlier open invitation to the same address when it creates a new one.
    invites.setData((list) => [
      invite,
      ...(list ?? []).map((i) =>
        i.email === invite.email && i.status === "pending" ? { ...i, status: "revoked" as const } : i,
      ),
    ]);
  const replaceInvite = (next: InviteView) =>
    invites.setData((list) => list?.map((i) => (i.id === next.id ? next : i)) ?? null);

  return (
    <>
      <PageHeader eyebrow="Settings" title="Users">
        <p>
          {manager
            ? "Invite teammates, change what they can do, and remove access."
            : "The people in this account. Only owners and admins can invite people or change roles."}
        </p>
      </PageHeader>

      <section class="panel" aria-labelledby="team-title">
        <div class="panel-header">
          <h2 id="team-title">Team members {users.data && <span class="count">{team.length}</span>}</h2>
        </div>
        {users.loading && !users.data && <Loading label="Loading users…" />}
        {users.error !== null && <LoadError what="users" error={users.error} retry={() => void users.reload()} />}
        {users.data && <UserTable users={team} onChanged={replaceUser} onRemoved={dropUser} />}
      </section>

      {manager && (
        <section class="panel" aria-labelledby="invites-title">
          <div class="panel-header">
            <h2 id="invites-title">Invitations</h2>
          </div>
          <div class="panel-body">
            <h3 id="invite-title" class="visually-hidden">
              Invite someone
            </h3>
            <InviteForm onInvited={addInvite} />
          </div>
          <div class="panel-body panel-body-divided">
            <h3 class="subheading" id="pending-title">
              Pending invitations
            </h3>
            {invites.loading && !invites.data && <Loading label="Loading invitations…" />}
            {invites.error !== null && (
              <LoadError what="invitations" error={invites.error} retry={() => void invites.reload()} />
            )}
            {invites.data && <Invitations invites={invites.data} onUpdated={replaceInvite} />}
          </div>
        </section>
      )}

      {contributors.length > 0 && (
        <section class="panel" aria-labelledby="contributors-title">
          <div class="panel-header">
            <h2 id="contributors-title">
              Mailbox contributors <span class="count">{contributors.length}</span>
            </h2>
            <p class="panel-note">Connected a mailbox, no app access.</p>
          </div>
          <ul class="rows">
            {contributors.map((u) => (
              <li key={u.id} class="row">
                <div class="row-main">
                  <p class="strong break">{u.name || u.email}</p>
                  <p class="muted">
                    {u.name ? `${u.email} · ` : ""}added{" "}
                    <time dateTime={isoDate(u.createdAt)}>{formatDateTime(u.createdAt)}</time>
                  </p>
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
