import type { ComponentChildren } from "preact";

interface NoticeProps {
  tone: "error" | "success" | "info" | "warning";
  title?: string;
  children?: ComponentChildren;
  id?: string;
}

/**
 * A message in the flow of the page. Errors are `role="alert"` so they are announced at once;
 * everything else is a polite status.
 */
export function Notice({ tone, title, children, id }: NoticeProps) {
  return (
    <div id={id} class={`notice notice-${tone}`} role={tone === "error" ? "alert" : "status"}>
      {title && <p class="notice-title">{title}</p>}
      {children && <div class="notice-body">{children}</div>}
    </div>
  );
}

/**
 * An always-present live region: screen readers only announce changes to a region that already
 * existed, so confirmations after an action go here rather than into a newly inserted element.
 */
export function LiveStatus({
  message,
  tone = "success",
  onDismiss,
}: {
  message: string | null;
  tone?: "success" | "error";
  onDismiss: () => void;
}) {
  return (
    <div class="live-status" role={tone === "error" ? "alert" : "status"}>
      {message && (
        <div class={`toast notice notice-${tone}`}>
          <p>{message}</p>
          <button type="button" class="toast-close" onClick={onDismiss}>
            <span aria-hidden="true">×</span>
            <span class="visually-hidden">Dismiss</span>
          </button>
        </div>
      )}
    </div>
  );
}
