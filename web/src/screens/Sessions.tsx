import { useState } from "preact/hooks";
import { api, messageOf } from "../lib/api";
import { describeUserAgent, formatDateTime, formatRelative, isoDate } from "../lib/format";
import { useResource, usePageTitle } from "../lib/hooks";
import { navigate } from "../lib/router";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Loading, PageHeader } from "../components/Layout";
import { Notice } from "../components/Notice";

export function Sessions() {
  usePageTitle("Sessions");
  const sessions = useResource(() => api.sessions().then((r) => r.sessions));
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const signOutEverywhere = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.signOutEverywhere();
      navigate("/signin", { replace: true, flash: "You have signed out on every device." });
    } catch (err) {
      setBusy(false);
      setConfirming(false);
      setError(messageOf(err));
    }
  };

  const list = sessions.data ?? [];
  return (
    <>
      <PageHeader eyebrow="Account" title="Sessions">
        <p>The browsers where you are signed in to this account. Sessions end by themselves after 30 days.</p>
      </PageHeader>
      {error && <Notice tone="error">{error}</Notice>}
      {sessions.loading && !sessions.data && <Loading label="Loading sessions…" />}
      {sessions.error !== null && <Notice tone="error">{messageOf(sessions.error)}</Notice>}
      {sessions.data && (
        <section class="panel" aria-labelledby="sessions-title">
          <div class="panel-header">
            <h2 id="sessions-title">
              Active sessions <span class="count">{list.length}</span>
            </h2>
            <button type="button" class="button button-danger-quiet" onClick={() => setConfirming(true)}>
              Sign out everywhere
            </button>
          </div>
          <ul class="rows">
            {list.map((s) => (
              <li key={s.id} class="row">
                <div class="row-main">
                  <p class="strong">
                    {describeUserAgent(s.userAgent)}
                    {s.current && <span class="badge badge-accent">This browser</span>}
                  </p>
                  <p class="muted">
                    {s.ip ? `${s.ip} · ` : ""}Signed in{" "}
                    <time dateTime={isoDate(s.createdAt)}>{formatDateTime(s.createdAt)}</time>
                  </p>
                </div>
                <p class="row-side muted">
                  Active <time dateTime={isoDate(s.lastSeenAt)}>{formatRelative(s.lastSeenAt)}</time>
                </p>
              </li>
            ))}
          </ul>
        </section>
      )}
      <ConfirmDialog
        open={confirming}
        title="Sign out everywhere?"
        confirmLabel="Sign out everywhere"
        busy={busy}
        onConfirm={signOutEverywhere}
        onCancel={() => setConfirming(false)}
      >
        <p>Every browser signed in to this account as you, including this one, will need a new sign-in link.</p>
      </ConfirmDialog>
    </>
  );
}
