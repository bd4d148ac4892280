/**
 * Suites that drive a real `wrangler dev` for minutes and so stay out of `npm test`: the restart
 * faults of `npm run test:chaos` and the full-run secret scan of `npm run test:security`.
 */
import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: path.resolve(import.meta.dirname, ".."),
  test: {
    projects: [
      {
        test: {
          name: "chaos-restart",
          environment: "node",
          include: ["tests/chaos/**/*.test.ts"],
          testTimeout: 900_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "security-live",
          environment: "node",
          include: ["tests/security/**/*.test.ts"],
          testTimeout: 900_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
