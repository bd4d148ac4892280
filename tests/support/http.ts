import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { app } from "../../worker/app";

export const APP_ORIGIN = "http://127.0.0.1:8787";

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** A raw body, sent as is (for malformed-input tests). */
  rawBody?: string;
  /** A multipart/form-data body (uploads); the boundary header is set from it. */
  form?: FormData;
  cookie?: string;
  origin?: string | null;
  headers?: Record<string, string>;
  /** Per-request configuration or bindings, e.g. `{ ENVIRONMENT: "production" }`. */
  envOverrides?: Record<string, unknown>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test responses are asserted field by field
  text: string;
  setCookies: string[];
}

/** Sends one request through the real Worker app with the real local bindings. */
export async function call(path: string, opts: CallOptions = {}): Promise<CallResult> {
  const method =
    opts.method ?? (opts.body !== undefined || opts.rawBody !== undefined || opts.form !== undefined ? "POST" : "GET");
  const headers = new Headers(opts.headers);
  if (opts.body !== undefined || opts.rawBody !== undefined) {
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  if (opts.cookie) headers.set("cookie", opts.cookie);
  if (opts.origin !== null && !["GET", "HEAD"].includes(method)) headers.set("origin", opts.origin ?? APP_ORIGIN);
  const request = new Request(`${APP_ORIGIN}${path}`, {
    method,
    headers,
    body: opts.form ?? opts.rawBody ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
  });
  const ctx = createExecutionContext();
  const bindings = opts.envOverrides ? { ...env, ...opts.envOverrides } : env;
  const res = await app.fetch(request, bindings, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text, setCookies: res.headers.getSetCookie() };
}

/** The `name=value` pairs of a response's Set-Cookie headers, as a Cookie header. */
export function cookieFrom(result: CallResult, previous = ""): string {
  const jar = new Map<string, string>();
  for (const part of previous.split(/;\s*/).filter(Boolean)) {
    const [k, ...v] = part.split("=");
    jar.set(k!, v.join("="));
  }
  for (const sc of result.setCookies) {
    const [pair] = sc.split(";");
    const [k, ...v] = pair!.split("=");
    const value = v.join("=");
    if (value === "" || /max-age=0/i.test(sc)) jar.delete(k!);
    else jar.set(k!, value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}
