import { useEffect, useRef, useState } from "preact/hooks";
import type { AuditEventView } from "../../../worker/contracts";
import { api, messageOf } from "../lib/api";
import { formatDateTime, isoDate } from "../lib/format";
import { usePageTitle } from "../lib/hooks";
import { ROLE_LABELS } from "../lib/roles";
import { EmptyState, Loading, PageHeader } from "../components/Layout";
import { Notice } from "../components/Notice";

const PAGE_SIZE = 50;

/** Actions the server records today; events with other actions still show, under their code. */
const ACTION_LABELS: Record<string, string> = {
  "account.created": "Workspace created",
  "auth.signin": "Signed in",
  "auth.signout_all": "Signed out everywhere",
  "invite.created": "Invitation sent",
  "invite.resent": "Invitation resent",
  "invite.revoked": "Invitation revoked",
  "invite.accepted": "Invitation accepted",
  "user.role_changed": "Role changed",
  "user.removed": "User removed",
  "inbox.access_changed": "Inbox access changed",
  "partner.registered": "Partner site registered",
  "partner.updated": "Partner site changed",
  "partner.key_rotated": "Partner key rotated",
  "partner.revoked": "Partner site revoked",
  "embed.session_started": "Embedded inbox opened",
};

const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);
const roleLabel = (v: unknown): string | null => {
  const s = str(v);
  return s && s in ROLE_LABELS ? ROLE_LABELS[s as keyof typeof ROLE_LABELS] : s;
};

/** What the event was about, in words, from the details the server recorded with it. */
function describeTarget(e: AuditEventView): string {
  const d = e.details;
  const email = str(d.email);
  switch (e.action) {
    case "account.created":
      return str(d.name) ?? "Workspace";
    case "user.role_changed": {
      const from = roleLabel(d.from);
      const to = roleLabel(d.to);
      return `${email ?? "User"}${from && to ? `: ${from} → ${to}` : ""}`;
    }
    case "invite.created":
    case "invite.accepted": {
      const role = roleLabel(d.role);
      const who = email ?? (e.action === "invite.accepted" ? e.actorEmail : null) ?? "Invitation";
      return role ? `${who} as ${role}` : who;
    }
    case "inbox.access_changed": {
      const count = Array.isArray(d.userIds) ? d.userIds.length : null;
      return count === null ? "Inbox" : `Inbox shared with ${count} ${count === 1 ? "person" : "people"}`;
    }
    default:
      if (email) return email;
      if (e.targetType) return `${e.targetType}${e.targetId ? ` ${e.targetId.slice(-6)}` : ""}`;
      return "—";
  }
}

export function AuditLog() {
  usePageTitle("Audit log");
  const [action, setAction] = useState("");
  const [events, setEvents] = useState<AuditEventView[]>([]);
  const [nextBefore, setNextBefore] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);

  const load = async (before?: string) => {
    const mine = ++generation.current;
    setLoading(true);
    setError(null);
    try {
      const page = await api.audit({ action: action || undefined, before, limit: PAGE_SIZE });
      if (mine !== generation.current) return;
      setEvents((current) => {
        if (before === undefined) return page.events;
        const seen = new Set(current.map((e) => e.id));
        return [...current, ...page.events.filter((e) => !seen.has(e.id))];
      });
      setNextBefore(page.nextBefore);
    } catch (err) {
      if (mine === generation.current) setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  };

  useEffect(() => {
    setEvents([]);
    setNextBefore(null);
    void load();
    return () => {
      generation.current++;
    };
    // Reload from the newest event whenever the filter changes.
  }, [action]);

  const options = Object.keys(ACTION_LABELS);
  if (action && !options.includes(action)) options.push(action);

  return (
    <>
      <PageHeader eyebrow="Settings" title="Audit log">
        <p>Who did what in this account, newest first. Times are in your time zone.</p>
      </PageHeader>
      <div class="toolbar">
        <div class="field field-inline">
          <label for="audit-action">Action</label>
          <select id="audit-action" class="select" value={action} onChange={(e) => setAction(e.currentTarget.value)}>
            <option value="">All actions</option>
            {options.map((a) => (
              <option key={a} value={a}>
                {ACTION_LABELS[a] ?? a}
              </option>
            ))}
          </select>
        </div>
        <p class="muted toolbar-count" role="status">
          {loading && events.length === 0 ? "" : `${events.length} event${events.length === 1 ? "" : "s"} shown`}
        </p>
      </div>

      {error !== null && (
        <Notice tone="error" title="Could not load the audit log">
          <p>{messageOf(error)}</p>
        </Notice>
      )}

      {events.length > 0 && (
        <div class="panel">
          <table class="table table-stack audit-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">IP address</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id}>
                  <td data-label="Time" class="nowrap">
                    <time dateTime={isoDate(e.createdAt)}>{formatDateTime(e.createdAt)}</time>
                  </td>
                  <td data-label="Actor" class="break">
                    {e.actorEmail ?? <span class="muted">System</span>}
                  </td>
                  <td data-label="Action">
                    <span class="strong">{ACTION_LABELS[e.action] ?? e.action}</span>
                    <code class="action-code">{e.action}</code>
                  </td>
                  <td data-label="Target" class="break">
                    {describeTarget(e)}
                  </td>
                  <td data-label="IP address" class="mono">
                    {e.ip ?? <span class="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {loading && <Loading label={events.length ? "Loading more events…" : "Loading events…"} />}

      {!loading && error === null && events.length === 0 && (
        <EmptyState title={action ? "No events of this kind" : "No events yet"}>
          <p>
            {action ? "Try another action, or all actions." : "Changes to users, invitations and sign-ins appear here."}
          </p>
        </EmptyState>
      )}

      {!loading && nextBefore !== null && (
        <div class="load-more">
          <button type="button" class="button" onClick={() => void load(nextBefore)}>
            Load more
          </button>
        </div>
      )}
    </>
  );
}
