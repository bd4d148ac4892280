import { type Context } from "hono";
import { type ContentfulStatusCode } from "hono/utils/http-status";

/** The standard Google API error body (googleapis "error" envelope). */
export function googleError(
  c: Context,
  code: ContentfulStatusCode,
  message: string,
  reason: string,
  status: string,
  extra: { domain?: string; location?: string; locationType?: string; headers?: Record<string, string> } = {},
): Response {
  const item: Record<string, string> = { message, domain: extra.domain ?? "global", reason };
  if (extra.location) item["location"] = extra.location;
  if (extra.locationType) item["locationType"] = extra.locationType;
  for (const [k, v] of Object.entries(extra.headers ?? {})) c.header(k, v);
  return c.json({ error: { code, message, errors: [item], status } }, code);
}

export const gmailErrors = {
  unauthenticated: (c: Context) =>
    googleError(
      c,
      401,
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
      "authError",
      "UNAUTHENTICATED",
      {
        location: "Authorization",
        locationType: "header",
        headers: { "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"' },
      },
    ),
  insufficientScope: (c: Context) =>
    googleError(
      c,
      403,
      "Request had insufficient authentication scopes.",
      "insufficientPermissions",
      "PERMISSION_DENIED",
    ),
  forbidden: (c: Context, message: string) => googleError(c, 403, message, "forbidden", "PERMISSION_DENIED"),
  delegationDenied: (c: Context, user: string) =>
    googleError(c, 403, `Delegation denied for ${user}`, "forbidden", "PERMISSION_DENIED"),
  notFound: (c: Context) => googleError(c, 404, "Requested entity was not found.", "notFound", "NOT_FOUND"),
  invalidArgument: (c: Context, message: string) => googleError(c, 400, message, "invalidArgument", "INVALID_ARGUMENT"),
  badRequest: (c: Context, message: string) => googleError(c, 400, message, "badRequest", "FAILED_PRECONDITION"),
};

/** OAuth endpoint errors (token, revoke): a flat `{error, error_description}` object. */
export function oauthError(c: Context, status: ContentfulStatusCode, error: string, description?: string): Response {
  return c.json(description === undefined ? { error } : { error, error_description: description }, status);
}
