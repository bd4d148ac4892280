import { type RunningEmulator } from "../../../emulator/index";
import { googleSignIn, microsoftSignIn } from "./oauth";

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface ApiClient {
  token: string;
  get<T = Record<string, unknown>>(path: string, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  send<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
}

function client(base: string, token: string): ApiClient {
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${token}`, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      if (typeof body !== "string") (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const res = await fetch(path.startsWith("http") ? path : `${base}${path}`, init);
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
  return {
    token,
    get: (path, headers) => call("GET", path, undefined, headers),
    send: (method, path, body, headers) => call(method, path, body, headers),
  };
}

/** A Gmail API client for `account`, signed in through the emulator's OAuth flow. */
export async function gmailClient(emulator: RunningEmulator, account: string, scopes: string[]): Promise<ApiClient> {
  const tokens = await googleSignIn(emulator, account, ["openid", "email", ...scopes], { prompt: "consent" });
  return client(`${emulator.url}/gmail/v1/users/me`, tokens.access_token);
}

/** A Graph client signed in as `account` through the Microsoft flow. */
export async function graphClient(emulator: RunningEmulator, account: string, scopes: string[]): Promise<ApiClient> {
  const tokens = await microsoftSignIn(emulator, account, ["openid", "profile", "email", "offline_access", ...scopes]);
  return client(`${emulator.url}/graph/v1.0`, tokens.access_token);
}

export const b64url = (s: string | Buffer) => Buffer.from(s).toString("base64url");
