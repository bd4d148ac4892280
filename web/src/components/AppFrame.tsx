import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { isManager } from "../lib/roles";
import { Link } from "../lib/router";
import { useSession } from "../lib/session";
import { AccountMenu } from "./AccountMenu";
import { Logo } from "./Layout";
import { LiveStatus } from "./Notice";

interface NavItem {
  href: string;
  label: string;
  icon: string;
}

function NavLink({ item, path }: { item: NavItem; path: string }) {
  // Inboxes and conversations are parts of the Inbox screen, not screens of their own.
  const active =
    item.href === "/"
      ? path === "/" || path.startsWith("/inbox/") || path.startsWith("/threads/")
      : path === item.href || path.startsWith(`${item.href}/`);
  return (
    <li>
      <Link href={item.href} class="nav-link" aria-current={active ? "page" : undefined}>
        <svg class="nav-icon" viewBox="0 0 20 20" aria-hidden="true" focusable="false">
          <path d={item.icon} fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round" />
        </svg>
        {item.label}
      </Link>
    </li>
  );
}

const ICONS = {
  inbox:
    "M3 11 5.2 4.6A1.5 1.5 0 0 1 6.6 3.6h6.8a1.5 1.5 0 0 1 1.4 1L17 11v4.5a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 3 15.5V11Zm0 0h4l1 2h4l1-2h4",
  users:
    "M7.5 9a3 3 0 1 0 0-6 3 3 0 0 0 0 6Zm-5 8c0-2.8 2.2-5 5-5s5 2.2 5 5M13 3.3a3 3 0 0 1 0 5.4M14.5 12.3c1.8.7 3 2.5 3 4.7",
  connections:
    "M8.2 11.8 11.8 8.2M9 5.6l1.6-1.6a3.4 3.4 0 0 1 4.8 4.8L13.8 10.4M11 14.4 9.4 16a3.4 3.4 0 0 1-4.8-4.8L6.2 9.6",
  audit: "M5 2.8h7l3.5 3.5v10.9H5V2.8Zm7 0v3.5h3.5M7.8 10h5M7.8 13h5",
  partners: "M2.8 4.5h14.4v11H2.8v-11Zm0 3h14.4M9.5 10.5h5.5v3H9.5v-3",
};

/** The signed-in frame: primary navigation in a left rail (a top bar on phones) and the page. */
export interface StatusMessage {
  message: string | null;
  tone: "success" | "error";
}

export function AppFrame({
  path,
  status,
  onDismissStatus,
  children,
}: {
  path: string;
  status: StatusMessage;
  onDismissStatus: () => void;
  children: ComponentChildren;
}) {
  const { me } = useSession();
  const manager = isManager(me.user.role);
  const nav = useRef<HTMLElement>(null);
  // On phones the rail is a row of tabs that scrolls sideways; keep the current one in view.
  useEffect(() => {
    const current = nav.current?.querySelector<HTMLElement>('[aria-current="page"]');
    const row = nav.current;
    if (!current || !row || row.scrollWidth <= row.clientWidth) return;
    const offset = current.getBoundingClientRect().left - row.getBoundingClientRect().left;
    row.scrollLeft += offset - (row.clientWidth - current.offsetWidth) / 2;
  }, [path]);
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="rail">
        <Link href="/" class="brand">
          <Logo />
          <span>Postroom</span>
        </Link>
        <nav class="rail-nav" aria-label="Primary" ref={nav}>
          <ul class="nav-list">
            <NavLink item={{ href: "/", label: "Inbox", icon: ICONS.inbox }} path={path} />
          </ul>
          <p class="nav-group" id="nav-settings">
            Settings
          </p>
          <ul class="nav-list" aria-labelledby="nav-settings">
            <NavLink item={{ href: "/settings/users", label: "Users", icon: ICONS.users }} path={path} />
            {manager && (
              <>
                <NavLink
                  item={{ href: "/settings/connections", label: "Inbox connections", icon: ICONS.connections }}
                  path={path}
                />
                <NavLink
                  item={{ href: "/settings/partners", label: "Partner sites", icon: ICONS.partners }}
                  path={path}
                />
                <NavLink item={{ href: "/settings/audit", label: "Audit log", icon: ICONS.audit }} path={path} />
              </>
            )}
          </ul>
        </nav>
        <AccountMenu />
      </header>
      <main id="main" class="main" tabIndex={-1}>
        {children}
      </main>
      <LiveStatus message={status.message} tone={status.tone} onDismiss={onDismissStatus} />
    </div>
  );
}
