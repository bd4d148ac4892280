// `npm run test:security`: every security check Postroom has, in one run, reported as counts per
// category (cases tried, refused correctly, failures). Inside workerd: the route fuzz, forged
// sessions, per-inbox permissions and header injection (all cases), the two-tenant sweep, roles,
// forged Google and Microsoft webhooks, bad input, HTML sanitizing and forged embed tokens (when
// those tests exist). In a real Chromium: the HTML/XSS corpus (when it exists). Against a real
// `wrangler dev`: the secret scan after a full run.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { securityReport } from "./suite-report.mjs";

const root = path.resolve(import.meta.dirname, "..");
const out = mkdtempSync(path.join(tmpdir(), "postroom-security-"));
const present = (f) => existsSync(path.join(root, f));
const started = Date.now();

const workerFiles = [
  "tests/worker/security-suite.test.ts",
  "tests/worker/tenant-isolation.test.ts",
  "tests/worker/roles.test.ts",
  "tests/worker/inbox-access-audit.test.ts",
  "tests/worker/webhooks-google.test.ts",
  "tests/worker/webhooks-microsoft.test.ts",
  "tests/worker/security.test.ts",
  "tests/worker/bad-input.test.ts",
  "tests/worker/sanitize-html.test.ts",
  ...readdirSync(path.join(root, "tests", "worker"))
    .filter((f) => /^embed-.*\.test\.ts$/.test(f))
    .map((f) => `tests/worker/${f}`),
].filter(present);
const browserFiles = ["tests/browser/html-corpus.test.ts"].filter(present);

function run(label, args, env = {}) {
  const json = path.join(out, `${label}.json`);
  return new Promise((resolve) => {
    const child = spawn("npx", [...args, "--reporter=default", "--reporter=json", `--outputFile.json=${json}`], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout.on("data", (c) => {
      text += c;
      process.stdout.write(c);
    });
    child.on("close", (code) => {
      const report = existsSync(json) ? JSON.parse(readFileSync(json, "utf8")) : { testResults: [] };
      resolve({ code, text, report });
    });
  });
}

const runs = [];
runs.push(await run("workers", ["vitest", "run", "--project", "workers", ...workerFiles], { SECURITY_FULL: "1" }));
if (browserFiles.length > 0) {
  const build = spawn("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  await new Promise((r) => build.on("close", r));
  runs.push(await run("browser", ["vitest", "run", "--project", "node", ...browserFiles]));
}
runs.push(await run("live", ["vitest", "run", "--config", "tests/suites.config.ts", "--project", "security-live"]));

const { rows, total, failed } = securityReport(runs, (name) =>
  path
    .relative(root, name)
    .replace(/^tests\//, "")
    .replace(/\.test\.ts$/, ""),
);
console.log(
  "\nsecurity suite (refused = refused correctly, or the check held; accepted = a valid 2xx/3xx; a category that did not report counts as a failure)",
);
console.table({ ...rows, total });
rmSync(out, { recursive: true, force: true });
console.log(`${((Date.now() - started) / 1000).toFixed(0)} s; ${failed ? "FAILED" : "all passed"}`);
process.exit(failed ? 1 : 0);
