#!/usr/bin/env node
// `npm run dev`: the whole app on local defaults. Builds the UI (and keeps rebuilding it), applies
// the D1 migrations, seeds the demo account, starts the provider emulator (sandbox mode) and
// `wrangler dev`, then prints where to go and how to sign in. Ctrl-C stops everything.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const PORT = Number(process.env.PORT ?? 8787);
const EMULATOR_PORT = Number(process.env.EMULATOR_PORT ?? 8788);
// The demo partner site (another origin) that embeds the demo inbox; its partner row is in seed.sql.
const PARTNER_PORT = Number(process.env.PARTNER_PORT ?? 8790);
const DEMO_PARTNER_ID = "01JDEM0PARTNER000000000001";
const APP_ORIGIN = `http://127.0.0.1:${PORT}`;
const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

function run(label, command, args) {
  const r = spawnSync(command, args, { cwd: root, env: quietEnv, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(`\n${label} failed:\n${r.stdout}\n${r.stderr}\n`);
    process.exit(r.status ?? 1);
  }
  console.log(`✓ ${label}`);
}

const children = [];
function start(label, command, args, extraEnv = {}) {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...quietEnv, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const prefix = `[${label}] `;
  const forward = (stream, out) =>
    stream.on("data", (chunk) => {
      for (const line of String(chunk).split("\n")) if (line.trim()) out.write(prefix + line + "\n");
    });
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  child.on("exit", (code) => {
    if (!stopping) {
      console.error(`${label} exited (${code}); stopping.`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  setTimeout(() => process.exit(code), 500);
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

async function waitFor(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

// Local secrets: a fresh token-encryption key per machine, and the sandbox OAuth clients' secrets.
// .dev.vars is git-ignored; it is written once and then left alone.
const devVars = path.join(root, ".dev.vars");
if (!existsSync(devVars)) {
  writeFileSync(
    devVars,
    [
      `TOKEN_ENCRYPTION_KEYS=dev1:${randomBytes(32).toString("base64")}`,
      "GOOGLE_CLIENT_SECRET=GOCSPX-postroom-local-secret",
      "MICROSOFT_CLIENT_SECRET=postroom-local-secret",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  console.log("✓ wrote .dev.vars with a fresh local token-encryption key");
}

run("built the web UI", bin("vite"), ["build", "--config", "web/vite.config.ts", "--logLevel", "error"]);
run("built the embeddable inbox", bin("vite"), [
  "build",
  "--config",
  "web/widget/vite.config.ts",
  "--logLevel",
  "error",
]);
run("built the embed loader", bin("vite"), ["build", "--config", "web/embed/vite.config.ts", "--logLevel", "error"]);
run("applied D1 migrations (local)", bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local"]);
run("seeded the demo account", bin("wrangler"), ["d1", "execute", "DB", "--local", "--file", "scripts/seed.sql"]);

const vars = ["--var", "ENVIRONMENT:development", "--var", `APP_ORIGIN:${APP_ORIGIN}`];
// Hosted shared addresses: mail to <name>@hosted.postroom.test arrives through `npm run mail:send`.
vars.push("--var", "HOSTED_DOMAIN:hosted.postroom.test");
const emulatorEntry = path.join(root, "emulator", "main.ts");
let emulatorUrl = null;
if (existsSync(emulatorEntry)) {
  emulatorUrl = `http://127.0.0.1:${EMULATOR_PORT}`;
  // Sandbox mode: the same provider clients, pointed at the emulator.
  vars.push(
    "--var",
    `GOOGLE_CLIENT_ID:postroom-local.apps.googleusercontent.com`,
    "--var",
    `GOOGLE_ISSUER:${emulatorUrl}/google`,
    "--var",
    `GMAIL_API_BASE:${emulatorUrl}`,
    "--var",
    `MICROSOFT_CLIENT_ID:7c1f3a52-0d4e-4b8f-9a6c-2e5d8b1f4c07`,
    "--var",
    `MICROSOFT_AUTHORITY:${emulatorUrl}/microsoft/common/v2.0`,
    "--var",
    `GRAPH_API_BASE:${emulatorUrl}/graph`,
    // Gmail push through the emulator's Pub/Sub: its JWTs name this audience and service account.
    "--var",
    "GMAIL_PUBSUB_TOPIC:projects/postroom-demo/topics/gmail",
    "--var",
    "PUBSUB_PUSH_SERVICE_ACCOUNT:gmail-push@postroom-demo.iam.gserviceaccount.com",
  );
  start("emulator", bin("tsx"), [
    emulatorEntry,
    "serve",
    "--port",
    String(EMULATOR_PORT),
    "--state",
    path.join(root, "emulator", ".state", "world.json"),
    "--gmail-push-endpoint",
    `${APP_ORIGIN}/webhooks/google`,
  ]);
  if (!(await waitFor(`${emulatorUrl}/__emulator/`, 30_000))) {
    console.error("The provider emulator did not start.");
    stop(1);
  }
}

// The app's rebuilds must not empty dist/web: the widget and the loader live there too.
start("web", bin("vite"), [
  "build",
  "--watch",
  "--emptyOutDir=false",
  "--config",
  "web/vite.config.ts",
  "--logLevel",
  "warn",
]);
start("widget", bin("vite"), ["build", "--watch", "--config", "web/widget/vite.config.ts", "--logLevel", "warn"]);
start("embed", bin("vite"), ["build", "--watch", "--config", "web/embed/vite.config.ts", "--logLevel", "warn"]);
start("worker", bin("wrangler"), [
  "dev",
  "--port",
  String(PORT),
  "--ip",
  "127.0.0.1",
  "--show-interactive-dev-session=false",
  // Cron triggers do not fire by themselves in development; /__scheduled runs them on request.
  "--test-scheduled",
  ...vars,
]);

if (await waitFor(`${APP_ORIGIN}/healthz`, 60_000)) {
  start("partner", bin("tsx"), [
    path.join(root, "scripts", "demo-partner.ts"),
    "--port",
    String(PARTNER_PORT),
    "--postroom",
    APP_ORIGIN,
    "--partner",
    DEMO_PARTNER_ID,
    "--inbox",
    "sales@demo.test",
  ]);
  // What the deployed Worker's cron trigger does every ten minutes (wrangler.toml [triggers]).
  const CRON = "*/10 * * * *";
  setInterval(() => {
    fetch(`${APP_ORIGIN}/__scheduled?cron=${encodeURIComponent(CRON)}`).catch(() => {});
  }, 10 * 60_000).unref();
  console.log(`
  Postroom is running at ${APP_ORIGIN}
  ${emulatorUrl ? `Provider emulator (sandbox mode): ${emulatorUrl}` : ""}

  Sign in: open ${APP_ORIGIN}, enter alex@demo.test (owner of the demo account "Demo Co";
  also ben@demo.test member, cara@demo.test light, dana@demo.test admin), then open the
  development outbox at ${APP_ORIGIN}/dev/outbox and click the sign-in link.

  Demo partner site (embeds the demo inbox): http://127.0.0.1:${PARTNER_PORT}
  Connect sales@demo.test first, then choose it for "Demo partner portal" in Settings › Partner sites.

  Hosted addresses: request one in Settings › Inbox connections, then deliver mail to it with
  npm run mail:send -- --to brand@hosted.postroom.test --subject Hello --text "Hi there"${PORT === 8787 ? "" : ` --url ${APP_ORIGIN}`}
`);
} else {
  console.error("wrangler dev did not answer on /healthz within 60 s.");
  stop(1);
}
