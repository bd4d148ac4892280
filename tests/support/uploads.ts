import { expect } from "vitest";
import type { Actor } from "./accounts";
import { call } from "./http";

/** Uploads one file as the composer does (POST /api/uploads) and returns its upload id. */
export async function uploadFile(who: Actor, data: Uint8Array, filename: string, type: string): Promise<string> {
  const form = new FormData();
  form.append("file", new File([data], filename, { type }));
  const r = await call("/api/uploads", { cookie: who.cookie, form });
  expect(r.status, r.text).toBe(201);
  return r.json.upload.id as string;
}

/** Every byte value, then some text: a file whose bytes survive only an exact round trip. */
export function testFile(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + (i >> 8)) & 0xff;
  return out;
}
