import { parseArgs } from "node:util";
import { DEMO_ACCOUNTS, DEFAULT_GOOGLE_CLIENT, DEFAULT_MICROSOFT_CLIENT, startEmulator } from "./index";

const USAGE = `Usage:
  emulator serve [--port 8788] [--host 127.0.0.1] [--seed 1] [--world demo|empty] [--state emulator/.state/world.json]
                 [--gmail-push-endpoint URL] [--push-audience AUD]
  emulator send --to ADDRESS [--from ADDRESS] [--cc ADDRESS] [--subject TEXT] [--text TEXT] [--html HTML]
                [--raw-file FILE] [--reply-to-thread ID] [--emulator http://127.0.0.1:8788]`;

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8788" },
      host: { type: "string", default: "127.0.0.1" },
      seed: { type: "string", default: "1" },
      world: { type: "string", default: "demo" },
      state: { type: "string" },
      "gmail-push-endpoint": { type: "string" },
      "push-audience": { type: "string" },
    },
  });
  const world = values.world === "empty" ? "empty" : "demo";
  const emulator = await startEmulator({
    port: Number(values.port),
    host: values.host,
    seed: Number(values.seed),
    world,
    statePath: values.state,
    gmailPushEndpoint: values["gmail-push-endpoint"],
    pushAudience: values["push-audience"],
  });
  const lines = [
    `Provider emulator listening on ${emulator.url}`,
    `  Google OAuth  ${emulator.urls.googleAuthorize}`,
    `  Gmail API     ${emulator.url}/gmail/v1/...`,
    `  Microsoft     ${emulator.urls.microsoftAuthority()}/oauth2/v2.0/authorize`,
    `  Graph         ${emulator.urls.graphBase}/v1.0/...`,
    `  Admin API     ${emulator.urls.admin}/ (loopback only)`,
    `  OAuth clients Google ${DEFAULT_GOOGLE_CLIENT.clientId} / ${DEFAULT_GOOGLE_CLIENT.clientSecret}`,
    `                Microsoft ${DEFAULT_MICROSOFT_CLIENT.clientId} / ${DEFAULT_MICROSOFT_CLIENT.clientSecret}`,
    `Demo accounts (no passwords; pick one on the consent page):`,
    ...DEMO_ACCOUNTS.map((a) => `  ${a.address.padEnd(26)} ${a.provider.padEnd(9)} ${a.note}`),
  ];
  console.log(lines.join("\n"));
  const stop = async () => {
    await emulator.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

async function send(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: "string", multiple: true },
      from: { type: "string" },
      cc: { type: "string", multiple: true },
      subject: { type: "string" },
      text: { type: "string" },
      html: { type: "string" },
      "raw-file": { type: "string" },
      "reply-to-thread": { type: "string" },
      emulator: { type: "string", default: process.env["EMULATOR_URL"] ?? "http://127.0.0.1:8788" },
    },
  });
  if (!values.to?.length) throw new Error("--to is required");
  let raw: string | undefined;
  if (values["raw-file"]) {
    const { readFileSync } = await import("node:fs");
    raw = readFileSync(values["raw-file"]).toString("base64");
  }
  const res = await fetch(`${values.emulator}/__emulator/deliver`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      to: values.to,
      from: values.from,
      cc: values.cc,
      subject: values.subject,
      text: values.text,
      html: values.html,
      raw,
      replyToThread: values["reply-to-thread"],
    }),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`emulator answered ${res.status}: ${body}`);
  console.log(body);
}

const [command, ...rest] = process.argv.slice(2);
const run = command === "serve" ? serve : command === "send" ? send : undefined;
if (!run) {
  console.error(USAGE);
  process.exit(command ? 2 : 0);
} else {
  run(rest).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
