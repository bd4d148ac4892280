// Prints the web app's gzipped size and fails when its JavaScript is over budget (80 KB), so a
// heavy dependency cannot slip in unnoticed. Run after `npm run build`.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_JS_BYTES = 80 * 1024;
const dir = path.resolve(import.meta.dirname, "..", "dist", "web", "assets");
const sizes = { js: 0, css: 0 };
for (const f of readdirSync(dir)) {
  const kind = f.endsWith(".js") ? "js" : f.endsWith(".css") ? "css" : null;
  if (kind) sizes[kind] += gzipSync(readFileSync(path.join(dir, f)), { level: 9 }).byteLength;
}
console.log(`web app, gzipped: ${sizes.js} B JavaScript (budget ${BUDGET_JS_BYTES} B), ${sizes.css} B CSS`);
if (sizes.js > BUDGET_JS_BYTES) {
  console.error(`over budget by ${sizes.js - BUDGET_JS_BYTES} B`);
  process.exit(1);
}
