export const GRAPH_RESOURCE = "https://graph.microsoft.com/";
export const OIDC_SCOPES = ["openid", "profile", "email", "offline_access"] as const;

const KNOWN_GRAPH_SCOPES = [
  "User.Read",
  "User.ReadBasic.All",
  "Mail.ReadBasic",
  "Mail.Read",
  "Mail.ReadWrite",
  "Mail.Send",
  "Mail.ReadBasic.Shared",
  "Mail.Read.Shared",
  "Mail.ReadWrite.Shared",
  "Mail.Send.Shared",
  "MailboxSettings.Read",
];

/** Short, canonical form (`Mail.Read`), whatever case or resource prefix the client used; undefined if unknown. */
export function canonicalScope(scope: string): string | undefined {
  const lower = scope.toLowerCase();
  const oidc = OIDC_SCOPES.find((s) => s === lower);
  if (oidc) return oidc;
  const short = lower.startsWith(GRAPH_RESOURCE) ? lower.slice(GRAPH_RESOURCE.length) : lower;
  if (short === ".default") return ".default";
  return KNOWN_GRAPH_SCOPES.find((s) => s.toLowerCase() === short);
}

export const isOidcScope = (s: string): boolean => (OIDC_SCOPES as readonly string[]).includes(s);

/** How the token response spells the granted scopes: Graph permissions with the resource prefix. */
export function responseScope(scopes: string[]): string {
  return scopes.map((s) => (isOidcScope(s) ? s : `${GRAPH_RESOURCE}${s}`)).join(" ");
}

export function msScopeLabel(scope: string): string {
  const labels: Record<string, string> = {
    openid: "Sign you in",
    profile: "View your basic profile",
    email: "View your email address",
    offline_access: "Maintain access to data you have given it access to",
    "User.Read": "Sign you in and read your profile",
    "Mail.Read": "Read your mail",
    "Mail.ReadBasic": "Read basic mail properties",
    "Mail.ReadWrite": "Read and write access to your mail",
    "Mail.Send": "Send mail as you",
    "Mail.Read.Shared": "Read mail you can access, including shared mail",
    "Mail.ReadWrite.Shared": "Read and write mail you can access, including shared mail",
    "Mail.Send.Shared": "Send mail on behalf of others or yourself",
  };
  return labels[scope] ?? scope;
}
