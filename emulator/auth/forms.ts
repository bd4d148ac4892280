import { type Context } from "hono";

/** Reads an OAuth request body: form-urlencoded (the norm) or JSON (Google also accepts it). */
export async function readForm(c: Context): Promise<URLSearchParams> {
  const type = c.req.header("content-type") ?? "";
  const text = await c.req.text();
  if (type.includes("application/json")) {
    try {
      const data = JSON.parse(text) as Record<string, unknown>;
      const out = new URLSearchParams();
      for (const [k, v] of Object.entries(data)) if (v !== undefined && v !== null) out.set(k, String(v));
      return out;
    } catch {
      return new URLSearchParams();
    }
  }
  return new URLSearchParams(text);
}

export function redirectWith(
  redirectUri: string,
  params: Record<string, string | undefined>,
  mode: "query" | "fragment" = "query",
): string {
  const url = new URL(redirectUri);
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  if (mode === "fragment") {
    url.hash = new URLSearchParams(entries).toString();
    return url.toString();
  }
  for (const [k, v] of entries) url.searchParams.set(k, v);
  return url.toString();
}
