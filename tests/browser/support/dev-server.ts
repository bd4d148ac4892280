/**
 * A real local Postroom for one browser test file: fresh local D1 with the real migrations, then
 * `wrangler dev` serving the built UI from dist/web (run `npm run build` first) and the Worker.
 * With `emulator: true` the provider emulator runs too, and the Worker's Google and Microsoft
 * clients point at it (sandbox mode), so a test can connect mailboxes through real consent pages.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEmulator, type RunningEmulator } from "../../../emulator/index";

const root = path.resolve(import.meta.dirname, "..", "..", "..");
const wranglerBin = path.join(root, "node_modules", ".bin", "wrangler");

export interface OutboxMessage {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  sentAt: number;
  /** Whether the local binding took it. */
  delivered: boolean;
  /** The sending inbox's address, for mail sent from an inbox (hosted addresses). */
  from?: string;
  /** The custom headers handed to the binding (a hosted reply's In-Reply-To and References). */
  headers?: Record<string, string>;
}

export interface DevServer {
  origin: string;
  port: number;
  /** The provider emulator, when the server was started with `emulator: true`. */
  emulator: RunningEmulator | null;
  /** Mail the development outbox holds, newest first. */
  outbox(): Promise<OutboxMessage[]>;
  /** The newest emailed link to `to` whose path is `linkPath` (`/auth/verify`, `/auth/invite`, `/connect`). */
  latestLink(to: string, linkPath: string): Promise<string>;
  /** What wrangler printed, for failure messages. */
  output(): string;
  /**
   * Kills `wrangler dev` and workerd at once (SIGKILL: no graceful shutdown, like a crash), then
   * starts them again on the same port with the same persisted state (D1, Durable Objects, Queues,
   * R2) and waits until it answers. The emulator keeps running.
   */
  restart(): Promise<void>;
  /** The persisted state directory (D1, Durable Objects, R2, Queues). */
  stateDir: string;
  /** Stops wrangler dev and the emulator; `keepState` leaves `stateDir` for the caller to read and delete. */
  stop(options?: { keepState?: boolean }): Promise<void>;
}

export interface DevServerOptions {
  /** Extra `--var` values on top of the development defaults. */
  vars?: Record<string, string>;
  /** Also start the provider emulator and point the Worker's OAuth clients and mail APIs at it. */
  emulator?: boolean;
  /** The emulator's mailboxes: the demo world (default) or the same accounts with no mail. */
  emulatorWorld?: "demo" | "empty";
  /** Turn on Gmail push: the Worker watches mailboxes and the emulator pushes to its /webhooks/google. */
  gmailPush?: boolean;
  /** How much of wrangler's output to keep for `output()`, in characters. Default 20,000. */
  logLimit?: number;
  /** Emulator state file (grants, refresh tokens, signing keys), for tests that inspect it. */
  emulatorStatePath?: string;
}

/** The sandbox configuration: the emulator's registered local clients, and a key ring for this run only. */
function sandboxVars(url: string): Record<string, string> {
  return {
    GOOGLE_CLIENT_ID: "postroom-local.apps.googleusercontent.com",
    GOOGLE_CLIENT_SECRET: "GOCSPX-postroom-local-secret",
    GOOGLE_ISSUER: `${url}/google`,
    GMAIL_API_BASE: url,
    MICROSOFT_CLIENT_ID: "7c1f3a52-0d4e-4b8f-9a6c-2e5d8b1f4c07",
    MICROSOFT_CLIENT_SECRET: "postroom-local-secret",
    MICROSOFT_AUTHORITY: `${url}/microsoft/common/v2.0`,
    GRAPH_API_BASE: `${url}/graph`,
    TOKEN_ENCRYPTION_KEYS: `test1:${randomBytes(32).toString("base64")}`,
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const childEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  // Keeps wrangler from prompting or drawing interactive output when a terminal is attached.
  CI: "true",
  NO_COLOR: "1",
});

