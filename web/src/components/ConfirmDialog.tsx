import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef } from "preact/hooks";

interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  tone?: "danger" | "primary";
  busy?: boolean;
  /** Room for a choice inside the dialog, not just a sentence. */
  wide?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}

/**
 * A modal confirmation built on <dialog>: showModal() gives focus containment, Escape to cancel and
 * an inert background for free, and closing returns focus to the button that opened it.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  tone = "danger",
  busy,
  wide,
  onConfirm,
  onCancel,
}: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog
      ref={ref}
      class={`dialog${wide ? " dialog-wide" : ""}`}
      aria-labelledby={titleId}
      aria-describedby={children ? bodyId : undefined}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <h2 id={titleId} class="dialog-title">
        {title}
      </h2>
      {children && (
        <div id={bodyId} class="dialog-body">
          {children}
        </div>
      )}
      <div class="dialog-actions">
        <button type="button" class="button" onClick={onCancel} disabled={busy} autofocus>
          Cancel
        </button>
        <button type="button" class={`button button-${tone}`} onClick={onConfirm} disabled={busy}>
          {busy ? "Working…" : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
