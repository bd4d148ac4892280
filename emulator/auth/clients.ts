export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs; when omitted any http(s) URI is accepted (handy for local ports). */
  redirectUris?: string[];
  /** A public client (no secret) is treated differently by Microsoft on password changes. */
  public?: boolean;
  name?: string;
}

export const DEFAULT_GOOGLE_CLIENT: OAuthClient = {
  clientId: "postroom-local.apps.googleusercontent.com",
  clientSecret: "GOCSPX-postroom-local-secret",
  name: "Postroom (local)",
};

export const DEFAULT_MICROSOFT_CLIENT: OAuthClient = {
  clientId: "7c1f3a52-0d4e-4b8f-9a6c-2e5d8b1f4c07",
  clientSecret: "postroom-local-secret",
  name: "Postroom (local)",
};

export function redirectAllowed(client: OAuthClient, uri: string): boolean {
  if (client.redirectUris) return client.redirectUris.includes(uri);
  try {
    const u = new URL(uri);
    return (u.protocol === "http:" || u.protocol === "https:") && !u.hash;
  } catch {
    return false;
  }
}

/** Client credentials from the form body or HTTP Basic, as both providers accept. */
export function clientCredentials(
  authorization: string | undefined,
  form: URLSearchParams,
): { clientId: string | undefined; clientSecret: string | undefined } {
  if (authorization?.toLowerCase().startsWith("basic ")) {
    const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      return {
        clientId: decodeURIComponent(decoded.slice(0, colon)),
        clientSecret: decodeURIComponent(decoded.slice(colon + 1)),
      };
    }
  }
  return { clientId: form.get("client_id") ?? undefined, clientSecret: form.get("client_secret") ?? undefined };
}
