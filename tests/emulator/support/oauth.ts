import { createHash, randomBytes } from "node:crypto";
import { type RunningEmulator, DEFAULT_GOOGLE_CLIENT, DEFAULT_MICROSOFT_CLIENT } from "../../../emulator/index";

export const REDIRECT_URI = "http://127.0.0.1:8787/oauth/callback";

export function pkcePair(method: "S256" | "plain" = "S256"): {
  verifier: string;
  challenge: string;
  method: "S256" | "plain";
} {
  const verifier = randomBytes(40).toString("base64url");
  const challenge = method === "S256" ? createHash("sha256").update(verifier).digest("base64url") : verifier;
  return { verifier, challenge, method };
}

/** Reads the hidden pending-request id from a consent page. */
export function pendingId(html: string): string {
  const m = /name="request" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no consent form in page: ${html.slice(0, 200)}`);
  return m[1]!;
}

export interface ConsentChoice {
  account: string;
  /** Scopes left ticked (Google); undefined keeps every scope ticked. */
  scopes?: string[];
  decision?: "allow" | "deny";
}

export function locationParams(res: Response): URLSearchParams {
  const location = res.headers.get("location");
  if (!location) throw new Error(`expected a redirect, got ${res.status}`);
  return new URL(location).searchParams;
}

/** Opens the Google consent page, then submits it as a user clicking through would. */
export async function googleConsent(
  emulator: RunningEmulator,
  params: Record<string, string>,
  choice: ConsentChoice,
): Promise<Response> {
  const query = new URLSearchParams({
    client_id: DEFAULT_GOOGLE_CLIENT.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: "code",
    state: "state-123",
    ...params,
  });
  const page = await fetch(`${emulator.urls.googleAuthorize}?${query}`, { redirect: "manual" });
  if (page.status !== 200) return page;
  const html = await page.text();
  const form = new URLSearchParams({
    request: pendingId(html),
    account: choice.account,
    decision: choice.decision ?? "allow",
  });
  const ticked = choice.scopes ?? [...html.matchAll(/name="scope" value="([^"]+)"/g)].map((m) => m[1]!);
  for (const s of ticked) form.append("scope", s);
  return fetch(`${emulator.url}/google/signin/oauth/consent`, {
    method: "POST",
    body: form,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    redirect: "manual",
  });
}

export async function googleToken(emulator: RunningEmulator, form: Record<string, string>): Promise<Response> {
  return fetch(emulator.urls.googleToken, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: DEFAULT_GOOGLE_CLIENT.clientId,
      client_secret: DEFAULT_GOOGLE_CLIENT.clientSecret,
      ...form,
    }),
  });
}

export interface GoogleTokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope: string;
  expires_in: number;
  token_type: string;
}

/** Full code flow with PKCE; returns the token response. */
export async function googleSignIn(
  emulator: RunningEmulator,
  account: string,
  scopes: string[],
  extra: Record<string, string> = {},
): Promise<GoogleTokens> {
  const pkce = pkcePair();
  const res = await googleConsent(
    emulator,
    {
      scope: scopes.join(" "),
      access_type: "offline",
      code_challenge: pkce.challenge,
      code_challenge_method: "S256",
      ...extra,
    },
    { account },
  );
  const code = locationParams(res).get("code");
  if (!code) throw new Error(`no code: ${res.headers.get("location")}`);
  const token = await googleToken(emulator, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: pkce.verifier,
  });
  if (token.status !== 200) throw new Error(`token exchange failed: ${await token.text()}`);
  return (await token.json()) as GoogleTokens;
}

export async function microsoftConsent(
  emulator: RunningEmulator,
  params: Record<string, string>,
  choice: ConsentChoice,
  tenant = "common",
): Promise<Response> {
  const query = new URLSearchParams({
    client_id: DEFAULT_MICROSOFT_CLIENT.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: "code",
    state: "ms-state",
    ...params,
  });
  const page = await fetch(`${emulator.urls.microsoftAuthority(tenant)}/oauth2/v2.0/authorize?${query}`, {
    redirect: "manual",
  });
  if (page.status !== 200) return page;
  const html = await page.text();
  return fetch(`${emulator.urls.microsoftAuthority(tenant)}/oauth2/v2.0/authorize/consent`, {
    method: "POST",
    body: new URLSearchParams({
      request: pendingId(html),
      account: choice.account,
      decision: choice.decision ?? "allow",
    }),
    headers: { "content-type": "application/x-www-form-urlencoded" },
    redirect: "manual",
  });
}

export async function microsoftToken(
  emulator: RunningEmulator,
  form: Record<string, string>,
  tenant = "common",
): Promise<Response> {
  return fetch(`${emulator.urls.microsoftAuthority(tenant)}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      client_id: DEFAULT_MICROSOFT_CLIENT.clientId,
      client_secret: DEFAULT_MICROSOFT_CLIENT.clientSecret,
      ...form,
    }),
  });
}

export interface MicrosoftTokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope: string;
  expires_in: number;
  token_type: string;
}

export async function microsoftSignIn(
  emulator: RunningEmulator,
  account: string,
  scopes: string[],
): Promise<MicrosoftTokens> {
  const pkce = pkcePair();
  const res = await microsoftConsent(
    emulator,
    { scope: scopes.join(" "), code_challenge: pkce.challenge, code_challenge_method: "S256" },
    { account },
  );
  const code = locationParams(res).get("code");
  if (!code) throw new Error(`no code: ${res.headers.get("location")}`);
  const token = await microsoftToken(emulator, {
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: pkce.verifier,
    scope: scopes.join(" "),
  });
  if (token.status !== 200) throw new Error(`token exchange failed: ${await token.text()}`);
  return (await token.json()) as MicrosoftTokens;
}

export const GMAIL_SCOPES = {
  modify: "https://www.googleapis.com/auth/gmail.modify",
  readonly: "https://www.googleapis.com/auth/gmail.readonly",
  send: "https://www.googleapis.com/auth/gmail.send",
  metadata: "https://www.googleapis.com/auth/gmail.metadata",
};
