/** RFC 5322 message identifiers as threading keys: angle brackets stripped, whitespace removed. */

const ID = /<([^<>\s]+)>/g;

export function normalizeMessageId(value: string | undefined | null): string | null {
  if (!value) return null;
  const inBrackets = /<([^<>\s]+)>/.exec(value);
  const id = (inBrackets?.[1] ?? value.trim()).replace(/\s+/g, "");
  return id.length > 0 && id.length <= 998 ? id : null;
}

/** Every id in a References or In-Reply-To header, in order, without duplicates. */
export function parseIdList(value: string | undefined | null): string[] {
  if (!value) return [];
  const ids = [...value.matchAll(ID)].map((m) => m[1]!);
  // Some clients omit the brackets on a single id.
  if (ids.length === 0 && /^[^\s<>]+@[^\s<>]+$/.test(value.trim())) ids.push(value.trim());
  return [...new Set(ids)].filter((id) => id.length <= 998);
}
