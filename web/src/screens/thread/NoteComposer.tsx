import { useRef, useState } from "preact/hooks";
import type { NoteView, UserRef } from "../../../../worker/contracts";
import { api, messageOf } from "../../lib/api";
import { useAnnounce } from "../../lib/status";

/** The handle a teammate is mentioned by: the part of their address before the @. */
export const handleOf = (u: UserRef) => u.email.split("@")[0] ?? u.email;

/** The @word being typed at the caret, if any. */
function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const m = /(^|\s)@([\w.+-]*)$/.exec(text.slice(0, caret));
  return m ? { start: caret - m[2]!.length - 1, query: m[2]!.toLowerCase() } : null;
}

/**
 * An internal note: only the team sees it. Typing @ offers the teammates who can see the
 * conversation; the ones mentioned get an email.
 */
export function NoteComposer({
  threadId,
  teammates,
  onAdded,
}: {
  threadId: string;
  teammates: UserRef[];
  onAdded: (note: NoteView) => void;
}) {
  const announce = useAnnounce();
  const [text, setText] = useState("");
  const [caret, setCaret] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const mention = mentionAt(text, caret);
  const suggestions = mention
    ? teammates
        .filter(
          (t) => handleOf(t).toLowerCase().startsWith(mention.query) || t.name.toLowerCase().startsWith(mention.query),
        )
        .slice(0, 5)
    : [];

  const pick = (u: UserRef) => {
    if (!mention) return;
    const next = `${text.slice(0, mention.start)}@${handleOf(u)} ${text.slice(caret)}`;
    const at = mention.start + handleOf(u).length + 2;
    setText(next);
    setCaret(at);
    requestAnimationFrame(() => {
      ref.current?.focus();
      ref.current?.setSelectionRange(at, at);
    });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!text.trim()) {
      setError("Write the note first.");
      return ref.current?.focus();
    }
    setBusy(true);
    setError(null);
    try {
      const { note } = await api.addNote(threadId, text);
      onAdded(note);
      setText("");
      announce(
        note.mentions.length
          ? `Note added; ${note.mentions.map((m) => m.name || m.email).join(", ")} will get an email.`
          : "Note added.",
      );
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="note-composer" onSubmit={(e) => void submit(e)} noValidate>
      <label for="note-text" class="label">
        Internal note <span class="muted">(only your team sees it; type @ to mention someone)</span>
      </label>
      <textarea
        id="note-text"
        ref={ref}
        class="input textarea"
        rows={3}
        value={text}
        aria-describedby={error ? "note-error" : undefined}
        aria-invalid={error ? true : undefined}
        aria-autocomplete="list"
        aria-controls={suggestions.length ? "mention-list" : undefined}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setCaret(e.currentTarget.selectionStart ?? e.currentTarget.value.length);
        }}
        onKeyUp={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
        onClick={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
      />
      {suggestions.length > 0 && (
        <ul id="mention-list" class="mention-list" role="listbox" aria-label="Mention a teammate">
          {suggestions.map((u) => (
            <li key={u.id} role="option" aria-selected={false}>
              <button type="button" class="mention-option" onClick={() => pick(u)}>
                <span class="strong">@{handleOf(u)}</span> <span class="muted">{u.name || u.email}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p id="note-error" class="field-error" role="alert">
          {error}
        </p>
      )}
      <div>
        <button type="submit" class="button" disabled={busy}>
          {busy ? "Adding…" : "Add note"}
        </button>
      </div>
    </form>
  );
}
