// `npm run test:chaos`: the convergence properties of Gmail and Graph sync with many more seeds than
// `npm test` runs, against the emulator's faults, then the restart faults (wrangler dev killed and
// started again mid-backfill and mid-burst, for both providers). Prints runs, messages, faults
// injected, lost and duplicated per provider, and records the totals under `chaos` in bench/results.json.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CHAOS_TALLIES, chaosReport } from "./suite-report.mjs";

const root = path.resolve(import.meta.dirname, "..");
const runs = process.env.CHAOS_RUNS ?? "100";
// Longer fault histories than `npm test` draws (10).
const maxOps = process.env.CHAOS_MAX_OPS ?? "25";
const started = Date.now();

function run(args) {
  const child = spawn("npx", args, {
    cwd: root,
    env: { ...process.env, CHAOS_RUNS: runs, CHAOS_MAX_OPS: maxOps },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
    process.stdout.write(chunk);
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out })));
}

const properties = await run([
  "vitest",
  "run",
  "--project",
  "workers",
  "tests/worker/gmail-sync.test.ts",
  "tests/worker/graph-sync.test.ts",
]);
const restarts = await run(["vitest", "run", "--config", "tests/suites.config.ts", "--project", "chaos-restart"]);
const out = properties.out + restarts.out;
const code = properties.code || restarts.code;

const { tallies, total, printed, complete, ok } = chaosReport(out, code);
console.log("\nconvergence under faults");
console.table(Object.fromEntries([...tallies.map((t) => [t.provider, t]), ["total", total]]));
console.log(
  `${runs} runs of up to ${maxOps} operations per property; ${((Date.now() - started) / 1000).toFixed(0)} s, exit ${code}`,
);

if (!complete) console.log(`expected tallies ${CHAOS_TALLIES.join(", ")}; got ${printed.join(", ") || "none"}`);
if (code === 0 && complete) {
  const file = path.join(root, "bench", "results.json");
  const results = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  results.chaos = total;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log("chaos figures written to bench/results.json");
}
process.exit(ok ? 0 : 1);
