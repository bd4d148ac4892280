import { useEffect, useState } from "preact/hooks";
import type { SyncStatusView } from "../../../../worker/contracts";
import { api } from "../../lib/api";
import { formatDateTime, formatRelative, isoDate } from "../../lib/format";

const PHASE_LABELS: Record<SyncStatusView["phase"], string> = {
  idle: "Waiting to start",
  backfilling: "Importing recent mail",
  live: "Up to date",
  recovering: "Catching up on missed mail",
  failing: "Stopped",
};

const REASON_LABELS: Record<string, string> = {
  too_large: "too large",
  unparseable: "could not be read",
  fetch_failed: "could not be fetched",
};

function eta(seconds: number | null): string {
  if (seconds === null) return "estimating time left";
  if (seconds < 60) return "less than a minute left";
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `about ${minutes} min left` : `about ${Math.round(minutes / 60)} h left`;
}

/**
 * Where the import stands for one inbox: a progress bar while it backfills or recovers, the last
 * sync time once live, and the messages that could not be imported with the reason. Polls while
 * work is under way, so the screen moves without a reload.
 */
export function SyncProgress({ inboxId, stopped = false }: { inboxId: string; stopped?: boolean }) {
  const [status, setStatus] = useState<SyncStatusView | null>(null);
  const [showSkipped, setShowSkipped] = useState(false);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const s = await api.syncStatus(inboxId);
        if (!alive) return;
        setStatus(s);
        const busy = s.phase === "backfilling" || s.phase === "recovering" || s.phase === "idle";
        timer = setTimeout(load, busy ? 2000 : 30_000);
      } catch {
        if (alive) timer = setTimeout(load, 10_000);
      }
    };
    void load();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [inboxId]);

  if (!status) return null;
  const { done, total } = status.backfill;
  // A failing grant stops every sync, whatever phase the last one reached: never say "Up to date" then.
  const phase = stopped ? "failing" : status.phase;
  const working = phase === "backfilling" || phase === "recovering";
  const percent = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;

  return (
    <div class="sync-progress">
      <p class="muted">
        <span class="strong">{PHASE_LABELS[phase]}</span>
        {working && total > 0 && (
          <>
            {" "}
            · {done.toLocaleString()} of {total.toLocaleString()} messages · {eta(status.backfill.etaSeconds)}
          </>
        )}
        {!working && status.lastSyncAt !== null && (
          <>
            {" "}
            · last checked{" "}
            <time dateTime={isoDate(status.lastSyncAt)} title={formatDateTime(status.lastSyncAt)}>
              {formatRelative(status.lastSyncAt)}
            </time>
          </>
        )}
      </p>
      {working && (
        <progress class="sync-bar" max={Math.max(total, 1)} value={done} aria-label={`Import progress: ${percent}%`}>
          {percent}%
        </progress>
      )}
      {status.skippedCount > 0 && (
        <div class="sync-skipped">
          <button
            type="button"
            class="link-button"
            aria-expanded={showSkipped}
            onClick={() => setShowSkipped(!showSkipped)}
          >
            {status.skippedCount} {status.skippedCount === 1 ? "message" : "messages"} could not be imported
          </button>
          {showSkipped && (
            <ul class="sync-skipped-list">
              {status.skipped.map((s) => (
                <li key={s.providerMessageId}>
                  <span class="break">{s.providerMessageId}</span>: {REASON_LABELS[s.reason] ?? s.reason}
                  {s.detail ? ` (${s.detail})` : ""}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
