import { useRef, useState } from "preact/hooks";
import type { ConnectInviteView, MailboxKind, SyncScope } from "../../../../worker/contracts";
import { ApiError, api, messageOf } from "../../lib/api";
import { KIND_HINTS, KIND_LABELS, SYNC_SCOPE_OPTIONS, SYNC_WINDOW_OPTIONS } from "../../lib/connections";
import { formatDuration } from "../../lib/format";
import { useAnnounce } from "../../lib/status";
import { emailProblem } from "../../lib/validate";
import { Field, TextInput } from "../../components/Field";
import { Notice } from "../../components/Notice";

const KINDS: MailboxKind[] = ["shared", "personal"];

/** The inbox id the server names when the address is already connected. */
function connectedInboxId(err: ApiError): string | null {
  const d = err.details;
  if (typeof d === "object" && d !== null && "inboxId" in d) {
    const id = (d as { inboxId: unknown }).inboxId;
    if (typeof id === "string") return id;
  }
  return null;
}

export function rateLimitMessage(err: unknown): string {
  return err instanceof ApiError && err.code === "rate_limited" && err.retryAfterSeconds
    ? `Too many invitations for now. Try again in ${formatDuration(err.retryAfterSeconds)}.`
    : messageOf(err);
}

export function ConnectInviteForm({
  onInvited,
  onReconnect,
}: {
  onInvited: (invite: ConnectInviteView) => void;
  /** Sends a reconnect link for an inbox and reports where it went; throws what the server said. */
  onReconnect: (inboxId: string) => Promise<ConnectInviteView>;
}) {
  const announce = useAnnounce();
  const [email, setEmail] = useState("");
  const [kind, setKind] = useState<MailboxKind>("shared");
  const [windowDays, setWindowDays] = useState(30);
  const [syncScope, setSyncScope] = useState<SyncScope>("all");
  const [emailError, setEmailError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [connected, setConnected] = useState<{ email: string; inboxId: string } | null>(null);
  const [busy, setBusy] = useState<"invite" | "reconnect" | null>(null);
  const emailRef = useRef<HTMLInputElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    setConnected(null);
    const problem = emailProblem(email);
    setEmailError(problem ? problem.replace("your email address", "the mailbox’s address") : null);
    if (problem) return emailRef.current?.focus();
    setBusy("invite");
    try {
      const res = await api.inviteToConnect(email.trim(), kind, windowDays, syncScope);
      onInvited(res.invite);
      announce(`Invitation to connect sent to ${res.invite.email}.`);
      setEmail("");
      emailRef.current?.focus();
    } catch (err) {
      const inboxId = err instanceof ApiError && err.code === "already_connected" ? connectedInboxId(err) : null;
      if (inboxId) {
        setConnected({ email: email.trim().toLowerCase(), inboxId });
      } else if (err instanceof ApiError && err.fieldErrors.email) {
        setEmailError(err.fieldErrors.email);
        emailRef.current?.focus();
      } else {
        setFormError(rateLimitMessage(err));
      }
    } finally {
      setBusy(null);
    }
  };

  const reconnect = async () => {
    if (!connected) return;
    setBusy("reconnect");
    setFormError(null);
    try {
      const invite = await onReconnect(connected.inboxId);
      announce(`Reconnect link sent to ${invite.email}.`);
      setConnected(null);
      setEmail("");
    } catch (err) {
      setFormError(rateLimitMessage(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <form class="connect-invite-form" onSubmit={submit} noValidate aria-labelledby="connect-invite-title">
      <Field
        id="connect-email"
        label="Mailbox address"
        hint="The invitation goes to this address; whoever reads it signs in with Google or Microsoft. They need no Postroom account."
        error={emailError}
      >
        {(describedBy, invalid) => (
          <TextInput
            id="connect-email"
            type="email"
            name="email"
            autocomplete="off"
            spellcheck={false}
            inputMode="email"
            placeholder="support@example.com"
            value={email}
            inputRef={emailRef}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            onInput={(e) => {
              setEmail(e.currentTarget.value);
              setConnected(null);
            }}
          />
        )}
      </Field>
      <fieldset class="choice-group">
        <legend>Mailbox type</legend>
        <div class="choices">
          {KINDS.map((k) => (
            <label key={k} class={`choice${kind === k ? " choice-selected" : ""}`}>
              <input
                type="radio"
                name="kind"
                value={k}
                checked={kind === k}
                aria-describedby={`kind-${k}-hint`}
                onChange={() => setKind(k)}
              />
              <span>
                <span class="choice-label">{KIND_LABELS[k]}</span>
                <span id={`kind-${k}-hint`} class="choice-hint">
                  {KIND_HINTS[k]}
                </span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
      <Field
        id="connect-window"
        label="History to import"
        hint="Mail from before this is left in the mailbox. You can import more later."
      >
        {(describedBy) => (
          <select
            id="connect-window"
            class="select"
            name="windowDays"
            value={String(windowDays)}
            aria-describedby={describedBy}
            onChange={(e) => setWindowDays(Number(e.currentTarget.value))}
          >
            {SYNC_WINDOW_OPTIONS.map((o) => (
              <option key={o.days} value={String(o.days)}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        id="connect-scope"
        label="Folders to sync"
        hint="Every folder includes mail that rules file away and mail sent from other clients."
      >
        {(describedBy) => (
          <select
            id="connect-scope"
            class="select"
            name="syncScope"
            value={syncScope}
            aria-describedby={describedBy}
            onChange={(e) => setSyncScope(e.currentTarget.value as SyncScope)}
          >
            {SYNC_SCOPE_OPTIONS.map((o) => (
              <option key={o.scope} value={o.scope}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {connected && (
        <Notice tone="warning" title={`${connected.email} is already connected`}>
          <p>
            It is in the list above. If it stopped working, send a reconnect link to whoever connected it instead of a
            new invitation.
          </p>
          <button type="button" class="button button-small" disabled={busy !== null} onClick={() => void reconnect()}>
            {busy === "reconnect" ? "Sending…" : "Send reconnect link"}
          </button>
        </Notice>
      )}
      {formError && (
        <p class="field-error" role="alert">
          {formError}
        </p>
      )}
      <div>
        <button type="submit" class="button button-primary" disabled={busy !== null}>
          {busy === "invite" ? "Sending…" : "Send invitation"}
        </button>
      </div>
    </form>
  );
}
