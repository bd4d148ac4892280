import { useState } from "preact/hooks";
import type { ThreadStatus, ThreadView } from "../../../../worker/contracts";
import { api, messageOf, type ThreadState } from "../../lib/api";
import { formatDateTime } from "../../lib/format";
import { useAnnounce } from "../../lib/status";

export const STATUS_LABELS: Record<ThreadStatus, string> = {
  open: "Open",
  pending: "Pending",
  snoozed: "Snoozed",
  closed: "Closed",
};

/** Snooze choices, as offsets from now or the next 9:00. */
function snoozeChoices(now = new Date()): { label: string; at: number }[] {
  const at9 = (days: number) => {
    const d = new Date(now);
    d.setDate(d.getDate() + days);
    d.setHours(9, 0, 0, 0);
    return d.getTime();
  };
  const daysToMonday = (8 - now.getDay()) % 7 || 7;
  return [
    { label: "In 3 hours", at: now.getTime() + 3 * 3_600_000 },
    { label: "Tomorrow at 9:00", at: at9(1) },
    { label: "Next Monday at 9:00", at: at9(daysToMonday) },
  ];
}

/**
 * Status, snooze, assignee, tags and hiding for one conversation. Each change goes to the server at
 * once and the bar shows what the server answered.
 */
export function ThreadActions({
  thread,
  canChange,
  onChanged,
}: {
  thread: ThreadView;
  canChange: boolean;
  onChanged: (state: Partial<ThreadState>) => void;
}) {
  const announce = useAnnounce();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [tagText, setTagText] = useState(thread.tags.join(", "));

  const run = async (label: string, action: () => Promise<Partial<ThreadState>>) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await action());
      announce(label);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const setStatus = (status: ThreadStatus, snoozedUntil?: number) =>
    run(
      status === "snoozed" ? `Snoozed until ${formatDateTime(snoozedUntil!)}.` : `Marked ${STATUS_LABELS[status]}.`,
      () => api.updateThread(thread.id, snoozedUntil ? { status, snoozedUntil } : { status }),
    );

  const saveTags = (e: Event) => {
    e.preventDefault();
    const tags = tagText
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    void run("Tags saved.", async () => {
      const r = await api.setTags(thread.id, tags);
      setTagText(r.tags.join(", "));
      return { tags: r.tags };
    });
  };

  if (!canChange) {
    return (
      <p class="thread-state muted">
        {STATUS_LABELS[thread.status]}
        {thread.assignee && ` · Assigned to ${thread.assignee.name || thread.assignee.email}`}
        {thread.tags.length > 0 && ` · ${thread.tags.join(", ")}`}
      </p>
    );
  }

  return (
    <section class="thread-actions" aria-label="Conversation status">
      <div class="thread-actions-row">
        <span class={`badge badge-status-${thread.status}`}>
          {STATUS_LABELS[thread.status]}
          {thread.status === "snoozed" && thread.snoozedUntil && ` until ${formatDateTime(thread.snoozedUntil)}`}
        </span>
        {thread.status === "closed" || thread.status === "snoozed" ? (
          <button type="button" class="button button-small" disabled={busy} onClick={() => void setStatus("open")}>
            Reopen
          </button>
        ) : (
          <button type="button" class="button button-small" disabled={busy} onClick={() => void setStatus("closed")}>
            Close
          </button>
        )}
        {thread.status !== "pending" && (
          <button type="button" class="button button-small" disabled={busy} onClick={() => void setStatus("pending")}>
            Mark pending
          </button>
        )}
        <label class="inline-field">
          <span>Snooze</span>
          <select
            class="select select-small"
            disabled={busy}
            value=""
            onChange={(e) => {
              const at = Number(e.currentTarget.value);
              if (at) void setStatus("snoozed", at);
            }}
          >
            <option value="">Choose…</option>
            {snoozeChoices().map((c) => (
              <option key={c.label} value={String(c.at)}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <label class="inline-field">
          <span>Assignee</span>
          <select
            class="select select-small"
            disabled={busy}
            value={thread.assignee?.id ?? ""}
            onChange={(e) => {
              const id = e.currentTarget.value || null;
              const who = thread.teammates.find((t) => t.id === id);
              void run(id ? `Assigned to ${who?.name || who?.email}.` : "Unassigned.", () =>
                api.updateThread(thread.id, { assigneeId: id }),
              );
            }}
          >
            <option value="">Nobody</option>
            {thread.teammates.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name || t.email}
              </option>
            ))}
          </select>
        </label>
      </div>
      <form class="thread-actions-row" onSubmit={saveTags}>
        <label class="inline-field grow">
          <span>Tags</span>
          <input
            class="input input-small"
            type="text"
            value={tagText}
            placeholder="billing, vip"
            onInput={(e) => setTagText(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="button button-small" disabled={busy}>
          Save tags
        </button>
        <button
          type="button"
          class="button button-small button-danger-quiet"
          disabled={busy}
          onClick={() =>
            void run(
              thread.hidden ? "Shown in Postroom again." : "Hidden from Postroom. The mailbox keeps it.",
              async () => {
                const r = await api.setHidden(thread.id, !thread.hidden);
                return { hidden: r.hidden };
              },
            )
          }
        >
          {thread.hidden ? "Unhide" : "Hide from Postroom"}
        </button>
      </form>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
