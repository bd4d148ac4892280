import { useState } from "preact/hooks";
import type { InviteView } from "../../../../worker/contracts";
import { ApiError, api, messageOf } from "../../lib/api";
import { formatDuration, formatRelative, isoDate } from "../../lib/format";
import { ROLE_LABELS } from "../../lib/roles";
import { useAnnounce } from "../../lib/status";

const STATUS_LABELS: Record<InviteView["status"], string> = {
  pending: "Pending",
  accepted: "Accepted",
  revoked: "Revoked",
  expired: "Expired",
};

function InviteRow({ invite, onUpdated }: { invite: InviteView; onUpdated: (invite: InviteView) => void }) {
  const announce = useAnnounce();
  const [busy, setBusy] = useState<"resend" | "revoke" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const open = invite.status === "pending" || invite.status === "expired";

  const run = async (action: "resend" | "revoke") => {
    setBusy(action);
    setError(null);
    try {
      if (action === "resend") {
        const res = await api.resendInvite(invite.id);
        onUpdated(res.invite);
        announce(`Invitation sent again to ${invite.email}.`);
      } else {
        await api.revokeInvite(invite.id);
        onUpdated({ ...invite, status: "revoked" });
        announce(`Invitation to ${invite.email} revoked.`);
      }
    } catch (err) {
      setError(
        err instanceof ApiError && err.code === "rate_limited" && err.retryAfterSeconds
          ? `Too many invitations for now. Try again in ${formatDuration(err.retryAfterSeconds)}.`
          : messageOf(err),
      );
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
        </p>
        <p class="muted">
          {ROLE_LABELS[invite.role]} · sent{" "}
          <time dateTime={isoDate(invite.createdAt)}>{formatRelative(invite.createdAt, now)}</time>
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
      {open && (
        <div class="row-actions">
          <button type="button" class="button button-small" disabled={busy !== null} onClick={() => run("resend")}>
            {busy === "resend" ? "Sending…" : "Resend"}
            <span class="visually-hidden"> invitation to {invite.email}</span>
          </button>
          <button
            type="button"
            class="button button-small button-danger-quiet"
            disabled={busy !== null}
            onClick={() => run("revoke")}
          >
            {busy === "revoke" ? "Revoking…" : "Revoke"}
            <span class="visually-hidden"> invitation to {invite.email}</span>
          </button>
        </div>
      )}
    </li>
  );
}

export function Invitations({
  invites,
  onUpdated,
}: {
  invites: InviteView[];
  onUpdated: (invite: InviteView) => void;
}) {
  const open = invites.filter((i) => i.status === "pending" || i.status === "expired");
  const past = invites.filter((i) => i.status === "accepted" || i.status === "revoked");
  return (
    <>
      {open.length === 0 ? (
        <p class="muted empty-line">No pending invitations.</p>
      ) : (
        <ul class="rows" aria-labelledby="pending-title">
          {open.map((i) => (
            <InviteRow key={i.id} invite={i} onUpdated={onUpdated} />
          ))}
        </ul>
      )}
      {past.length > 0 && (
        <details class="past">
          <summary>Past invitations ({past.length})</summary>
          <ul class="rows">
            {past.map((i) => (
              <InviteRow key={i.id} invite={i} onUpdated={onUpdated} />
            ))}
          </ul>
        </details>
      )}
    </>
  );
}
