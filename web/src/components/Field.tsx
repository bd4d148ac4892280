import type { ComponentChildren, InputHTMLAttributes, Ref } from "preact";

interface FieldProps {
  id: string;
  label: string;
  hint?: ComponentChildren;
  error?: string | null;
  children: (describedBy: string | undefined, invalid: boolean) => ComponentChildren;
}

/** A labelled control with its hint and error tied to it through aria-describedby. */
export function Field({ id, label, hint, error, children }: FieldProps) {
  const hintId = hint ? `${id}-hint` : null;
  const errorId = error ? `${id}-error` : null;
  const describedBy = [errorId, hintId].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field${error ? " field-invalid" : ""}`}>
      <label for={id}>{label}</label>
      {children(describedBy, Boolean(error))}
      {error && (
        <p id={errorId ?? undefined} class="field-error">
          {error}
        </p>
      )}
      {hint && (
        <p id={hintId ?? undefined} class="field-hint">
          {hint}
        </p>
      )}
    </div>
  );
}

type InputProps = InputHTMLAttributes & { inputRef?: Ref<HTMLInputElement> };

export function TextInput({ inputRef, ...props }: InputProps) {
  return <input class="input" ref={inputRef} {...props} />;
}
