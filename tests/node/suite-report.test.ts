/**
 * The verdicts of `npm run test:chaos` and `npm run test:security`: any failure, any missing report,
 * any lost or doubled message makes the run fail (a non-zero exit), and a clean run passes.
 */
import { describe, expect, it } from "vitest";
import { chaosReport, REQUIRED_CATEGORIES, securityReport } from "../../scripts/suite-report.mjs";

const tally = (provider: string, extra: Record<string, number> = {}) =>
  `stdout | x\nCHAOS ${JSON.stringify({ provider, runs: 2, messages: 10, faults: 3, lost: 0, duplicated: 0, ...extra })}\n`;
const allChaos = ["gmail", "graph", "restart-gmail", "restart-graph"].map((p) => tally(p)).join("");

describe("the chaos verdict", () => {
  it("passes a clean run and adds up its tallies", () => {
    const r = chaosReport(allChaos, 0);
    expect(r.ok).toBe(true);
    expect(r.total).toEqual({ runs: 8, messages: 40, faults: 12, lost: 0, duplicated: 0 });
  });

  it("fails on a failed run, a missing or repeated tally, a lost or a doubled message", () => {
    expect(chaosReport(allChaos, 1).ok).toBe(false);
    expect(chaosReport(allChaos.replace(/.*restart-graph.*\n/, ""), 0).ok).toBe(false);
    expect(chaosReport(allChaos + tally("gmail"), 0).ok).toBe(false);
    expect(chaosReport(allChaos.replace(tally("graph"), tally("graph", { lost: 1 })), 0).ok).toBe(false);
    expect(chaosReport(allChaos.replace(tally("gmail"), tally("gmail", { duplicated: 2 })), 0).ok).toBe(false);
    expect(chaosReport("", 0).ok).toBe(false);
  });
});

const line = (category: string, failures = 0) =>
  `SECURITY ${JSON.stringify({ category, tried: 10, refused: 10 - failures, accepted: 0, failures })}\n`;
const file = (name: string, statuses: string[], status = statuses.includes("failed") ? "failed" : "passed") => ({
  name,
  status,
  assertionResults: statuses.map((s) => ({ status: s })),
});
const name = (n: string) => n;
function cleanRuns() {
  return [
    {
      code: 0,
      text: [
        "fuzz",
        "forged-session",
        "inbox-permissions",
        "header-injection",
        "forged-webhooks",
        "html-xss-corpus",
        "secret-scan",
      ]
        .map((c) => line(c))
        .join(""),
      report: {
        testResults: [
          file("worker/security-suite", ["passed", "passed"]),
          file("worker/tenant-isolation", ["passed", "passed", "passed"]),
          file("worker/webhooks-google", ["passed"]),
          file("worker/webhooks-microsoft", ["passed"]),
          file("worker/embed-tokens", ["passed"]),
          file("security/secret-scan-detects", ["passed"]),
        ],
      },
    },
  ];
}

describe("the security verdict", () => {
  it("passes a clean run, one row per category", () => {
    const r = securityReport(cleanRuns(), name);
    expect(r.failed).toBe(false);
    for (const c of REQUIRED_CATEGORIES) expect(r.rows[c]).toBeDefined();
    expect(r.rows["worker/security-suite"]).toBeUndefined();
    expect(r.rows["two-tenant isolation (a test per route)"]).toEqual({
      tried: 3,
      refused: 3,
      accepted: 0,
      failures: 0,
    });
  });

  it("fails on a failed case, a failed or skipped test, a failed run or a category that never reported", () => {
    const withFailure = cleanRuns();
    withFailure[0]!.text = withFailure[0]!.text.replace(line("fuzz"), line("fuzz", 1));
    expect(securityReport(withFailure, name).failed).toBe(true);

    const failedTest = cleanRuns();
    failedTest[0]!.report.testResults[1] = file("worker/tenant-isolation", ["passed", "failed"]);
    expect(securityReport(failedTest, name).rows["two-tenant isolation (a test per route)"]!.failures).toBe(1);
    expect(securityReport(failedTest, name).failed).toBe(true);

    const skipped = cleanRuns();
    skipped[0]!.report.testResults[2] = file("worker/webhooks-google", ["passed", "skipped"]);
    expect(securityReport(skipped, name).failed).toBe(true);

    const crashed = cleanRuns();
    crashed[0]!.code = 1;
    expect(securityReport(crashed, name).failed).toBe(true);

    const noScan = cleanRuns();
    noScan[0]!.text = noScan[0]!.text.replace(line("secret-scan"), "");
    const r = securityReport(noScan, name);
    expect(r.failed).toBe(true);
    expect(r.rows["secret-scan"]).toEqual({ tried: 0, refused: 0, accepted: 0, failures: 1 });

    const selfCountedFailed = cleanRuns();
    selfCountedFailed[0]!.report.testResults[0] = file("worker/security-suite", ["passed"], "failed");
    expect(securityReport(selfCountedFailed, name).rows["worker/security-suite"]!.failures).toBe(1);
  });
});
