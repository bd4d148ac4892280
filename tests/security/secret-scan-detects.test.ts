/**
 * The secret scan must be able to fail: secrets planted in a scratch D1 table (a text column and a
 * blob), in an R2 key and an R2 body, in a log line and in a response are each reported where they
 * are, in each form a leak could take; a secret planted nowhere, or only where it is handed out, is not.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { D1Database, R2Bucket } from "@cloudflare/workers-types";
import { getPlatformProxy } from "wrangler";
import { readPersistedState, scanForSecrets, type Secret } from "./support/secret-scan";

const root = path.resolve(import.meta.dirname, "..", "..");
const dir = mkdtempSync(path.join(tmpdir(), "postroom-scan-plant-"));
const token = (label: string) => `${label}-${randomBytes(24).toString("base64url")}`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the secret scan", () => {
  it("reports secrets planted in D1, R2, logs and responses, and nothing else", { timeout: 120_000 }, async () => {
    const inText = token("d1text");
    const inBlob = token("d1blob");
    const inKey = token("r2key");
    const inBody = token("r2body");
    const inLog = token("log");
    const encoded = token("log+/=encoded");
    const inResponse = token("response");
    const handedOut = token("cookie");
    const nowhere = token("nowhere");

    const proxy = await getPlatformProxy<{ DB: D1Database; RAW_MAIL: R2Bucket }>({
      configPath: path.join(root, "wrangler.toml"),
      persist: { path: path.join(dir, "v3") },
      remoteBindings: false,
    });
    try {
      await proxy.env.DB.exec(`CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT, data BLOB)`);
      await proxy.env.DB.prepare(`INSERT INTO scratch (note, data) VALUES (?, ?)`)
        .bind(`prefix ${inText} suffix`, new TextEncoder().encode(inBlob))
        .run();
      await proxy.env.DB.prepare(`INSERT INTO scratch (note) VALUES ('nothing here')`).run();
      await proxy.env.RAW_MAIL.put(`raw/${inKey}`, "plain body");
      await proxy.env.RAW_MAIL.put("raw/clean-key", `From: a@example.com\r\n\r\nsee ${inBody}`);
    } finally {
      await proxy.dispose();
    }

    const state = await readPersistedState(dir);
    expect(state.tables["scratch"]).toBe(2);
    expect(state.r2Keys).toBe(2);
    const places = [
      ...state.places,
      {
        name: "logs",
        text: `{"level":"info","msg":"refreshed","token":"${inLog}"}\nnext ${encodeURIComponent(encoded)}`,
      },
      { name: "response 1", text: `{"ok":true,"debug":"${inResponse}"}` },
      { name: "response 2 set-cookie", text: `__Host-s=${handedOut}; Path=/`, allows: new Set([handedOut]) },
    ];
    const secrets: Secret[] = [
      { kind: "text", value: inText },
      { kind: "blob", value: inBlob },
      { kind: "r2 key", value: inKey },
      { kind: "r2 body", value: inBody },
      { kind: "log", value: inLog },
      { kind: "url-encoded", value: encoded },
      { kind: "response", value: inResponse },
      { kind: "handed out", value: handedOut },
      { kind: "nowhere", value: nowhere },
    ];
    const { tried, findings } = scanForSecrets(places, secrets, [
      { kind: "access token", pattern: /ya29\.[A-Za-z0-9_-]{20,}/ },
    ]);
    const where = (kind: string) => findings.filter((f) => f.kind === kind).map((f) => f.place);

    expect(tried).toBeGreaterThan(places.length * secrets.length);
    expect(where("text")).toContain("d1 scratch");
    expect(where("blob")).toContain("d1 scratch");
    expect(where("r2 key")).toContain("r2 keys");
    expect(where("r2 body")).toContain("r2 bodies");
    // The raw bytes of the state directory hold them too: the scan reads them a second way.
    expect(where("text").some((p) => p.startsWith("file "))).toBe(true);
    expect(where("log")).toEqual(["logs"]);
    expect(where("url-encoded")).toEqual(["logs"]);
    expect(where("response")).toEqual(["response 1"]);
    expect(where("handed out")).toEqual([]);
    expect(where("nowhere")).toEqual([]);

    const shaped = scanForSecrets(
      [{ name: "logs", text: `Bearer ya29.${"a".repeat(40)}` }],
      [],
      [{ kind: "access token", pattern: /ya29\.[A-Za-z0-9_-]{20,}/ }],
    );
    expect(shaped.findings).toEqual([{ place: "logs", kind: "access token (ya29.aaaaa…)" }]);
  });
});
