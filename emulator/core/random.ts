import { randomBytes } from "node:crypto";

/** A small seeded generator (mulberry32): the demo world must be identical for the same seed. */
export interface Rng {
  next(): number;
  int(maxExclusive: number): number;
  range(min: number, maxInclusive: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  hex(length: number): string;
  bytes(length: number): Buffer;
  guid(): string;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (length: number) => {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = int(256);
    return out;
  };
  return {
    next,
    int,
    range: (min, max) => min + int(max - min + 1),
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError("pick from an empty list");
      return items[int(items.length)] as T;
    },
    chance: (p) => next() < p,
    hex: (length) =>
      bytes(Math.ceil(length / 2))
        .toString("hex")
        .slice(0, length),
    bytes,
    guid: () => formatGuid(bytes(16)),
  };
}

export function formatGuid(b: Buffer): string {
  const h = Buffer.from(b).toString("hex");
  // RFC 4122 version 4 / variant bits, so the ids look like the GUIDs Entra and Graph hand out.
  const variant = (parseInt(h.slice(16, 17), 16) & 0x3) | 0x8;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant.toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Unpredictable values for credentials (codes, tokens): these never come from the seed. */
export function secretToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}
