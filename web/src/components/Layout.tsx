import type { ComponentChildren } from "preact";

/** The page title block every signed-in screen starts with; main focuses its h1 on navigation. */
export function PageHeader({
  eyebrow,
  title,
  children,
}: {
  eyebrow?: string;
  title: string;
  children?: ComponentChildren;
}) {
  return (
    <header class="page-header">
      {eyebrow && <p class="eyebrow">{eyebrow}</p>}
      <h1 tabIndex={-1}>{title}</h1>
      {children && <div class="page-lede">{children}</div>}
    </header>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty-state">
      <svg class="empty-icon" viewBox="0 0 48 48" aria-hidden="true" focusable="false">
        <path
          d="M8 26 13 11a3 3 0 0 1 2.8-2h16.4a3 3 0 0 1 2.8 2L40 26v10a3 3 0 0 1-3 3H11a3 3 0 0 1-3-3V26Z"
          fill="none"
          stroke="currentColor"
          stroke-width="2.5"
          stroke-linejoin="round"
        />
        <path
          d="M8 26h9l2.5 4h9l2.5-4h9"
          fill="none"
          stroke="currentColor"
          stroke-width="2.5"
          stroke-linejoin="round"
        />
      </svg>
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/**
 * The centred card of the signed-out pages (sign-in, emailed links). `wide` is for pages that have
 * more to explain than a form, such as what connecting a mailbox grants.
 */
export function AuthLayout({ children, wide }: { children: ComponentChildren; wide?: boolean }) {
  return (
    <div class="auth-page">
      <header class="auth-brand">
        <Logo />
        <span>Postroom</span>
      </header>
      <main id="main" class={`auth-card${wide ? " auth-card-wide" : ""}`} tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" fill="currentColor" />
      <path
        d="M8 11.5 16 17l8-5.5"
        fill="none"
        stroke="#fff"
        stroke-width="2.2"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
      <rect x="7" y="9" width="18" height="14" rx="2.5" fill="none" stroke="#fff" stroke-width="2.2" />
    </svg>
  );
}
