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

// Categories the suites count themselves (SECURITY lines: every case they tried), then one row per
// reused test file, where each test is a case (a route of the two-tenant sweep, a forged webhook or
// embed token scenario).
const FILE_CATEGORIES = {
  "worker/tenant-isolation": "two-tenant isolation (a test per route)",
  "worker/webhooks-google": "forged webhooks: Google Pub/Sub",
  "worker/webhooks-microsoft": "forged webhooks: Graph notifications",
  "worker/embed-tokens": "forged embed tokens",
  "worker/embed-api": "embed API (bearer scope)",
  "worker/roles": "roles",
  "worker/inbox-access-audit": "per-inbox access audit",
  "worker/security": "security headers, CSRF, rate limits",
  "worker/bad-input": "bad input",
  "worker/sanitize-html": "HTML sanitizer",
  "security/secret-scan-detects": "secret scan can fail (planted secrets found)",
};
// Files whose cases are counted by their SECURITY lines; a file row only shows when such a file failed.
const SELF_COUNTED = /^worker\/security-suite$|^security\/secret-scan$|^browser\/html-corpus$/;
const REQUIRED = [
  "fuzz",
  "forged-session",
  "inbox-permissions",
  "header-injection",
  "html-xss-corpus",
  "secret-scan",
  ...Object.values(FILE_CATEGORIES).filter((c) => /two-tenant|forged|can fail/.test(c)),
];
const rows = {};
for (const r of runs) {
  for (const m of r.text.matchAll(/SECURITY (\{.*\})/g)) {
    const t = JSON.parse(m[1]);
    rows[t.category] = { tried: t.tried, refused: t.refused, accepted: t.accepted, failures: t.failures };
  }
  for (const file of r.report.testResults ?? []) {
    const name = path
      .relative(root, file.name)
      .replace(/^tests\//, "")
      .replace(/\.test\.ts$/, "");
    const tests = file.assertionResults ?? [];
    const failed = tests.filter((t) => t.status === "failed").length;
    const skipped = tests.filter((t) => t.status !== "passed" && t.status !== "failed").length;
    if (SELF_COUNTED.test(name) && failed === 0 && file.status !== "failed") continue;
    rows[FILE_CATEGORIES[name] ?? name] = {
      tried: tests.length,
      refused: tests.length - failed - skipped,
      accepted: 0,
      // A skipped check is not a passed one; a file that failed to load fails as a whole.
      failures: failed + skipped + (file.status === "failed" && failed === 0 ? 1 : 0),
    };
  }
}
for (const c of REQUIRED) if (!(c in rows)) rows[c] = { tried: 0, refused: 0, accepted: 0, failures: 1 };
const total = { tried: 0, refused: 0, accepted: 0, failures: 0 };
for (const row of Object.values(rows)) for (const k of Object.keys(total)) total[k] += row[k];
console.log(
  "\nsecurity suite (refused = refused correctly, or the check held; accepted = a valid 2xx/3xx; a category that did not report counts as a failure)",
);
console.table({ ...rows, total });
rmSync(out, { recursive: true, force: true });
const failed = runs.some((r) => r.code !== 0) || total.failures > 0;
console.log(`${((Date.now() - started) / 1000).toFixed(0)} s; ${failed ? "FAILED" : "all passed"}`);
process.exit(failed ? 1 : 0);
