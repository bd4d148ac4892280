import { useState } from "preact/hooks";
import type { ConnectInviteView, ConnectionView, SyncScope } from "../../../../worker/contracts";
import { ApiError, api, messageOf, type ThreadsOnDisconnect } from "../../lib/api";
import {
  HEALTH_LABELS,
  HEALTH_REASON_LABELS,
  KIND_LABELS,
  PROVIDER_LABELS,
  SYNC_SCOPE_OPTIONS,
  SYNC_WINDOW_OPTIONS,
} from "../../lib/connections";
import { formatDateTime, formatRelative, isoDate } from "../../lib/format";
import { useAnnounce } from "../../lib/status";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { rateLimitMessage } from "./ConnectInviteForm";
import { SyncProgress } from "./SyncProgress";

const HEALTH_ICONS: Record<ConnectionView["health"], string> = {
  good: "m5.5 10.5 3 3 6-6.5",
  degraded: "M10 6.5v4.5M10 13.8v.4",
  failing: "m7 7 6 6m0-6-6 6",
};

/** Health in words and a shape as well as a colour, so it reads the same without colour vision. */
export function HealthBadge({ health }: { health: ConnectionView["health"] }) {
  return (
    <span class={`health health-${health}`}>
      <svg class="health-icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
        {health === "degraded" ? (
          <path
            d="M10 2.8 18 16.8H2L10 2.8Z"
            fill="none"
            stroke="currentColor"
            stroke-width="1.7"
            stroke-linejoin="round"
          />
        ) : (
          <circle cx="10" cy="10" r="7.6" fill="none" stroke="currentColor" stroke-width="1.7" />
        )}
        <path
          d={HEALTH_ICONS[health]}
          fill="none"
          stroke="currentColor"
          stroke-width="1.9"
          stroke-linecap="round"
          stroke-linejoin="round"
        />
      </svg>
      <span class="visually-hidden">Health: </span>
      {HEALTH_LABELS[health]}
    </span>
  );
}

