/**
 * Single-key shortcuts (j/k, Enter, r, a, f, e, /) for the inbox and the thread page. They never
 * fire while the user types in a field or holds a modifier, so they cannot eat text.
 */
import { useEffect, useRef } from "preact/hooks";

const typingIn = (target: EventTarget | null) =>
  target instanceof HTMLElement &&
  (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));

export function useShortcuts(handlers: Record<string, () => void>): void {
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
      const handler = current.current[e.key];
      if (!handler) return;
      e.preventDefault();
      handler();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
}

/** Moves focus to the next (+1) or previous (-1) of the elements matching `selector`. */
export function moveFocus(selector: string, step: 1 | -1): void {
  const items = [...document.querySelectorAll<HTMLElement>(selector)];
  if (items.length === 0) return;
  const at = items.indexOf(document.activeElement as HTMLElement);
  const next = at === -1 ? (step === 1 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, at + step));
  items[next]!.focus();
  items[next]!.scrollIntoView({ block: "nearest" });
}
