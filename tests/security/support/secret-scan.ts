/**
 * Looking for secrets where they must never be: every D1 table (every column, blobs as bytes), every
 * R2 key and body, the raw bytes of everything else `wrangler dev` persisted (Durable Object storage,
 * queues), logs and recorded responses. Runs in Node against a stopped `wrangler dev`'s state
 * directory, reading it through the same local runtime (`getPlatformProxy`) the app used.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { D1Database, R2Bucket } from "@cloudflare/workers-types";
import { getPlatformProxy } from "wrangler";

const root = path.resolve(import.meta.dirname, "..", "..", "..");

export interface Secret {
  /** What it is (`google refresh token`), for the report; never the value itself. */
  kind: string;
  value: string;
}

export interface Place {
  name: string;
  text: string;
  /** Secrets this place is where they are handed out (a Set-Cookie, a key shown once on creation). */
  allows?: ReadonlySet<string>;
}

export interface Finding {
  place: string;
  kind: string;
}

export interface ScanResult {
  /** (place, secret form) pairs checked. */
  tried: number;
  findings: Finding[];
}

/** Shorter values would match by chance; every real secret here is far longer. */
const MIN_SECRET_LENGTH = 8;

/** The forms a leaked secret could take: as is, URL-encoded, base64 (standard and URL-safe). */
function forms(value: string): string[] {
  const b64 = Buffer.from(value).toString("base64");
  return [
    ...new Set([value, encodeURIComponent(value), b64.replace(/=+$/, ""), Buffer.from(value).toString("base64url")]),
  ];
}

export function scanForSecrets(
  places: Place[],
  secrets: Secret[],
  shapes: { kind: string; pattern: RegExp }[] = [],
): ScanResult {
  const unique = new Map<string, Secret>();
  for (const s of secrets) if (s.value.length >= MIN_SECRET_LENGTH) unique.set(s.value, s);
  let tried = 0;
  const findings: Finding[] = [];
  for (const place of places) {
    for (const secret of unique.values()) {
      if (place.allows?.has(secret.value)) continue;
      for (const form of forms(secret.value)) {
        tried++;
        if (place.text.includes(form)) {
          findings.push({ place: place.name, kind: secret.kind });
          break;
        }
      }
    }
    for (const shape of shapes) {
      tried++;
      const hit = [...place.text.matchAll(new RegExp(shape.pattern, "g"))].find((m) => !place.allows?.has(m[0]));
      if (hit) findings.push({ place: place.name, kind: `${shape.kind} (${hit[0].slice(0, 10)}…)` });
    }
  }
  return { tried, findings };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

/** D1 hands blobs back as byte arrays; read them as the bytes they are. */
function cellText(v: unknown): string {
  if (v instanceof ArrayBuffer) return Buffer.from(v).toString("latin1");
  if (Array.isArray(v) && v.every((b) => typeof b === "number")) return Buffer.from(v).toString("latin1");
  return v === null || v === undefined ? "" : String(v);
}

export interface PersistedState {
  places: Place[];
  /** Table name → row count, to show the scan read something. */
  tables: Record<string, number>;
  r2Keys: number;
}

/**
 * Every D1 table and every R2 object of a `wrangler dev --persist-to <persistDir>` state directory
 * (wrangler dev must have stopped), plus the raw bytes of every file in it.
 */
export async function readPersistedState(persistDir: string): Promise<PersistedState> {
  const places: Place[] = [];
  const tables: Record<string, number> = {};
  let r2Keys = 0;
  const proxy = await getPlatformProxy<{ DB: D1Database; RAW_MAIL: R2Bucket }>({
    configPath: path.join(root, "wrangler.toml"),
    persist: { path: path.join(persistDir, "v3") },
    remoteBindings: false,
  });
  try {
    const { DB, RAW_MAIL } = proxy.env;
    // The runtime's own _cf_ tables refuse reads; the raw file bytes below still cover them.
    const names = (
      await DB.prepare(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name`,
      ).all<{ name: string }>()
    ).results.map((r) => r.name);
    for (const name of names) {
      const rows = (await DB.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all<Record<string, unknown>>())
        .results;
      tables[name] = rows.length;
      places.push({
        name: `d1 ${name}`,
        text: rows
          .map((r) =>
            Object.entries(r)
              .map(([k, v]) => `${k}=${cellText(v)}`)
              .join("\t"),
          )
          .join("\n"),
      });
    }
    const keys: string[] = [];
    const bodies: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await RAW_MAIL.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const o of page.objects) {
        const body = await RAW_MAIL.get(o.key);
        keys.push(
          `${o.key}\t${JSON.stringify(body?.customMetadata ?? {})}\t${JSON.stringify(body?.httpMetadata ?? {})}`,
        );
        if (body) bodies.push(Buffer.from(await body.arrayBuffer()).toString("latin1"));
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    r2Keys = keys.length;
    places.push({ name: "r2 keys", text: keys.join("\n") }, { name: "r2 bodies", text: bodies.join("\n") });
  } finally {
    await proxy.dispose();
  }
  for (const f of filesUnder(persistDir)) {
    if (statSync(f).size === 0) continue;
    places.push({ name: `file ${path.relative(persistDir, f)}`, text: readFileSync(f).toString("latin1") });
  }
  return { places, tables, r2Keys };
}
