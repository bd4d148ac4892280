/**
 * The one error type routes throw for expected failures, and the one handler that turns every
 * error into the JSON shape `{ error: { code, message, details? } }`. Unexpected errors are logged
 * with their detail and answered with a generic 500: a stack trace never reaches the wire.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { log } from "./lib/log";

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);
export const forbidden = (message = "You do not have permission to do this") => new ApiError(403, "forbidden", message);

export function errorResponse(c: Context, err: Error): Response {
  if (err instanceof ApiError) {
    const body = {
      error: {
        code: err.code,
        message: sentence(err.message),
        ...(err.details === undefined ? {} : { details: err.details }),
      },
    };
    return c.json(body, err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    // Raised by hono's own middleware (body limit, malformed JSON in a validator).
    const status = err.status as ContentfulStatusCode;
    const code = status === 413 ? "payload_too_large" : status === 400 ? "bad_request" : "http_error";
    const message = status === 413 ? "The request body is too large" : err.message || "Bad request";
    return c.json({ error: { code, message } }, status);
  }
  log.error("unhandled_error", { path: new URL(c.req.url).pathname, method: c.req.method, error: err });
  return c.json({ error: { code: "internal_error", message: "Something went wrong on our side" } }, 500);
}

/** Messages reach people: always a full sentence. */
const sentence = (m: string) => (/[.!?]$/.test(m) ? m : `${m}.`);
