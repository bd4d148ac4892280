import { readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const root = import.meta.dirname;

/**
 * Two projects in one run: "workers" runs inside workerd with the real bindings from wrangler.toml
 * (local D1, Durable Objects, Queues, R2); "node" runs the provider emulator's own tests and the
 * browser tests, which drive a real Chromium against a local `wrangler dev`.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  return {
    test: {
      restoreMocks: true,
      projects: [
        {
          plugins: [
            cloudflareTest({
              main: "./worker/index.ts",
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  TEST_SEED_SQL: readFileSync(path.join(root, "scripts", "seed.sql"), "utf8"),
                  // Tests read sign-in links from the development outbox; production-only behaviour
                  // is tested by overriding ENVIRONMENT per request.
                  ENVIRONMENT: "development",
                  RATE_LIMIT_SIGNIN_PER_IP: "100000",
                  RATE_LIMIT_SIGNIN_PER_EMAIL: "100000",
                  RATE_LIMIT_INVITES_PER_ACCOUNT: "100000",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["tests/worker/**/*.test.ts"],
            setupFiles: ["./tests/support/apply-migrations.ts"],
          },
        },
        {
          test: {
            name: "node",
            environment: "node",
            include: ["tests/emulator/**/*.test.ts", "tests/browser/**/*.test.ts", "tests/node/**/*.test.ts"],
            testTimeout: 60_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
