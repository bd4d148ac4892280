// How `npm run test:chaos` and `npm run test:security` read what their test runs printed into one
// table and one verdict. Kept apart from the runs so the verdicts can be tested on made-up output.

/** Two properties (Gmail, Graph) and two restart scenarios, each reporting exactly once. */
export const CHAOS_TALLIES = ["gmail", "graph", "restart-gmail", "restart-graph"];

/** `out`: everything the runs printed; `code`: non-zero when any run failed. */
export function chaosReport(out, code) {
  const tallies = [...out.matchAll(/CHAOS (\{.*\})/g)].map((m) => JSON.parse(m[1]));
  const total = { runs: 0, messages: 0, faults: 0, lost: 0, duplicated: 0 };
  for (const t of tallies) for (const k of Object.keys(total)) total[k] += t[k];
  const printed = tallies.map((t) => t.provider).sort();
  const complete = JSON.stringify(printed) === JSON.stringify(CHAOS_TALLIES);
  const ok = code === 0 && complete && total.lost === 0 && total.duplicated === 0;
  return { tallies, total, printed, complete, ok };
}

/** Reused test files, each test a case (a route of the two-tenant sweep, a forged webhook or embed token scenario). */
export const FILE_CATEGORIES = {
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
export const REQUIRED_CATEGORIES = [
  "fuzz",
  "forged-session",
  "inbox-permissions",
  "header-injection",
  "forged-webhooks",
  "html-xss-corpus",
  "secret-scan",
  ...Object.values(FILE_CATEGORIES).filter((c) => /two-tenant|forged|can fail/.test(c)),
];

/**
 * `runs`: `{ code, text, report }` per vitest run (exit code, what it printed, its JSON report with
 * file names relative to `tests/`, without `.test.ts`, as `relativeName` gives them).
 */
export function securityReport(runs, relativeName) {
  const rows = {};
  for (const r of runs) {
    for (const m of r.text.matchAll(/SECURITY (\{.*\})/g)) {
      const t = JSON.parse(m[1]);
      rows[t.category] = { tried: t.tried, refused: t.refused, accepted: t.accepted, failures: t.failures };
    }
    for (const file of r.report.testResults ?? []) {
      const name = relativeName(file.name);
      const tests = file.assertionResults ?? [];
      const failed = tests.filter((t) => t.status === "failed").length;
      const skipped = tests.filter((t) => t.status !== "passed" && t.status !== "failed").length;
      if (SELF_COUNTED.test(name) && failed === 0 && skipped === 0 && file.status !== "failed") continue;
      rows[FILE_CATEGORIES[name] ?? name] = {
        tried: tests.length,
        refused: tests.length - failed - skipped,
        accepted: 0,
        // A skipped check is not a passed one; a file that failed to load fails as a whole.
        failures: failed + skipped + (file.status === "failed" && failed === 0 ? 1 : 0),
      };
    }
  }
  // A category that did not report (its file missing, skipped or never reached) is a failure.
  for (const c of REQUIRED_CATEGORIES) if (!(c in rows)) rows[c] = { tried: 0, refused: 0, accepted: 0, failures: 1 };
  const total = { tried: 0, refused: 0, accepted: 0, failures: 0 };
  for (const row of Object.values(rows)) for (const k of Object.keys(total)) total[k] += row[k];
  const failed = runs.some((r) => r.code !== 0) || total.failures > 0;
  return { rows, total, failed };
}
