/** The large mark above a signed-out page's heading; the heading says the same in words. */
export function StatusIcon({ tone }: { tone: "success" | "warning" | "error" }) {
  return (
    <svg class={`status-icon status-icon-${tone}`} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" stroke-width="2" />
      {tone === "success" ? (
        <path
          d="m7.5 12.5 3 3 6-6.5"
          fill="none"
          stroke="currentColor"
          stroke-width="2.2"
          stroke-linecap="round"
          stroke-linejoin="round"
        />
      ) : (
        <path d="M12 7v6M12 16.5v.5" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />
      )}
    </svg>
  );
}
