/**
 * What counts as a partner origin, without zod: the settings screen checks it as people type, and
 * importing a schema module would pull zod into the app bundle.
 */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** https, or http on a loopback host (local development); nothing but scheme, host and port. */
export function isExactOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.origin !== value) return false;
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
}
