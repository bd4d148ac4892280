/** The index merge only happens if a cron trigger calls the Worker's scheduled handler. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");

describe("the Worker's schedule", () => {
  it("runs the scheduled upkeep every ten minutes", () => {
    const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
    expect(toml).toMatch(/^\[triggers\]\ncrons = \["\*\/10 \* \* \* \*"\]$/m);
    expect(readFileSync(path.join(root, "worker", "index.ts"), "utf8")).toMatch(/async scheduled\(controller, env\)/);
  });
});
