// Copies the README's screenshots from the browser tests' output (tests/browser/screenshots, written by
// `npm test` or the browser test files) into docs/screenshots, which is committed. Fails when one is
// missing or over 200 KB, so the README never points at a stale or heavy picture without saying so.
import { copyFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const from = path.join(root, "tests", "browser", "screenshots");
const to = path.join(root, "docs", "screenshots");
const MAX_BYTES = 200 * 1024;

/** Test screenshot name -> name in docs/screenshots (what the README references). */
const CHOSEN = {
  "journey-inbox": "inbox",
  "journey-thread": "conversation",
  "journey-thread-presence": "presence",
  "journey-thread-stale-review": "reply-review",
  "journey-connections-importing": "connections-importing",
  "journey-connections-failing": "connections-failing",
  "connect-desktop": "connect-page",
  "journey-inbox-phone": "inbox-phone",
  "journey-thread-phone": "conversation-phone",
};

mkdirSync(to, { recursive: true });
let failed = false;
for (const [source, target] of Object.entries(CHOSEN)) {
  const file = path.join(from, `${source}.png`);
  if (!existsSync(file)) {
    console.error(
      `missing ${path.relative(root, file)}: run the browser tests first (npm run build, then npx vitest run --project node tests/browser)`,
    );
    failed = true;
    continue;
  }
  const { size } = statSync(file);
  if (size > MAX_BYTES) {
    console.error(`${source}.png is ${Math.round(size / 1024)} KB, over the ${MAX_BYTES / 1024} KB limit`);
    failed = true;
    continue;
  }
  copyFileSync(file, path.join(to, `${target}.png`));
  console.log(`docs/screenshots/${target}.png (${Math.round(size / 1024)} KB)`);
}
if (failed) process.exit(1);
