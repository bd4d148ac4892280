/**
 * Driving a real local Postroom the way the browser does, for the benchmarks and the suites that run
 * against `wrangler dev`: a cookie jar with same-origin JSON calls, sign-up through the emailed link,
 * and connecting a mailbox through the emulator's real consent page.
 */
import type { DevServer } from "../tests/browser/support/dev-server";

/** A cookie jar and same-origin JSON calls, as the browser makes them. */
export class Client {
  #jar = new Map<string, string>();
  constructor(private readonly origin: string) {}
  cookie() {
    return [...this.#jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  take(res: Response) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair] = sc.split(";");
      const i = pair!.indexOf("=");
      this.#jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  }
  async call<T>(pathname: string, body?: unknown): Promise<{ status: number; json: T; location: string | null }> {
    const send = () =>
      fetch(this.origin + pathname, {
        method: body === undefined ? "GET" : "POST",
        redirect: "manual",
        // Nothing here should take minutes; a stuck request fails the run instead of hanging it.
        signal: AbortSignal.timeout(120_000),
        headers: { "content-type": "application/json", origin: this.origin, cookie: this.cookie() },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // A kept-alive connection the server closed just as it was reused fails before anything was
    // sent: a read is simply asked again (a long run polls for many minutes).
    const res = await send().catch((err: unknown) => {
      if (body !== undefined) throw err;
      return send();
    });
    this.take(res);
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      throw new Error(`${pathname} answered ${res.status} with non-JSON: ${text.slice(0, 300)}`);
    }
    return { status: res.status, json: json as T, location: res.headers.get("location") };
  }
}

export async function signUp(server: DevServer, client: Client, email: string): Promise<void> {
  await client.call("/api/auth/signup", { email, accountName: "Bench Co" });
  const link = await server.latestLink(email, "/auth/verify");
  await client.call("/api/auth/verify", { token: new URL(link).hash.replace("#token=", "") });
}

/** Invites, then walks the real consent page as the given account, and returns the inbox id. */
export async function connect(
  server: DevServer,
  client: Client,
  address: string,
  provider: "google" | "microsoft",
  account = address,
): Promise<string> {
  await client.call("/api/connections/invites", { email: address, kind: "shared" });
  const token = new URL(await server.latestLink(address, "/connect")).hash.replace("#token=", "");
  const start = await client.call<{ authorizeUrl: string }>("/api/connect/start", {
    token,
    provider,
    acknowledgeShared: true,
  });
  const page = await fetch(start.json.authorizeUrl, { redirect: "manual" });
  const html = await page.text();
  const decode = (s: string) => s.replace(/&amp;/g, "&");
  const action = decode(/<form[^>]*action="([^"]+)"/.exec(html)![1]!);
  const form = new URLSearchParams({
    request: /name="request" value="([^"]+)"/.exec(html)![1]!,
    account,
    decision: "allow",
  });
  for (const m of html.matchAll(/name="scope" value="([^"]+)"/g)) form.append("scope", decode(m[1]!));
  const answered = await fetch(new URL(action, start.json.authorizeUrl), {
    method: "POST",
    body: form,
    redirect: "manual",
  });
  const callback = new URL(answered.headers.get("location")!);
  const done = await fetch(server.origin + callback.pathname + callback.search, {
    redirect: "manual",
    headers: { cookie: client.cookie() },
  });
  const result = new URL(done.headers.get("location")!);
  const inbox = result.searchParams.get("inbox");
  if (!inbox) throw new Error(`connect refused: ${result.searchParams.get("outcome")}`);
  return inbox;
}
