import { randomUUID } from "node:crypto";
import { type Context } from "hono";
import { type ContentfulStatusCode } from "hono/utils/http-status";

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
}

/** The Entra ID token-endpoint error body. Clients classify by `error_codes`, never by the text. */
export function aadstsBody(
  code: number,
  error: string,
  text: string,
  now: number,
  errorUriBase: string,
): Record<string, unknown> {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = stamp(now);
  return {
    error,
    error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${errorUriBase}/error?code=${code}`,
  };
}

export function aadstsError(
  c: Context,
  status: ContentfulStatusCode,
  code: number,
  error: string,
  text: string,
  now: number,
  errorUriBase: string,
): Response {
  return c.json(aadstsBody(code, error, text, now, errorUriBase), status);
}

export const AADSTS_TEXT = {
  70008:
    "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
  700082: (issued: string) =>
    `The refresh token has expired due to inactivity. The token was issued on ${issued} and was inactive for 90.00:00:00.`,
  50173: (issued: string, validFrom: string) =>
    `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${issued}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${validFrom}'.`,
  50076:
    "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'.",
  53003: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
  65001: (clientId: string, name: string) =>
    `The user or administrator has not consented to use the application with ID '${clientId}' named '${name}'. Send an interactive authorization request for this user and resource.`,
  54005:
    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
  501481: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
  50148: "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
  9002313: "Invalid request. Request is malformed or invalid.",
  700016: (clientId: string, tenant: string) =>
    `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
  7000215: (clientId: string) =>
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  7000218: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  50011: (uri: string, clientId: string) =>
    `The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
  900144: (param: string) => `The request body must contain the following parameter: '${param}'.`,
  70011: (scope: string) =>
    `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
  65004: "User declined to consent to access the app.",
  50058: "A silent sign-in request was sent but no user is signed in.",
  50149: "Invalid Code_Challenge_method parameter.",
  50020: (user: string, homeTenant: string, tenant: string) =>
    `User account '${user}' from identity provider 'https://sts.windows.net/${homeTenant}/' does not exist in tenant '${tenant}' and cannot access the application in that tenant.`,
  70000: "The provided value for the 'code' parameter is not valid.",
  700084:
    "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended.",
  90009:
    "Application is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.",
} as const;

export const issuedStamp = stamp;
