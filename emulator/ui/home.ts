import { type OAuthClient } from "../auth/clients";
import { escapeHtml } from "../core/encoding";
import { type DemoAccount } from "../world/accounts";

/** The emulator's landing page in dev: which URLs to configure and which accounts exist. */
export function renderHome(
  url: string,
  accounts: readonly DemoAccount[],
  clients: { google: OAuthClient[]; microsoft: OAuthClient[] },
): string {
  const rows = accounts
    .map(
      (a) =>
        `<tr><td>${escapeHtml(a.address)}</td><td>${a.provider}</td><td>${a.kind}</td><td>${a.signInAs ? escapeHtml(a.signInAs) : "—"}</td><td>${escapeHtml(a.note)}</td></tr>`,
    )
    .join("");
  const urls: Array<[string, string]> = [
    ["Google OAuth authorize", `${url}/google/o/oauth2/v2/auth`],
    ["Google token", `${url}/google/token`],
    ["Google OIDC discovery", `${url}/google/.well-known/openid-configuration`],
    ["Gmail API base", `${url}/gmail/v1/users/me/…`],
    ["Microsoft authority", `${url}/microsoft/common/oauth2/v2.0/authorize`],
    ["Microsoft Graph base", `${url}/graph/v1.0/…`],
    ["Admin API", `${url}/__emulator/`],
  ];
  const client = (c: OAuthClient) =>
    `<code>${escapeHtml(c.clientId)}</code> / <code>${escapeHtml(c.clientSecret)}</code>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Postroom provider emulator</title>
<style>body{font-family:system-ui,sans-serif;margin:32px;color:#1f2328}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:6px 10px;text-align:left;font-size:14px}code{font-size:13px}</style></head>
<body><h1>Postroom provider emulator (sandbox mode)</h1>
<p>Speaks Google OAuth, Gmail API, Pub/Sub push, Microsoft identity platform and Microsoft Graph on this address.</p>
<h2>Endpoints</h2><table>${urls.map(([k, v]) => `<tr><td>${k}</td><td><code>${escapeHtml(v)}</code></td></tr>`).join("")}</table>
<h2>OAuth clients</h2><p>Google: ${clients.google.map(client).join(", ")}<br>Microsoft: ${clients.microsoft.map(client).join(", ")}</p>
<h2>Demo accounts</h2><p>No passwords: pick an account on the consent page.</p>
<table><tr><th>Address</th><th>Provider</th><th>Kind</th><th>Sign in as</th><th>Notes</th></tr>${rows}</table>
</body></html>`;
}
