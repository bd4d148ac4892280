import { existsSync, readdirSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { createServer } from "node:net";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const root = import.meta.dirname;

/** A port nothing listens on right now, for the emulator the Worker tests talk to. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * The public MIME corpora beside the project (../shared/corpora), handed to the Worker tests as a
 * binding because workerd has no file system. Empty when the folder is absent; the tests say so.
 */
function readCorpus(): { name: string; b64: string }[] {
  const dir = path.join(root, "..", "shared", "corpora");
  if (!existsSync(dir)) return [];
  const out: { name: string; b64: string }[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(eml|msg)(\.gz)?$/.test(entry.name)) {
        const bytes = readFileSync(full);
        out.push({
          name: path.relative(dir, full),
          b64: (entry.name.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("base64"),
        });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Stalwart's expected parses (../shared/corpora/stalwart-mail-parser): for each sample, the decoded
 * text of every part its JMAP selection shows as the body, and whether that part is HTML.
 */
function readStalwartOracle(): { name: string; texts: { text: string; html: boolean }[] }[] {
  const dir = path.join(root, "..", "shared", "corpora", "stalwart-mail-parser");
  if (!existsSync(dir)) return [];
  const out: { name: string; texts: { text: string; html: boolean }[] }[] = [];
  for (const sub of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const f of readdirSync(path.join(dir, sub.name)).filter((n) => n.endsWith(".json"))) {
      const expected = JSON.parse(readFileSync(path.join(dir, sub.name, f), "utf8")) as {
        text_body: number[];
        parts: { body: { Text?: string; Html?: string } }[];
      };
      const texts = expected.text_body.flatMap((i) => {
        const body = expected.parts[i]?.body ?? {};
        if (typeof body.Text === "string") return [{ text: body.Text, html: false }];
        if (typeof body.Html === "string") return [{ text: body.Html, html: true }];
        return [];
      });
      out.push({ name: `stalwart-mail-parser/${sub.name}/${f.replace(/\.json$/, ".eml")}`, texts });
    }
  }
  return out;
}

/**
 * DOMPurify's sanitizer test vectors (../shared/corpora/dompurify/expect.json), for the structural
 * check of our own sanitizer inside workerd. Only title and payload: the expected outputs are
 * DOMPurify's default configuration, not ours. Empty when the folder is absent; the test says so.
 */
function readSanitizerCorpus(): { title: string; payload: string }[] {
  const file = path.join(root, "..", "shared", "corpora", "dompurify", "expect.json");
  if (!existsSync(file)) return [];
  const records = JSON.parse(readFileSync(file, "utf8")) as { title?: string; payload: string }[];
  // Bindings must be plain JSON: some records have no title.
  return records.map(({ title, payload }) => ({ title: title ?? "", payload }));
}

/** A fixed test key ring: tests must be reproducible, and nothing real is ever sealed with it. */
const TEST_TOKEN_KEYS = `test1:${Buffer.alloc(32, 7).toString("base64")},old0:${Buffer.alloc(32, 3).toString("base64")}`;

/**
 * Two projects in one run: "workers" runs inside workerd with the real bindings from wrangler.toml
 * (local D1, Durable Objects, Queues, R2); "node" runs the provider emulator's own tests and the
 * browser tests, which drive a real Chromium against a local `wrangler dev`.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  // Chosen once per run (the config may be evaluated more than once, so keep the first choice).
  process.env.POSTROOM_TEST_EMULATOR_PORT ??= String(await freePort());
  process.env.POSTROOM_TEST_RELAY_PORT ??= String(await freePort());
  const emulatorUrl = `http://127.0.0.1:${process.env.POSTROOM_TEST_EMULATOR_PORT}`;
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
                // A database of its own for migrating data step by step (tests/worker/migration-*.test.ts).
                d1Databases: { MIGRATION_DB: "postroom-migration-check" },
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  TEST_CORPUS: readCorpus(),
                  // The ENVIRONMENT a deployment gets from wrangler.toml, before this test override.
                  TEST_DEPLOYED_ENVIRONMENT:
                    /^ENVIRONMENT\s*=\s*"([^"]*)"/m.exec(readFileSync(path.join(root, "wrangler.toml"), "utf8"))?.[1] ??
                    "",
                  TEST_CORPUS_ORACLE: readStalwartOracle(),
                  TEST_SANITIZER_CORPUS: readSanitizerCorpus(),
                  // How many random fault sequences the convergence property runs (npm run test:chaos raises it).
                  TEST_CHAOS_RUNS: process.env.CHAOS_RUNS ?? "3",
                  // The longest fault sequence one run may draw (npm run test:chaos lengthens it).
                  TEST_CHAOS_MAX_OPS: process.env.CHAOS_MAX_OPS ?? "10",
                  // "1" runs every security fuzz case (npm run test:security); npm test runs a fixed eighth.
                  TEST_SECURITY_FULL: process.env.SECURITY_FULL ?? "0",
                  TEST_SEED_SQL: readFileSync(path.join(root, "scripts", "seed.sql"), "utf8"),
                  // Tests read sign-in links from the development outbox; production-only behaviour
                  // is tested by overriding ENVIRONMENT per request.
                  ENVIRONMENT: "development",
                  RATE_LIMIT_SIGNIN_PER_IP: "100000",
                  RATE_LIMIT_SIGNIN_PER_EMAIL: "100000",
                  RATE_LIMIT_INVITES_PER_ACCOUNT: "100000",
                  // Sandbox mode: the real provider clients, pointed at the emulator.
                  EMULATOR_URL: emulatorUrl,
                  GOOGLE_CLIENT_ID: "postroom-local.apps.googleusercontent.com",
                  GOOGLE_CLIENT_SECRET: "GOCSPX-postroom-local-secret",
                  GOOGLE_ISSUER: `${emulatorUrl}/google`,
                  GMAIL_API_BASE: emulatorUrl,
                  MICROSOFT_CLIENT_ID: "7c1f3a52-0d4e-4b8f-9a6c-2e5d8b1f4c07",
                  MICROSOFT_CLIENT_SECRET: "postroom-local-secret",
                  MICROSOFT_AUTHORITY: `${emulatorUrl}/microsoft/common/v2.0`,
                  GRAPH_API_BASE: `${emulatorUrl}/graph`,
                  // Small, so that the tests reach it (graph-sync sets the emulator to the same figure).
                  GRAPH_FILTERED_DELTA_CAP: "8",
                  TOKEN_ENCRYPTION_KEYS: TEST_TOKEN_KEYS,
                  // Push: the emulator sends to a recording relay (tests/support/push-relay.ts).
                  TEST_PUSH_RELAY_URL: `http://127.0.0.1:${process.env.POSTROOM_TEST_RELAY_PORT}`,
                  GMAIL_PUBSUB_TOPIC: "projects/postroom-test/topics/gmail",
                  PUBSUB_PUSH_AUDIENCE: "http://127.0.0.1:8787/webhooks/google",
                  PUBSUB_PUSH_SERVICE_ACCOUNT: "gmail-push@postroom-demo.iam.gserviceaccount.com",
                  GRAPH_NOTIFICATION_URL: `http://127.0.0.1:${process.env.POSTROOM_TEST_RELAY_PORT}/webhooks/microsoft`,
                  HOSTED_DOMAIN: "hosted.postroom.test",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["tests/worker/**/*.test.ts"],
            setupFiles: ["./tests/support/apply-migrations.ts"],
            globalSetup: ["./tests/support/global-emulator.ts"],
          },
        },
        {
          test: {
            name: "node",
            environment: "node",
            include: ["tests/emulator/**/*.test.ts", "tests/browser/**/*.test.ts", "tests/node/**/*.test.ts"],
            // Whole journeys in a real browser against wrangler dev take about a minute on two busy cores.
            testTimeout: 180_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