function ConnectionRow({
  connection: c,
  onReconnect,
  onDisconnect,
}: {
  connection: ConnectionView;
  onReconnect: (inboxId: string) => Promise<ConnectInviteView>;
  onDisconnect: (c: ConnectionView) => void;
}) {
  const announce = useAnnounce();
  const [busy, setBusy] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const troubled = c.health !== "good";
  const delegate = c.grantEmail && c.grantEmail !== c.address ? c.grantEmail : null;
  const canReconnect = c.provider !== "hosted";

  const reconnect = async () => {
    setBusy(true);
    setError(null);
    try {
      const invite = await onReconnect(c.id);
      setSentTo(invite.email);
      announce(`Reconnect link sent to ${invite.email}.`);
    } catch (err) {
      setError(rateLimitMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <li class={`row connection connection-${c.health}`}>
      <div class="row-main">
        <p class="connection-title">
          <span class="strong break">{c.address}</span> <HealthBadge health={c.health} />
        </p>
        <p class="muted">
          {PROVIDER_LABELS[c.provider]} · {KIND_LABELS[c.kind]}
          {c.connectedAt !== null && (
            <>
              {" "}
              · {c.provider === "hosted" ? "created" : "connected"}{" "}
              <time dateTime={isoDate(c.connectedAt)} title={formatDateTime(c.connectedAt)}>
                {formatRelative(c.connectedAt)}
              </time>
            </>
          )}
        </p>
        {delegate && (
          <p class="muted">
            Connected through <span class="break">{delegate}</span> (delegate)
          </p>
        )}
        {c.disconnectedAt === null && c.provider !== "hosted" && <HistoryWindow connection={c} />}
        {c.disconnectedAt === null && c.provider !== "hosted" && (
          <SyncProgress inboxId={c.id} stopped={c.health === "failing"} />
        )}
        {c.disconnectedAt === null && c.provider === "hosted" && (
          <p class="muted">Receives the mail sent to this address; there is no history from before it was created.</p>
        )}
      </div>
      <div class="row-actions">
        <button type="button" class="button button-small button-danger-quiet" onClick={() => onDisconnect(c)}>
          Disconnect…<span class="visually-hidden"> {c.address}</span>
        </button>
      </div>
      {troubled && (
        <div class={`health-problem notice notice-${c.health === "failing" ? "error" : "warning"}`}>
          <p class="notice-title">
            {c.healthReason ? HEALTH_REASON_LABELS[c.healthReason] : "Something is wrong with this connection"}
            {c.healthChangedAt !== null && (
              <span class="health-since">
                {" "}
                · since{" "}
                <time dateTime={isoDate(c.healthChangedAt)} title={formatDateTime(c.healthChangedAt)}>
                  {formatRelative(c.healthChangedAt)}
                </time>
              </span>
            )}
          </p>
          {c.healthDetail && <p>{c.healthDetail}</p>}
          {canReconnect && (
            <div class="health-actions">
              <button type="button" class="button button-primary button-small" disabled={busy} onClick={reconnect}>
                {busy ? "Sending…" : "Send reconnect link"}
                <span class="visually-hidden"> for {c.address}</span>
              </button>
              {sentTo ? (
                <span class="sent-note">
                  Sent to <strong class="break">{sentTo}</strong>. The inbox recovers once they sign in again.
                </span>
              ) : (
                <span class="sent-note">
                  Goes to <strong class="break">{delegate ?? c.address}</strong>, who signs in again.
                </span>
              )}
            </div>
          )}
          {error && (
            <p class="field-error" role="alert">
              {error}
            </p>
          )}
        </div>
      )}
    </li>
  );
}

export function ConnectionList({
  connections,
  onReconnect,
  onDisconnected,
}: {
  connections: ConnectionView[];
  onReconnect: (inboxId: string) => Promise<ConnectInviteView>;
  onDisconnected: (inboxId: string, threads: ThreadsOnDisconnect) => void;
}) {
  const announce = useAnnounce();
  const [target, setTarget] = useState<ConnectionView | null>(null);
  const [threads, setThreads] = useState<ThreadsOnDisconnect>("keep");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const close = () => {
    setTarget(null);
    setError(null);
  };

  const confirm = async () => {
    if (!target) return;
    setBusy(true);
    setError(null);
    try {
      await api.disconnect(target.id, threads);
      onDisconnected(target.id, threads);
      announce(
        `${target.address} was disconnected; its conversations were ${threads === "keep" ? "kept" : "deleted"}.`,
      );
      setTarget(null);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && err.message.startsWith("Inbox")) {
        // Someone else removed it meanwhile: the list was out of date, not the request wrong.
        onDisconnected(target.id, "delete");
        announce(`${target.address} was already disconnected.`);
        setTarget(null);
      } else if (err instanceof ApiError && err.status === 404) {
        setError("This server cannot disconnect inboxes yet. Nothing was changed.");
      } else {
        setError(messageOf(err));
      }
    } finally {
      setBusy(false);
    }
  };

  const provider = target?.provider === "graph" ? "Microsoft" : target?.provider === "gmail" ? "Google" : null;
  return (
    <>
      <ul class="rows">
        {connections.map((c) => (
          <ConnectionRow
            key={c.id}
            connection={c}
            onReconnect={onReconnect}
            onDisconnect={(next) => {
              setThreads("keep");
              setError(null);
              setTarget(next);
            }}
          />
        ))}
      </ul>
      <ConfirmDialog
        open={target !== null}
        title={`Disconnect ${target?.address ?? ""}?`}
        confirmLabel={threads === "keep" ? "Disconnect, keep conversations" : "Disconnect, delete conversations"}
        busy={busy}
        wide
        onConfirm={confirm}
        onCancel={close}
      >
        <p>
          Postroom stops reading and sending mail for <strong class="break">{target?.address}</strong> at once
          {provider ? ` and hands its access back to ${provider}` : ""}. The mailbox itself, and the mail in it, are not
          touched.
        </p>
        <fieldset class="choice-group">
          <legend>Its conversations in Postroom</legend>
          <div class="choices choices-stacked">
            <label class={`choice${threads === "keep" ? " choice-selected" : ""}`}>
              <input
                type="radio"
                name="threads"
                value="keep"
                checked={threads === "keep"}
                onChange={() => setThreads("keep")}
              />
              <span>
                <span class="choice-label">Keep them</span>
                <span class="choice-hint">
                  The inbox stays as a read-only archive: people with access can still read its conversations, but no
                  new mail arrives and nobody can reply from this address. Connecting it again brings it back.
                </span>
              </span>
            </label>
            <label class={`choice${threads === "delete" ? " choice-selected" : ""}`}>
              <input
                type="radio"
                name="threads"
                value="delete"
                checked={threads === "delete"}
                onChange={() => setThreads("delete")}
              />
              <span>
                <span class="choice-label">Delete them</span>
                <span class="choice-hint">
                  Its conversations, notes and assignments are removed from Postroom for good.
                </span>
              </span>
            </label>
          </div>
        </fieldset>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </ConfirmDialog>
    </>
  );
}

/**
 * Inboxes disconnected with their conversations kept: read-only archives, which come back to life
 * when the mailbox is connected again, or can be deleted for good.
 */
export function ArchiveList({
  archives,
  onInvited,
  onDeleted,
}: {
  archives: ConnectionView[];
  onInvited: (invite: ConnectInviteView) => void;
  onDeleted: (inboxId: string) => void;
}) {
  const announce = useAnnounce();
  const [target, setTarget] = useState<ConnectionView | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<{ inboxId: string; message: string } | null>(null);

  const invite = async (c: ConnectionView) => {
    setBusy(c.id);
    setError(null);
    try {
      const res = await api.inviteToConnect(c.address, c.kind, c.windowDays, c.syncScope);
      onInvited(res.invite);
      announce(`Invitation to connect sent to ${res.invite.email}.`);
    } catch (err) {
      setError({ inboxId: c.id, message: rateLimitMessage(err) });
    } finally {
      setBusy(null);
    }
  };

  const confirmDelete = async () => {
    if (!target) return;
    setBusy(target.id);
    setError(null);
    try {
      await api.disconnect(target.id, "delete");
      onDeleted(target.id);
      announce(`The conversations of ${target.address} were deleted.`);
      setTarget(null);
    } catch (err) {
      setError({ inboxId: target.id, message: messageOf(err) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <ul class="rows">
        {archives.map((c) => (
          <li key={c.id} class="row connection">
            <div class="row-main">
              <p class="connection-title">
                <span class="strong break">{c.address}</span>{" "}
                <span class="health health-off">
                  <svg class="health-icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
                    <circle cx="10" cy="10" r="7.6" fill="none" stroke="currentColor" stroke-width="1.7" />
                    <path d="M6.5 10h7" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" />
                  </svg>
                  Disconnected
                </span>
              </p>
              <p class="muted">
                {PROVIDER_LABELS[c.provider]} · {KIND_LABELS[c.kind]}
                {c.disconnectedAt !== null && (
                  <>
                    {" "}
                    · disconnected{" "}
                    <time dateTime={isoDate(c.disconnectedAt)} title={formatDateTime(c.disconnectedAt)}>
                      {formatRelative(c.disconnectedAt)}
                    </time>
                  </>
                )}
              </p>
              <p class="muted">Conversations kept, read-only. No new mail arrives.</p>
              {error?.inboxId === c.id && !target && (
                <p class="field-error" role="alert">
                  {error.message}
                </p>
              )}
            </div>
            <div class="row-actions">
              <button type="button" class="button button-small" disabled={busy !== null} onClick={() => invite(c)}>
                {busy === c.id && !target ? "Sending…" : "Invite to connect again"}
                <span class="visually-hidden"> {c.address}</span>
              </button>
              <button
                type="button"
                class="button button-small button-danger-quiet"
                disabled={busy !== null}
                onClick={() => {
                  setError(null);
                  setTarget(c);
                }}
              >
                Delete conversations…<span class="visually-hidden"> of {c.address}</span>
              </button>
            </div>
          </li>
        ))}
      </ul>
      <ConfirmDialog
        open={target !== null}
        title={`Delete the conversations of ${target?.address ?? ""}?`}
        confirmLabel="Delete conversations"
        busy={busy !== null}
        onConfirm={confirmDelete}
        onCancel={() => {
          setTarget(null);
          setError(null);
        }}
      >
        <p>
          Its conversations, notes and assignments are removed from Postroom for good, and the inbox leaves this list.
          The mailbox itself, and the mail in it, are not touched.
        </p>
        {error && target && error.inboxId === target.id && (
          <p class="field-error" role="alert">
            {error.message}
          </p>
        )}
      </ConfirmDialog>
    </>
  );
}

/** How much history and which folders the inbox covers; widening either imports what it adds (shown by the progress bar). */
function HistoryWindow({ connection }: { connection: ConnectionView }) {
  const announce = useAnnounce();
  const [days, setDays] = useState(connection.windowDays);
  const [scope, setScope] = useState<SyncScope>(connection.syncScope);
  const [error, setError] = useState<string | null>(null);
  const save = async (change: { windowDays?: number; syncScope?: SyncScope }) => {
    const previous = { days, scope };
    if (change.windowDays !== undefined) setDays(change.windowDays);
    if (change.syncScope !== undefined) setScope(change.syncScope);
    setError(null);
    try {
      await api.setConnectionSync(connection.id, change);
      announce(`Sync settings of ${connection.address} saved; anything they add is being imported.`);
    } catch (err) {
      setDays(previous.days);
      setScope(previous.scope);
      setError(messageOf(err));
    }
  };
  return (
    <p class="history-window">
      <label for={`window-${connection.id}`}>History</label>
      <select
        id={`window-${connection.id}`}
        class="select select-small"
        value={String(days)}
        onChange={(e) => void save({ windowDays: Number(e.currentTarget.value) })}
      >
        {SYNC_WINDOW_OPTIONS.map((o) => (
          <option key={o.days} value={String(o.days)}>
            {o.label}
          </option>
        ))}
      </select>
      <label for={`scope-${connection.id}`}>Folders</label>
      <select
        id={`scope-${connection.id}`}
        class="select select-small"
        value={scope}
        onChange={(e) => void save({ syncScope: e.currentTarget.value as SyncScope })}
      >
        {SYNC_SCOPE_OPTIONS.map((o) => (
          <option key={o.scope} value={o.scope}>
            {o.label}
          </option>
        ))}
      </select>
      {error && (
        <span class="field-error" role="alert">
          {error}
        </span>
      )}
    </p>
  );
}
