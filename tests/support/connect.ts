/**
 * Drives the connect flow end to end against the provider emulator: the invitation, the public
 * connect page's calls, the provider's consent page (posted like a person would), and the callback.
 */
import { env } from "cloudflare:workers";
import type { Actor } from "./accounts";
import { call, cookieFrom, type CallResult } from "./http";
import { latestToken } from "./outbox";

export interface ConsentChoice {
  /** The account picked on the provider's consent page. */
  account: string;
  /** Scopes to leave unticked (granular consent). */
  untick?: string[];
  deny?: boolean;
}

export interface ProviderRound {
  start: CallResult;
  /** The callback URL the provider redirected to (path and query), and the browser's cookies. */
  callbackPath: string;
  cookie: string;
}

const decode = (s: string) =>
  s
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");

/** Starts OAuth for a connect token and answers the provider's consent page. */
export async function providerRound(
  token: string,
  provider: "google" | "microsoft",
  choice: ConsentChoice,
  cookie = "",
): Promise<ProviderRound> {
  const start = await call("/api/connect/start", { cookie, body: { token, provider, acknowledgeShared: true } });
  if (start.status !== 200) throw new Error(`start answered ${start.status}: ${start.text}`);
  const browser = cookieFrom(start, cookie);
  const authorizeUrl = start.json.authorizeUrl as string;
  const page = await fetch(authorizeUrl, { redirect: "manual" });
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const request = /name="request" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !request) throw new Error(`no consent form (${page.status}): ${html.slice(0, 300)}`);
  const scopes = [...html.matchAll(/name="scope" value="([^"]+)"/g)].map((m) => decode(m[1]!));
  const form = new URLSearchParams({ request, account: choice.account, decision: choice.deny ? "deny" : "allow" });
  for (const s of scopes) if (!choice.untick?.some((u) => s.endsWith(u))) form.append("scope", s);
  const answered = await fetch(new URL(decode(action), authorizeUrl), {
    method: "POST",
    body: form,
    redirect: "manual",
  });
  const location = answered.headers.get("location");
  if (answered.status !== 302 || !location)
    throw new Error(`consent answered ${answered.status}: ${(await answered.text()).slice(0, 300)}`);
  const url = new URL(location);
  return { start, callbackPath: url.pathname + url.search, cookie: browser };
}

export interface ConnectOutcome {
  outcome: string;
  detail: string | null;
  inboxId: string | null;
  callback: CallResult;
}

export async function finish(
  round: ProviderRound,
  path = round.callbackPath,
  cookie = round.cookie,
): Promise<ConnectOutcome> {
  const callback = await call(path, { cookie });
  if (callback.status !== 302) throw new Error(`callback answered ${callback.status}: ${callback.text}`);
  const result = new URL(callback.headers.get("location")!);
  return {
    outcome: result.searchParams.get("outcome") ?? "",
    detail: result.searchParams.get("detail"),
    inboxId: result.searchParams.get("inbox"),
    callback,
  };
}

/** Invites `address` to connect and returns the emailed connect token. */
export async function inviteToConnect(
  owner: Actor,
  address: string,
  kind: "shared" | "personal" = "shared",
  windowDays?: number,
): Promise<string> {
  const r = await call("/api/connections/invites", {
    cookie: owner.cookie,
    body: { email: address, kind, ...(windowDays === undefined ? {} : { windowDays }) },
  });
  if (r.status !== 201) throw new Error(`connect invite answered ${r.status}: ${r.text}`);
  return latestToken(address, "/connect");
}

export async function connect(
  owner: Actor,
  address: string,
  provider: "google" | "microsoft",
  choice: ConsentChoice,
  kind: "shared" | "personal" = "shared",
): Promise<ConnectOutcome> {
  const token = await inviteToConnect(owner, address, kind);
  return finish(await providerRound(token, provider, choice));
}

/** Calls the emulator's admin API (fault switches, clock, settings). */
export async function emulatorAdmin(path: string, body?: unknown, method = body === undefined ? "GET" : "POST") {
  const res = await fetch(`${env.EMULATOR_URL}/__emulator${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}
