import { useRef, useState } from "preact/hooks";
import type { InvitableRole, InviteView } from "../../../../worker/contracts";
import { ApiError, api, messageOf } from "../../lib/api";
import { formatDuration } from "../../lib/format";
import { ROLE_HINTS, ROLE_LABELS, assignableRoles } from "../../lib/roles";
import { useSession } from "../../lib/session";
import { useAnnounce } from "../../lib/status";
import { emailProblem } from "../../lib/validate";
import { Field, TextInput } from "../../components/Field";

export function InviteForm({ onInvited }: { onInvited: (invite: InviteView) => void }) {
  const { me } = useSession();
  const announce = useAnnounce();
  const roles = assignableRoles(me.user.role);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<InvitableRole>("member");
  const [emailError, setEmailError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const emailRef = useRef<HTMLInputElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    const problem = emailProblem(email);
    setEmailError(problem ? problem.replace("your email address", "their email address") : null);
    if (problem) return emailRef.current?.focus();
    setBusy(true);
    try {
      const res = await api.invite(email.trim(), role);
      onInvited(res.invite);
      announce(`Invitation sent to ${res.invite.email}.`);
      setEmail("");
      emailRef.current?.focus();
    } catch (err) {
      if (err instanceof ApiError && (err.code === "already_member" || err.fieldErrors.email)) {
        setEmailError(err.fieldErrors.email ?? err.message);
        emailRef.current?.focus();
      } else if (err instanceof ApiError && err.code === "rate_limited" && err.retryAfterSeconds) {
        setFormError(`Too many invitations for now. Try again in ${formatDuration(err.retryAfterSeconds)}.`);
      } else {
        setFormError(messageOf(err));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="invite-form" onSubmit={submit} noValidate aria-labelledby="invite-title">
      <div class="invite-fields">
        <Field id="invite-email" label="Email address" error={emailError}>
          {(describedBy, invalid) => (
            <TextInput
              id="invite-email"
              type="email"
              name="email"
              autocomplete="off"
              spellcheck={false}
              inputMode="email"
              placeholder="name@example.com"
              value={email}
              inputRef={emailRef}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field id="invite-role" label="Role" hint={ROLE_HINTS[role]}>
          {(describedBy) => (
            <select
              id="invite-role"
              class="select"
              name="role"
              value={role}
              aria-describedby={describedBy}
              onChange={(e) => setRole(e.currentTarget.value as InvitableRole)}
            >
              {roles.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" class="button button-primary invite-submit" disabled={busy}>
          {busy ? "Sending…" : "Send invitation"}
        </button>
      </div>
      {formError && (
        <p class="field-error" role="alert">
          {formError}
        </p>
      )}
    </form>
  );
}
