import { useEffect, useId, useRef, useState } from "preact/hooks";
import { api, messageOf } from "../lib/api";
import { ROLE_LABELS } from "../lib/roles";
import { Link, navigate } from "../lib/router";
import { useSession } from "../lib/session";
import { useAnnounce } from "../lib/status";

function initials(email: string, name: string): string {
  const source = name.trim() || email.split("@")[0] || "?";
  const parts = source.split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? (parts[0]?.[0] ?? "") + (parts[1]?.[0] ?? "") : source.slice(0, 2);
  return letters.toUpperCase();
}

/**
 * Who is signed in, where, and the ways out. A disclosure (button + panel of ordinary links and
 * buttons) rather than an ARIA menu, so Tab order and screen-reader browsing work as everywhere else.
 */
export function AccountMenu() {
  const { me, reloadMe } = useSession();
  const onStatus = useAnnounce();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const panelId = useId();
  const wrapper = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    const onPointer = (e: PointerEvent) => {
      if (!wrapper.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        setOpen(false);
        button.current?.focus();
      }
    };
    const onFocus = (e: FocusEvent) => {
      if (e.target instanceof Node && !wrapper.current?.contains(e.target)) setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    document.addEventListener("keydown", onKey);
    document.addEventListener("focusin", onFocus);
    return () => {
      document.removeEventListener("pointerdown", onPointer);
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("focusin", onFocus);
    };
  }, [open]);

  const signOut = async () => {
    setBusy(true);
    try {
      await api.signOut();
    } catch {
      // Whatever the server said, the person asked to leave: the sign-in page is the right place.
    }
    navigate("/signin", { replace: true, flash: "You have signed out." });
  };

  const switchTo = async (accountId: string, name: string) => {
    setBusy(true);
    try {
      await api.switchAccount(accountId);
      await reloadMe();
      setOpen(false);
      navigate("/", { replace: location.pathname === "/" });
      onStatus(`Switched to ${name}.`);
    } catch (err) {
      onStatus(messageOf(err), "error");
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="account" ref={wrapper}>
      <button
        ref={button}
        type="button"
        class="account-button"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen(!open)}
      >
        <span class="avatar" aria-hidden="true">
          {initials(me.user.email, me.user.name)}
        </span>
        <span class="account-button-text">
          <span class="account-button-name">{me.account.name || "Your account"}</span>
          <span class="account-button-email">{me.user.email}</span>
        </span>
        <span class="visually-hidden">Account menu</span>
        <svg class="chevron" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
          <path d="m4 6 4 4 4-4" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
        </svg>
      </button>
      <div id={panelId} class="account-panel" hidden={!open}>
        <div class="account-identity">
          <p class="account-email break">{me.user.email}</p>
          <p class="account-meta">
            {ROLE_LABELS[me.user.role]} · {me.account.name}
          </p>
        </div>
        {me.otherAccounts.length > 0 && (
          <div class="account-section">
            <p class="account-section-title" id={`${panelId}-switch`}>
              Switch account
            </p>
            <ul class="plain-list" aria-labelledby={`${panelId}-switch`}>
              {me.otherAccounts.map((a) => (
                <li key={a.id}>
                  <button type="button" class="menu-item" disabled={busy} onClick={() => switchTo(a.id, a.name)}>
                    {a.name}
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
        <div class="account-section">
          <Link href="/account/sessions" class="menu-item" onClick={() => setOpen(false)}>
            Sessions
          </Link>
          <button type="button" class="menu-item" onClick={signOut} disabled={busy}>
            Sign out
          </button>
        </div>
      </div>
    </div>
  );
}
