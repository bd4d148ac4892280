/** Header-level MIME helpers: unfolding, parameters (RFC 2231), encoded words (RFC 2047), addresses. */

export interface Header {
  name: string;
  value: string;
}

export interface Mailbox {
  name: string;
  address: string;
}

export function splitHeaderBlock(block: string): Header[] {
  const headers: Header[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      last.value += " " + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return headers;
}

export function headerValue(headers: Header[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

export function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const label = (charset ?? "utf-8").trim().toLowerCase().replace(/^"|"$/g, "");
  try {
    return new TextDecoder(label === "us-ascii" || label === "ascii" ? "utf-8" : label).decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

/** Decodes RFC 2047 encoded words; whitespace between two adjacent encoded words is dropped. */
export function decodeWords(value: string): string {
  const pattern = /=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g;
  const joined = value.replace(/(=\?[^?]+\?[bBqQ]\?[^?]*\?=)\s+(?==\?[^?]+\?[bBqQ]\?[^?]*\?=)/g, "$1");
  return joined.replace(pattern, (_match, charset: string, encoding: string, text: string) => {
    const bytes =
      encoding.toUpperCase() === "B"
        ? Buffer.from(text, "base64")
        : Buffer.from(
            text
              .replace(/_/g, " ")
              .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
            "latin1",
          );
    return decodeCharset(bytes, charset.split("*")[0]);
  });
}

export function encodeWord(text: string): string {
  // Only encode when needed, so plain subjects stay readable in raw MIME.
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  return `=?UTF-8?B?${Buffer.from(text, "utf8").toString("base64")}?=`;
}

export interface ParsedValue {
  value: string;
  params: Record<string, string>;
}

/** Parses `type/subtype; a=b; c*=utf-8''x%20y` style values (Content-Type, Content-Disposition). */
export function parseParams(raw: string): ParsedValue {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '"') quoted = !quoted;
    if (ch === "\\" && quoted && i + 1 < raw.length) {
      current += ch + raw[++i];
      continue;
    }
    if (ch === ";" && !quoted) {
      parts.push(current);
      current = "";
      continue;
    }
    current += ch;
  }
  parts.push(current);
  const [head = "", ...rest] = parts;
  const params: Record<string, string> = {};
  const continuations: Record<string, Array<{ index: number; text: string; encoded: boolean }>> = {};
  for (const part of rest) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    let val = part.slice(eq + 1).trim();
    if (val.startsWith('"') && val.endsWith('"')) val = val.slice(1, -1).replace(/\\(.)/g, "$1");
    const m = /^([^*]+)\*(\d+)?(\*)?$/.exec(key);
    if (m) {
      const base = m[1]!;
      (continuations[base] ??= []).push({ index: Number(m[2] ?? 0), text: val, encoded: Boolean(m[3]) || !m[2] });
    } else {
      params[key] = decodeWords(val);
    }
  }
  for (const [base, pieces] of Object.entries(continuations)) {
    pieces.sort((a, b) => a.index - b.index);
    let charset = "utf-8";
    const bytes: number[] = [];
    pieces.forEach((piece, i) => {
      let text = piece.text;
      if (piece.encoded && i === 0) {
        const m = /^([^']*)'[^']*'(.*)$/.exec(text);
        if (m) {
          charset = m[1] || "utf-8";
          text = m[2]!;
        }
      }
      if (piece.encoded) {
        for (let j = 0; j < text.length; j++) {
          if (text[j] === "%" && /^[0-9A-Fa-f]{2}$/.test(text.slice(j + 1, j + 3))) {
            bytes.push(parseInt(text.slice(j + 1, j + 3), 16));
            j += 2;
          } else bytes.push(...Buffer.from(text[j]!, "utf8"));
        }
      } else bytes.push(...Buffer.from(text, "utf8"));
    });
    params[base] = decodeCharset(Buffer.from(bytes), charset);
  }
  return { value: head.trim().toLowerCase(), params };
}

/** Parses an address list (`"Last, First" <a@b>, c@d, Group: e@f;`) into name/address pairs. */
export function parseAddressList(raw: string | undefined): Mailbox[] {
  if (!raw) return [];
  const out: Mailbox[] = [];
  const items: string[] = [];
  let current = "";
  let quoted = false;
  let angle = 0;
  for (const ch of raw) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === "<") angle++;
    else if (!quoted && ch === ">") angle = Math.max(0, angle - 1);
    if ((ch === "," || ch === ";") && !quoted && angle === 0) {
      items.push(current);
      current = "";
      continue;
    }
    if (ch === ":" && !quoted && angle === 0 && !current.includes("@")) {
      current = "";
      continue;
    }
    current += ch;
  }
  items.push(current);
  for (const item of items) {
    const text = item.trim();
    if (!text) continue;
    const m = /^(.*?)<([^>]*)>\s*$/.exec(text);
    if (m) {
      const name = decodeWords(m[1]!.trim().replace(/^"|"$/g, "").replace(/\\(.)/g, "$1")).trim();
      out.push({ name, address: m[2]!.trim() });
    } else if (text.includes("@")) {
      const address = text.replace(/\(.*\)/g, "").trim();
      out.push({ name: "", address });
    }
  }
  return out;
}

export function formatMailbox(m: Mailbox): string {
  if (!m.name) return m.address;
  const name = /^[\x20-\x7e]*$/.test(m.name)
    ? /[(),.:;<>@[\]"\\]/.test(m.name)
      ? `"${m.name.replace(/(["\\])/g, "\\$1")}"`
      : m.name
    : encodeWord(m.name);
  return `${name} <${m.address}>`;
}

/** Message-ID lists as they appear in In-Reply-To / References. */
export function parseMessageIds(raw: string | undefined): string[] {
  if (!raw) return [];
  const ids = raw.match(/<[^<>\s]+>/g);
  return ids ?? raw.split(/\s+/).filter(Boolean);
}
