/**
 * Cron triggers under `wrangler dev`: /__scheduled must reach the Worker's scheduled handler (the
 * index merge, see tests/worker/search-index-maintenance.test.ts), not the app's page, which the
 * static assets serve for any path they are not told to leave to the Worker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "./support/dev-server";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer();
});

afterAll(async () => {
  await server?.stop();
});

describe("scheduled upkeep in development", () => {
  it("runs the Worker's scheduled handler when /__scheduled is asked, as npm run dev and the benchmark do", async () => {
    for (const mode of ["cors", "navigate"]) {
      const res = await fetch(`${server.origin}/__scheduled?cron=${encodeURIComponent("*/10 * * * *")}`, {
        headers: { "sec-fetch-mode": mode },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await res.text()).toBe("Ran scheduled event");
    }
  });
});
