import { useState } from "preact/hooks";
import type { ConnectInviteView } from "../../../../worker/contracts";
import { api } from "../../lib/api";
import { KIND_LABELS } from "../../lib/connections";
import { formatRelative, isoDate } from "../../lib/format";
import { useAnnounce } from "../../lib/status";
import { rateLimitMessage } from "./ConnectInviteForm";

const STATUS_LABELS: Record<ConnectInviteView["status"], string> = {
  pending: "Pending",
  used: "Used",
  revoked: "Revoked",
  expired: "Expired",
};

const isOpen = (i: ConnectInviteView) => i.status === "pending" || i.status === "expired";

function InviteRow({
  invite,
  inboxAddress,
  onUpdated,
}: {
  invite: ConnectInviteView;
  /** For a reconnect link: the inbox it repairs, which may differ from the person it went to. */
  inboxAddress: string | null;
  onUpdated: (invite: ConnectInviteView) => void;
}) {
  const announce = useAnnounce();
  const [busy, setBusy] = useState<"resend" | "revoke" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const what = invite.reconnectOf ? "reconnect link" : "invitation";

  const run = async (action: "resend" | "revoke") => {
    setBusy(action);
    setError(null);
    try {
      if (action === "resend") {
        const res = await api.resendConnectInvite(invite.id);
        onUpdated(res.invite);
        announce(`${invite.reconnectOf ? "Reconnect link" : "Invitation"} sent again to ${invite.email}.`);
      } else {
        await api.revokeConnectInvite(invite.id);
        onUpdated({ ...invite, status: "revoked" });
        announce(`${invite.reconnectOf ? "Reconnect link" : "Invitation"} to ${invite.email} revoked.`);
      }
    } catch (err) {
      setError(rateLimitMessage(err));
    } finally {
      setBusy(null);
    }
  };

  const now = Date.now();
  return (
    <li class="row">
      <div class="row-main">
        <p>
          <span class="strong break">{invite.email}</span>{" "}
          <span class={`badge badge-${invite.status}`}>{STATUS_LABELS[invite.status]}</span>
          {invite.reconnectOf && <span class="badge badge-reconnect">Reconnect link</span>}
        </p>
        <p class="muted">
          {invite.reconnectOf
            ? `Reconnects ${inboxAddress && inboxAddress !== invite.email ? inboxAddress : "this mailbox"}`
            : KIND_LABELS[invite.kind]}{" "}
          · sent <time dateTime={isoDate(invite.createdAt)}>{formatRelative(invite.createdAt, now)}</time>
          {invite.status === "pending" && (
            <>
              {" "}
              · expires <time dateTime={isoDate(invite.expiresAt)}>{formatRelative(invite.expiresAt, now)}</time>
            </>
          )}
        </p>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </div>
      {isOpen(invite) && (
        <div class="row-actions">
          <button type="button" class="button button-small" disabled={busy !== null} onClick={() => run("resend")}>
            {busy === "resend" ? "Sending…" : "Resend"}
            <span class="visually-hidden">
              {" "}
              {what} to {invite.email}
            </span>
          </button>
          <button
            type="button"
            class="button button-small button-danger-quiet"
            disabled={busy !== null}
            onClick={() => run("revoke")}
          >
            {busy === "revoke" ? "Revoking…" : "Revoke"}
            <span class="visually-hidden">
              {" "}
              {what} to {invite.email}
            </span>
          </button>
        </div>
      )}
    </li>
  );
}

export function ConnectInvitations({
  invites,
  inboxAddress,
  onUpdated,
}: {
  invites: ConnectInviteView[];
  inboxAddress: (inboxId: string) => string | null;
  onUpdated: (invite: ConnectInviteView) => void;
}) {
  const open = invites.filter(isOpen);
  const past = invites.filter((i) => !isOpen(i));
  const row = (i: ConnectInviteView) => (
    <InviteRow
      key={i.id}
      invite={i}
      inboxAddress={i.reconnectOf ? inboxAddress(i.reconnectOf) : null}
      onUpdated={onUpdated}
    />
  );
  return (
    <>
      {open.length === 0 ? (
        <p class="muted empty-line">No pending invitations.</p>
      ) : (
        <ul class="rows" aria-labelledby="connect-pending-title">
          {open.map(row)}
        </ul>
      )}
      {past.length > 0 && (
        <details class="past">
          <summary>Used and revoked ({past.length})</summary>
          <ul class="rows">{past.map(row)}</ul>
        </details>
      )}
    </>
  );
}
