/** Outbound HTTP to providers: bounded in time, JSON in and out, failures as values. */

export type HttpResult<T> =
  | { ok: true; status: number; body: T; headers: Headers }
  | { ok: false; status: number; body: unknown; headers: Headers | null; network?: true };

const TIMEOUT_MS = 15_000;

export async function requestJson<T>(url: string, init: RequestInit = {}): Promise<HttpResult<T>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch {
    return { ok: false, status: 0, body: null, headers: null, network: true };
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // keep the text: some errors come back as HTML or plain text
  }
  return res.ok
    ? { ok: true, status: res.status, body: body as T, headers: res.headers }
    : { ok: false, status: res.status, body, headers: res.headers };
}

export const form = (fields: Record<string, string | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) p.set(k, v);
  return p;
};
