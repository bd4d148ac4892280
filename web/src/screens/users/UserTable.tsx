import { useState } from "preact/hooks";
import type { InvitableRole, UserView } from "../../../../worker/contracts";
import { api, messageOf } from "../../lib/api";
import { formatRelative, isoDate } from "../../lib/format";
import { ROLE_LABELS, assignableRoles, canManage } from "../../lib/roles";
import { useSession } from "../../lib/session";
import { useAnnounce } from "../../lib/status";
import { ConfirmDialog } from "../../components/ConfirmDialog";

interface RowProps {
  user: UserView;
  onChanged: (user: UserView) => void;
  onRemove: (user: UserView) => void;
}

function UserRow({ user, onChanged, onRemove }: RowProps) {
  const { me, reloadMe } = useSession();
  const announce = useAnnounce();
  const self = user.id === me.user.id;
  const editable = canManage(me.user.role, user.role) && user.role !== "contributor";
  const [role, setRole] = useState<InvitableRole | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const selectId = `role-${user.id}`;
  const errorId = `role-error-${user.id}`;
  const choices = assignableRoles(me.user.role);
  const shown = role ?? (user.role === "contributor" ? null : user.role);

  const save = async () => {
    if (!role) return;
    setBusy(true);
    setError(null);
    try {
      const res = await api.changeRole(user.id, role);
      onChanged(res.user);
      setRole(null);
      announce(`${user.email} is now ${ROLE_LABELS[res.user.role].toLowerCase()}.`);
      if (self) await reloadMe();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <tr>
      <td class="cell-person" data-label="Person">
        <span class="strong break">{user.name || user.email}</span>
        {self && <span class="badge">You</span>}
        {user.name && <span class="muted block break">{user.email}</span>}
      </td>
      <td class="cell-role" data-label="Role">
        {editable && shown ? (
          <div class="role-editor">
            <label class="visually-hidden" for={selectId}>
              Role of {user.email}
            </label>
            <select
              id={selectId}
              class="select"
              value={shown}
              disabled={busy}
              aria-describedby={error ? errorId : undefined}
              aria-invalid={error ? true : undefined}
              onChange={(e) => {
                const next = e.currentTarget.value as InvitableRole;
                setRole(next === user.role ? null : next);
                setError(null);
              }}
            >
              {/* canManage() leaves owners' rows read-only for admins, so the current role is always a choice. */}
              {choices.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
            {role && (
              <span class="role-actions">
                <button type="button" class="button button-primary button-small" onClick={save} disabled={busy}>
                  {busy ? "Saving…" : "Save"}
                </button>
                <button
                  type="button"
                  class="button button-small"
                  disabled={busy}
                  onClick={() => {
                    setRole(null);
                    setError(null);
                  }}
                >
                  Cancel
                </button>
              </span>
            )}
            {error && (
              <p id={errorId} class="field-error" role="alert">
                {error}
              </p>
            )}
          </div>
        ) : (
          <span class={`role-pill role-${user.role}`}>{ROLE_LABELS[user.role]}</span>
        )}
      </td>
      <td class="cell-date" data-label="Last sign-in">
        {user.lastSignInAt ? (
          <time dateTime={isoDate(user.lastSignInAt)}>{formatRelative(user.lastSignInAt)}</time>
        ) : (
          <span class="muted">Never</span>
        )}
      </td>
      <td class="cell-actions">
        {editable && !self && (
          <button type="button" class="button button-small button-danger-quiet" onClick={() => onRemove(user)}>
            Remove<span class="visually-hidden"> {user.email}</span>
          </button>
        )}
      </td>
    </tr>
  );
}

/** The people with access to the app; managers change roles and remove people in place. */
export function UserTable({
  users,
  onChanged,
  onRemoved,
}: {
  users: UserView[];
  onChanged: (u: UserView) => void;
  onRemoved: (id: string) => void;
}) {
  const announce = useAnnounce();
  const [removing, setRemoving] = useState<UserView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const confirmRemove = async () => {
    if (!removing) return;
    setBusy(true);
    setError(null);
    try {
      await api.removeUser(removing.id);
      onRemoved(removing.id);
      announce(`${removing.email} was removed.`);
      setRemoving(null);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <table class="table table-stack">
        <thead>
          <tr>
            <th scope="col">Person</th>
            <th scope="col">Role</th>
            <th scope="col">Last sign-in</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <UserRow key={u.id} user={u} onChanged={onChanged} onRemove={(target) => setRemoving(target)} />
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing?.email ?? ""}?`}
        confirmLabel="Remove"
        busy={busy}
        onConfirm={confirmRemove}
        onCancel={() => {
          setRemoving(null);
          setError(null);
        }}
      >
        <p>They lose access at once and are signed out everywhere. What they wrote stays in the account.</p>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </ConfirmDialog>
    </>
  );
}
