/**
 * Stands in for Postroom's public webhook endpoints during the Worker tests: the emulator pushes
 * here (Pub/Sub-style and Graph-style), this server records each request exactly as received, and
 * answers Graph's validation handshake by echoing the token as text/plain, as the real route does.
 * Tests then replay the recorded requests into the Worker, so the emulator's real JWTs and bodies
 * are what the webhook routes verify. It also publishes partner key sets (JWKS) for the embed tests.
 */
import { createServer, type Server } from "node:http";
import { keepIdleConnections } from "../../emulator/index";

export interface RecordedPush {
  seq: number;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
}

export function startPushRelay(port: number): Promise<{ close: () => Promise<void> }> {
  const pushes: RecordedPush[] = [];
  let seq = 0;
  // Partner key sets for the embed tests: PUT stores a JWKS under a name, GET serves it like a partner would.
  const keySets = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://relay");
    if (url.pathname.startsWith("/__partner/jwks/")) {
      if (req.method === "GET") {
        const jwks = keySets.get(url.pathname);
        res.writeHead(jwks ? 200 : 404, { "content-type": "application/json" });
        res.end(jwks ?? "{}");
        return;
      }
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        keySets.set(url.pathname, Buffer.concat(parts).toString("utf8"));
        res.writeHead(204);
        res.end();
      });
      return;
    }
    if (req.method === "GET" && url.pathname === "/__relay/pushes") {
      const since = Number(url.searchParams.get("since") ?? 0);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ pushes: pushes.filter((p) => p.seq > since) }));
      return;
    }
    const validationToken = url.searchParams.get("validationToken");
    if (validationToken !== null) {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(validationToken);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      pushes.push({
        seq: ++seq,
        path: url.pathname,
        query: url.search,
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(202);
      res.end();
    });
  });
  // As the emulator does: no 5 s idle close for workerd's pooled connections to race with.
  keepIdleConnections(server);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve({ close: () => new Promise<void>((r) => server.close(() => r())) }));
  });
}
