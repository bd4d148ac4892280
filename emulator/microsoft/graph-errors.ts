import { randomUUID } from "node:crypto";
import { type Context } from "hono";
import { type ContentfulStatusCode } from "hono/utils/http-status";

/** Graph's error envelope: `{error: {code, message, innerError: {date, request-id, client-request-id}}}`. */
export function graphError(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const requestId = randomUUID();
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  c.header("request-id", requestId);
  c.header("client-request-id", c.req.header("client-request-id") ?? requestId);
  return c.json(
    {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ""),
          "request-id": requestId,
          "client-request-id": c.req.header("client-request-id") ?? requestId,
        },
      },
    },
    status,
  );
}

export function throttled(c: Context, retryAfterSeconds: number): Response {
  const requestId = randomUUID();
  c.header("Retry-After", String(retryAfterSeconds));
  return c.json(
    {
      error: {
        code: "TooManyRequests",
        innerError: {
          code: "429",
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ""),
          message: "Please retry after",
          "request-id": requestId,
          status: "429",
        },
        message: "Please retry again later.",
      },
    },
    429,
  );
}

export const notFound = (c: Context) =>
  graphError(c, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
export const accessDenied = (c: Context) =>
  graphError(c, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
export const badRequest = (c: Context, message: string, code = "BadRequest") => graphError(c, 400, code, message);