async function waitForHealth(origin: string, child: ChildProcess, output: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early (${child.exitCode}):\n${output()}`);
    try {
      const res = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not answer /healthz within ${timeoutMs} ms:\n${output()}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  // The negative pid reaches workerd too, which wrangler starts as a grandchild.
  for (const target of [-child.pid, child.pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // Already gone.
    }
  }
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  if (!existsSync(path.join(root, "dist", "web", "index.html"))) {
    throw new Error("dist/web is missing: run `npm run build` before the browser tests");
  }
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const emulator = options.emulator
    ? await startEmulator({
        port: 0,
        seed: 7,
        world: options.emulatorWorld ?? "demo",
        gmailPushEndpoint: `${origin}/webhooks/google`,
        ...(options.emulatorStatePath ? { statePath: options.emulatorStatePath } : {}),
      })
    : null;
  const persistDir = mkdtempSync(path.join(tmpdir(), "postroom-browser-"));
  const migrate = spawnSync(wranglerBin, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir], {
    cwd: root,
    env: childEnv(),
    encoding: "utf8",
    timeout: 90_000,
  });
  if (migrate.status !== 0) {
    rmSync(persistDir, { recursive: true, force: true });
    await emulator?.close();
    throw new Error(`applying migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  }

  const inspectorPort = await freePort();
  const vars = {
    ENVIRONMENT: "development",
    APP_ORIGIN: origin,
    ...(emulator ? sandboxVars(emulator.url) : {}),
    ...(emulator && options.gmailPush
      ? {
          GMAIL_PUBSUB_TOPIC: "projects/postroom-demo/topics/gmail",
          PUBSUB_PUSH_SERVICE_ACCOUNT: "gmail-push@postroom-demo.iam.gserviceaccount.com",
        }
      : {}),
    ...options.vars,
  };
  const args = [
    "dev",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistDir,
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    "--show-interactive-dev-session=false",
    // Cron triggers do not fire by themselves in development; /__scheduled runs them on request.
    "--test-scheduled",
  ];
  const logLimit = options.logLimit ?? 20_000;
  let log = "";
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-logLimit);
  };
  const launch = () => {
    const child = spawn(wranglerBin, args, {
      cwd: root,
      env: childEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    return { child, exited };
  };
  let current = launch();
  // If the test process dies without running its afterAll, the detached group must not outlive it.
  const onExit = () => killGroup(current.child, "SIGKILL");
  process.once("exit", onExit);

  const stop = async (options: { keepState?: boolean } = {}) => {
    const { child, exited } = current;
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    // Stragglers in the group (workerd) outlive their parent if it died first.
    killGroup(child, "SIGKILL");
    process.off("exit", onExit);
    if (!options.keepState) rmSync(persistDir, { recursive: true, force: true });
    await emulator?.close();
  };

  const restart = async () => {
    const { child, exited } = current;
    killGroup(child, "SIGKILL");
    await exited;
    // The port is free once workerd is gone; wait for that rather than racing the new listener.
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(500) });
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        break;
      }
    }
    current = launch();
    await waitForHealth(origin, current.child, () => log, 90_000);
  };

  try {
    await waitForHealth(origin, current.child, () => log, 90_000);
  } catch (err) {
    await stop();
    throw err;
  }

  const outbox = async (): Promise<OutboxMessage[]> => {
    const res = await fetch(`${origin}/dev/outbox.json`);
    if (res.status !== 200) throw new Error(`GET /dev/outbox.json answered ${res.status}`);
    return ((await res.json()) as { messages: OutboxMessage[] }).messages;
  };

  return {
    origin,
    port,
    emulator,
    outbox,
    async latestLink(to, linkPath) {
      const escaped = linkPath.replace(/[/.]/g, "\\$&");
      const pattern = new RegExp(`https?://\\S+${escaped}#token=[A-Za-z0-9_-]+`);
      for (const m of await outbox()) {
        if (m.to !== to.toLowerCase()) continue;
        const match = pattern.exec(m.text);
        if (match) return match[0];
      }
      throw new Error(`no ${linkPath} link was mailed to ${to}`);
    },
    output: () => log,
    restart,
    stateDir: persistDir,
    stop,
  };
}
