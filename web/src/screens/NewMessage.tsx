import { useRef, useState } from "preact/hooks";
import type { InboxView } from "../../../worker/contracts";
import { ApiError, api, messageOf } from "../lib/api";
import { navigate } from "../lib/router";
import { emailProblem } from "../lib/validate";
import { Field, TextInput } from "../components/Field";
import { AttachFiles, useAttachments } from "../components/AttachFiles";
import { Notice } from "../components/Notice";

const split = (value: string) =>
  value
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter(Boolean);

/** A new conversation from the inbox's own address; on success, opens it. */
export function NewMessage({ inbox, onCancel }: { inbox: InboxView; onCancel: () => void }) {
  const [to, setTo] = useState("");
  const [subject, setSubject] = useState("");
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const files = useAttachments();
  const toRef = useRef<HTMLInputElement>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const list = split(to);
    const bad = list.find((a) => emailProblem(a));
    const problem =
      list.length === 0
        ? "Enter at least one recipient."
        : bad
          ? `“${bad}” is not an email address like name@example.com.`
          : !subject.trim()
            ? "Give the message a subject."
            : !text.trim()
              ? "Write a message before sending."
              : files.uploading
                ? "Wait until the files have finished uploading, then send."
                : null;
    setError(problem);
    if (problem) return toRef.current?.focus();
    setBusy(true);
    try {
      const sent = await api.newMessage(inbox.id, { to: list, cc: [], subject, text, uploadIds: files.uploadIds });
      files.clear();
      navigate(`/threads/${encodeURIComponent(sent.threadId)}`, { flash: `Sent from ${inbox.address}.` });
    } catch (err) {
      setError(err instanceof ApiError && err.code === "inbox_unavailable" ? err.message : messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel-body composer-form new-message" onSubmit={(e) => void submit(e)} noValidate>
      <p class="panel-note break">Sends from {inbox.address}</p>
      <Field id="new-to" label="To" hint="Separate addresses with commas.">
        {(describedBy) => (
          <TextInput
            id="new-to"
            inputRef={toRef}
            type="text"
            autocomplete="off"
            value={to}
            onInput={(e) => setTo(e.currentTarget.value)}
            aria-describedby={describedBy}
          />
        )}
      </Field>
      <Field id="new-subject" label="Subject">
        {(describedBy) => (
          <TextInput
            id="new-subject"
            type="text"
            maxLength={998}
            value={subject}
            onInput={(e) => setSubject(e.currentTarget.value)}
            aria-describedby={describedBy}
          />
        )}
      </Field>
      <Field id="new-text" label="Message">
        {(describedBy) => (
          <textarea
            id="new-text"
            class="input textarea"
            rows={6}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            aria-describedby={describedBy}
          />
        )}
      </Field>
      <AttachFiles id="new-files" state={files} />
      {error && (
        <Notice tone="error" title="The message was not sent">
          <p>{error}</p>
        </Notice>
      )}
      <div class="thread-actions-row">
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? "Sending…" : "Send"}
        </button>
        <button type="button" class="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
