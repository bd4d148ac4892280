export const toBase64Url = (data: Buffer | Uint8Array | string): string => Buffer.from(data).toString("base64url");

/** Accepts both alphabets, with or without padding, as Google's own parsers do. */
export function fromBase64Any(text: string): Buffer {
  const normalized = text.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/");
  return Buffer.from(normalized, "base64");
}

export function isBase64Any(text: string): boolean {
  return /^[A-Za-z0-9+/_-]*={0,2}$/.test(text.replace(/\s+/g, ""));
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) =>
    ch === "&" ? "&amp;" : ch === "<" ? "&lt;" : ch === ">" ? "&gt;" : ch === '"' ? "&quot;" : "&#39;",
  );
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
