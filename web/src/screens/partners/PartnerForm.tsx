import { useState } from "preact/hooks";
import type { InboxListItem } from "../../../../worker/contracts";
import type { EmbedPermission, PartnerView } from "../../../../worker/contracts/embed";
import { isExactOrigin } from "../../../../worker/contracts/origin";
import { ApiError, messageOf } from "../../lib/api";
import { Field, TextInput } from "../../components/Field";

export interface PartnerFormValue {
  name: string;
  origins: string[];
  inboxId: string;
  permissions: EmbedPermission[];
  keyType: "hs256" | "jwks";
  jwksUrl: string;
}

/** Registering a partner, or (with `initial`) changing one; the key is chosen only when registering. */
export function PartnerForm({
  idPrefix,
  inboxes,
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  idPrefix: string;
  inboxes: InboxListItem[];
  initial?: PartnerView;
  submitLabel: string;
  onSubmit: (v: PartnerFormValue) => Promise<void>;
  onCancel?: () => void;
}) {
  const [name, setName] = useState(initial?.name ?? "");
  const [origins, setOrigins] = useState(initial?.origins.join("\n") ?? "");
  const [inboxId, setInboxId] = useState(initial?.inbox?.id ?? inboxes[0]?.id ?? "");
  const [reply, setReply] = useState(initial ? initial.permissions.includes("reply") : true);
  const [notes, setNotes] = useState(initial ? initial.permissions.includes("notes") : false);
  const [keyType, setKeyType] = useState<"hs256" | "jwks">("hs256");
  const [jwksUrl, setJwksUrl] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const id = (s: string) => `${idPrefix}-${s}`;

  const submit = async (e: Event) => {
    e.preventDefault();
    const list = origins
      .split(/[\s,]+/)
      .map((o) => o.trim().replace(/\/$/, ""))
      .filter(Boolean);
    const problems: Record<string, string> = {};
    if (!name.trim()) problems["name"] = "Enter the partner's name.";
    if (list.length === 0) problems["origins"] = "Enter at least one origin.";
    const bad = list.find((o) => !isExactOrigin(o));
    if (bad) problems["origins"] = `${bad} is not an origin: use https://host (and :port), with no path.`;
    if (!initial && keyType === "jwks" && !/^https?:\/\//.test(jwksUrl.trim()))
      problems["jwksUrl"] = "Enter the JWKS URL.";
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    try {
      await onSubmit({
        name: name.trim(),
        origins: list,
        inboxId,
        permissions: ["read", ...(reply ? (["reply"] as const) : []), ...(notes ? (["notes"] as const) : [])],
        keyType,
        jwksUrl: jwksUrl.trim(),
      });
      if (!initial) {
        setName("");
        setOrigins("");
        setJwksUrl("");
      }
    } catch (err) {
      const fields = err instanceof ApiError ? err.fieldErrors : {};
      setErrors(Object.keys(fields).length > 0 ? fields : { form: messageOf(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="partner-form" onSubmit={submit} noValidate>
      <Field id={id("name")} label="Partner name" error={errors["name"] ?? null}>
        {(describedBy, invalid) => (
          <TextInput
            id={id("name")}
            value={name}
            maxLength={80}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field
        id={id("origins")}
        label="Allowed origins"
        hint="One per line, exactly as the browser shows them, e.g. https://portal.example.com. Only these pages may show the inbox."
        error={errors["origins"] ?? errors["origins.0"] ?? null}
      >
        {(describedBy, invalid) => (
          <textarea
            id={id("origins")}
            class="input"
            rows={3}
            spellcheck={false}
            value={origins}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            onInput={(e) => setOrigins(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field id={id("inbox")} label="Inbox it embeds" error={errors["inboxId"] ?? null}>
        {(describedBy) => (
          <select
            id={id("inbox")}
            class="select"
            value={inboxId}
            aria-describedby={describedBy}
            onChange={(e) => setInboxId(e.currentTarget.value)}
          >
            {inboxes.map((i) => (
              <option key={i.id} value={i.id}>
                {i.address}
              </option>
            ))}
          </select>
        )}
      </Field>
      <fieldset class="choice-group">
        <legend>What its users may do</legend>
        <label class="check-row">
          <input class="checkbox" type="checkbox" checked disabled /> Read conversations
        </label>
        <label class="check-row">
          <input class="checkbox" type="checkbox" checked={reply} onChange={(e) => setReply(e.currentTarget.checked)} />{" "}
          Reply from the inbox
        </label>
        <label class="check-row">
          <input class="checkbox" type="checkbox" checked={notes} onChange={(e) => setNotes(e.currentTarget.checked)} />{" "}
          Read and write internal notes
        </label>
      </fieldset>
      {!initial && (
        <fieldset class="choice-group">
          <legend>How its tokens are verified</legend>
          <label class="check-row">
            <input
              class="checkbox"
              type="radio"
              name={id("key")}
              checked={keyType === "hs256"}
              onChange={() => setKeyType("hs256")}
            />{" "}
            A shared HS256 secret (shown once after registering)
          </label>
          <label class="check-row">
            <input
              class="checkbox"
              type="radio"
              name={id("key")}
              checked={keyType === "jwks"}
              onChange={() => setKeyType("jwks")}
            />{" "}
            The partner's public keys (ES256 or RS256) at a JWKS URL
          </label>
          {keyType === "jwks" && (
            <Field id={id("jwks")} label="JWKS URL" error={errors["jwksUrl"] ?? errors["key.jwksUrl"] ?? null}>
              {(describedBy, invalid) => (
                <TextInput
                  id={id("jwks")}
                  type="url"
                  spellcheck={false}
                  placeholder="https://portal.example.com/.well-known/jwks.json"
                  value={jwksUrl}
                  aria-describedby={describedBy}
                  aria-invalid={invalid}
                  onInput={(e) => setJwksUrl(e.currentTarget.value)}
                />
              )}
            </Field>
          )}
        </fieldset>
      )}
      {errors["form"] && (
        <p class="field-error" role="alert">
          {errors["form"]}
        </p>
      )}
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
        {onCancel && (
          <button type="button" class="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
