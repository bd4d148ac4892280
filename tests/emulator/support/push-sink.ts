import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import { type AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (req: ReceivedRequest) => {
  status: number;
  body?: string;
  delayMs?: number;
  contentType?: string;
};

/** A local HTTP endpoint standing in for Postroom's webhook routes; records what the emulator sends. */
export class PushSink {
  readonly requests: ReceivedRequest[] = [];
  responder: Responder = () => ({ status: 204 });
  #server: Server | undefined;
  #waiters: Array<() => void> = [];
  url = "";

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const received: ReceivedRequest = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        this.requests.push(received);
        for (const w of this.#waiters.splice(0)) w();
        const reply = this.responder(received);
        const send = () => {
          res.writeHead(reply.status, { "content-type": reply.contentType ?? "text/plain" });
          res.end(reply.body ?? "");
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Answers Graph's validation handshake by echoing the token; everything else gets `fallback`. */
  echoValidation(fallback: Responder = () => ({ status: 202 })): void {
    this.responder = (req) => {
      const token = new URL(req.url, "http://x").searchParams.get("validationToken");
      if (token !== null) return { status: 200, body: token, contentType: "text/plain" };
      return fallback(req);
    };
  }

  matching(pathPrefix: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.url.startsWith(pathPrefix) && !r.url.includes("validationToken="));
  }

  async waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms; got ${this.requests.length} requests`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  clear(): void {
    this.requests.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
