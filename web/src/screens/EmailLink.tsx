/**
 * The page an emailed link opens (/auth/verify, /auth/invite). The token is spent only when the
 * person presses the button, because mail scanners open links to inspect them, and a page that
 * spent the single-use token on load would let them use it up.
 */
import { useRef, useState } from "preact/hooks";
import { ApiError, api, messageOf } from "../lib/api";
import { usePageTitle } from "../lib/hooks";
import { takeTokenFromHash } from "../lib/link-token";
import { Link, navigate } from "../lib/router";
import { AuthLayout } from "../components/Layout";
import { Notice } from "../components/Notice";

export type LinkKind = "verify" | "invite";

const COPY = {
  verify: {
    title: "Sign in to Postroom",
    lede: "You are one step from your team’s inbox. Press the button to finish signing in in this browser.",
    action: "Sign in to Postroom",
    busy: "Signing in…",
  },
  invite: {
    title: "Join the team",
    lede: "You have been invited to a shared inbox on Postroom. Join to start working with your team.",
    action: "Join the team",
    busy: "Joining…",
  },
} as const;

/** Headings for the answers that mean the link will never work; anything else may be retried. */
function finalErrorTitle(kind: LinkKind, code: string): string | null {
  switch (code) {
    case "invalid_link":
      return "Link not valid";
    case "link_used":
      return kind === "invite" ? "Invitation already accepted" : "Link already used";
    case "link_expired":
      return kind === "invite" ? "Invitation expired" : "Link expired";
    case "invite_revoked":
      return "Invitation withdrawn";
    case "forbidden":
      return "No access";
    default:
      return null;
  }
}

export function EmailLink({ kind }: { kind: LinkKind }) {
  const copy = COPY[kind];
  const [token] = useState(takeTokenFromHash);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ title: string; message: string; final: boolean } | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  usePageTitle(error?.final ? error.title : copy.title);

  const go = async () => {
    if (!token) return;
    setBusy(true);
    setError(null);
    try {
      await (kind === "invite" ? api.acceptInvite(token) : api.verify(token));
      navigate("/", { replace: true });
    } catch (err) {
      const code = err instanceof ApiError ? err.code : "unknown";
      const title = finalErrorTitle(kind, code);
      setError({ title: title ?? "That did not work", message: messageOf(err), final: title !== null });
      setBusy(false);
      requestAnimationFrame(() => headingRef.current?.focus());
    }
  };

  if (!token) {
    return (
      <AuthLayout>
        <h1 tabIndex={-1}>This link is incomplete</h1>
        <p class="lede">
          The address is missing its code. Open the link from the email again, or copy the whole address into the
          browser.
        </p>
        <div class="auth-footer">
          <Link href="/signin">Back to sign in</Link>
        </div>
      </AuthLayout>
    );
  }

  if (error?.final) {
    return (
      <AuthLayout>
        <svg class="status-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" stroke-width="2" />
          <path d="M12 7v6M12 16.5v.5" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />
        </svg>
        <h1 ref={headingRef} tabIndex={-1}>
          {error.title}
        </h1>
        <p class="lede-strong">{error.message}</p>
        <div class="auth-footer">
          <Link href="/signin" class="button button-primary button-block">
            Back to sign in
          </Link>
        </div>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout>
      <h1 ref={headingRef} tabIndex={-1}>
        {copy.title}
      </h1>
      <p class="lede">{copy.lede}</p>
      {error && (
        <Notice tone="error" title={error.title}>
          <p>{error.message}</p>
        </Notice>
      )}
      <button type="button" class="button button-primary button-block" onClick={go} disabled={busy}>
        {busy ? copy.busy : copy.action}
      </button>
      <p class="fine-print">Did not ask for this? Close this page; nothing happens until you continue.</p>
    </AuthLayout>
  );
}
