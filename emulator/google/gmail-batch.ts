import { type HttpBindings } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { parsePart } from "../mime/parse";
import { googleError } from "./errors";

const CRLF = "\r\n";
const MAX_PARTS = 100;

interface InnerRequest {
  contentId: string | undefined;
  method: string;
  path: string;
  headers: Headers;
  body: string | undefined;
}

function parseInner(bytes: Buffer, contentId: string | undefined): InnerRequest | undefined {
  const text = bytes.toString("utf8").replace(/^\s+/, "");
  const split = text.search(/\r?\n\r?\n/);
  const head = split >= 0 ? text.slice(0, split) : text;
  const body = split >= 0 ? text.slice(split).replace(/^\r?\n\r?\n/, "") : "";
  const [requestLine = "", ...headerLines] = head.split(/\r?\n/);
  const m = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/[\d.]+)?$/.exec(requestLine.trim());
  if (!m) return undefined;
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { contentId, method: m[1]!, path: m[2]!, headers, body: body.length ? body : undefined };
}

/**
 * `POST /batch/gmail/v1`: multipart/mixed of application/http parts, answered in order. Each part is
 * a full request (quota and concurrency apply per part), so a 200 envelope can hold 429s.
 */
export function gmailBatchRoutes(
  dispatch: (req: Request, env: HttpBindings | undefined) => Promise<Response>,
): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  const handler = async (c: Context<{ Bindings: HttpBindings }>) => {
    const contentType = c.req.header("content-type") ?? "";
    if (!contentType.toLowerCase().startsWith("multipart/mixed")) {
      return googleError(
        c,
        400,
        "Invalid batch request: Content-Type must be multipart/mixed",
        "badRequest",
        "INVALID_ARGUMENT",
      );
    }
    const bytes = Buffer.from(await c.req.arrayBuffer());
    const root = parsePart(Buffer.concat([Buffer.from(`Content-Type: ${contentType}${CRLF}${CRLF}`), bytes]));
    if (root.children.length > MAX_PARTS) {
      return googleError(
        c,
        400,
        `Too many requests in batch; maximum is ${MAX_PARTS}`,
        "badRequest",
        "INVALID_ARGUMENT",
      );
    }
    const origin = new URL(c.req.url).origin;
    const outer = new Headers();
    c.req.raw.headers.forEach((value, key) => {
      if (!key.toLowerCase().startsWith("content-") && key.toLowerCase() !== "host") outer.set(key, value);
    });
    const requests = root.children.map((part) => {
      const cid = part.headers.find((h) => h.name.toLowerCase() === "content-id")?.value;
      return parseInner(part.body, cid);
    });
    const responses = await Promise.all(
      requests.map(async (r) => {
        if (!r)
          return new Response(JSON.stringify({ error: { code: 400, message: "Failed to parse batch request" } }), {
            status: 400,
          });
        const headers = new Headers(outer);
        r.headers.forEach((value, key) => headers.set(key, value));
        const url = r.path.startsWith("http")
          ? `${origin}${new URL(r.path).pathname}${new URL(r.path).search}`
          : `${origin}${r.path.startsWith("/") ? "" : "/"}${r.path}`;
        return dispatch(
          new Request(url, { method: r.method, headers, body: r.method === "GET" ? undefined : r.body }),
          c.env,
        );
      }),
    );
    const boundary = `batch_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    const parts: string[] = [];
    for (let i = 0; i < responses.length; i++) {
      const res = responses[i]!;
      const cid = requests[i]?.contentId;
      const body = await res.text();
      parts.push(
        `--${boundary}${CRLF}Content-Type: application/http${CRLF}` +
          (cid ? `Content-ID: ${cid.replace(/^<?/, "<response-")}${CRLF}` : "") +
          `${CRLF}HTTP/1.1 ${res.status} ${res.statusText || (res.status === 200 ? "OK" : "")}${CRLF}` +
          `Content-Type: ${res.headers.get("content-type") ?? "application/json; charset=UTF-8"}${CRLF}` +
          (res.headers.get("retry-after") ? `Retry-After: ${res.headers.get("retry-after")}${CRLF}` : "") +
          `${CRLF}${body}${CRLF}`,
      );
    }
    return c.body(parts.join("") + `--${boundary}--${CRLF}`, 200, {
      "Content-Type": `multipart/mixed; boundary=${boundary}`,
    });
  };
  app.post("/batch/gmail/v1", handler);
  app.post("/batch", handler);
  return app;
}
