/**
 * Takes the token out of the fragment and then out of the address bar, so it does not linger in
 * history or get copied along with the URL. Fragments never reach the server or its logs.
 */
export function takeTokenFromHash(): string | null {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return token && token.length >= 20 ? token : null;
}
