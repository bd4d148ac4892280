/**
 * A router small enough to read in one sitting: the path lives in `location`, screens subscribe to
 * it with useLocation(), and <Link> turns plain clicks into history pushes. Anything fancier
 * (nested params, loaders) can replace this module without touching the screens' markup.
 */
import type { ComponentChildren, TargetedMouseEvent } from "preact";
import { useEffect, useState } from "preact/hooks";

export interface AppLocation {
  path: string;
  search: URLSearchParams;
}

/** A one-shot message for the next screen (e.g. "You have signed out"), kept out of the URL. */
let flash: string | null = null;

const listeners = new Set<() => void>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener("popstate", notify);

function current(): AppLocation {
  return { path: location.pathname.replace(/\/+$/, "") || "/", search: new URLSearchParams(location.search) };
}

export function navigate(to: string, options: { replace?: boolean; flash?: string } = {}): void {
  flash = options.flash ?? null;
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  notify();
}

/** Returns the pending flash message once; later calls get null. */
export function takeFlash(): string | null {
  const message = flash;
  flash = null;
  return message;
}

export function useLocation(): AppLocation {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    // The location may have changed between the first render and this effect.
    update();
    return () => {
      listeners.delete(update);
    };
  }, []);
  return loc;
}

interface LinkProps {
  href: string;
  class?: string;
  children?: ComponentChildren;
  "aria-current"?: "page";
  /** Runs before navigating (e.g. to close the menu the link sits in). */
  onClick?: () => void;
}

/** An ordinary link that navigates in place; modified clicks (new tab, download) keep their meaning. */
export function Link({ href, onClick, children, ...rest }: LinkProps) {
  const handle = (e: TargetedMouseEvent<HTMLAnchorElement>) => {
    onClick?.();
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (href !== location.pathname + location.search) navigate(href);
  };
  return (
    <a href={href} onClick={handle} {...rest}>
      {children}
    </a>
  );
}
