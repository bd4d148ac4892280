import { useRef, useState } from "preact/hooks";
import type { ConnectionView } from "../../../../worker/contracts";
import { ApiError, api, messageOf } from "../../lib/api";
import { Link } from "../../lib/router";
import { useAnnounce } from "../../lib/status";
import { Field, TextInput } from "../../components/Field";
import { Notice } from "../../components/Notice";

/** The server decides (format, reserved names, who has it); this only catches the obvious first. */
function localPartProblem(value: string): string | null {
  const v = value.trim();
  if (!v) return "Enter the part before the @.";
  if (v.includes("@")) return "Enter only the part before the @; the domain is fixed.";
  if (v.length > 64) return "Use at most 64 characters.";
  return null;
}

/** Server answers that are about the name typed, shown under the field. */
const FIELD_CODES = new Set(["invalid_request", "address_reserved", "address_taken"]);

/**
 * Settings › Inbox connections › Request a shared address: a new inbox on Postroom's own domain
 * for a team with no mailbox to connect. It exists as soon as the request succeeds, empty.
 */
export function HostedAddressForm({
  domain,
  onCreated,
}: {
  domain: string;
  onCreated: (connection: ConnectionView) => void;
}) {
  const announce = useAnnounce();
  const [localPart, setLocalPart] = useState("");
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [created, setCreated] = useState<ConnectionView | null>(null);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    setCreated(null);
    const problem = localPartProblem(localPart);
    setFieldError(problem);
    if (problem) return inputRef.current?.focus();
    setBusy(true);
    try {
      const { connection } = await api.requestHostedAddress(localPart.trim());
      onCreated(connection);
      setCreated(connection);
      announce(`${connection.address} is ready.`);
      setLocalPart("");
    } catch (err) {
      if (err instanceof ApiError && FIELD_CODES.has(err.code)) {
        setFieldError(err.fieldErrors.localPart ? `${err.fieldErrors.localPart.replace(/\.$/, "")}.` : err.message);
        inputRef.current?.focus();
      } else {
        setFormError(messageOf(err));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="connect-invite-form" onSubmit={submit} noValidate aria-labelledby="hosted-title">
      <Field
        id="hosted-local-part"
        label="Address"
        hint="Letters, digits, dots, hyphens and underscores. Mail to it arrives here; replies go out from it."
        error={fieldError}
      >
        {(describedBy, invalid) => (
          <div class="address-input">
            <TextInput
              id="hosted-local-part"
              name="localPart"
              autocomplete="off"
              spellcheck={false}
              placeholder="brand"
              value={localPart}
              inputRef={inputRef}
              aria-describedby={describedBy ? `${describedBy} hosted-domain` : "hosted-domain"}
              aria-invalid={invalid}
              onInput={(e) => setLocalPart(e.currentTarget.value)}
            />
            <span id="hosted-domain" class="address-domain">
              @{domain}
            </span>
          </div>
        )}
      </Field>
      {created && (
        <Notice tone="success" title={`${created.address} is ready`}>
          <p>
            It has no history yet: mail sent to it from now on appears in{" "}
            <Link href={`/inbox/${encodeURIComponent(created.id)}`}>its inbox</Link>. Give people access to it as for
            any other inbox.
          </p>
        </Notice>
      )}
      {formError && (
        <p class="field-error" role="alert">
          {formError}
        </p>
      )}
      <div>
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? "Creating…" : "Create address"}
        </button>
      </div>
    </form>
  );
}
