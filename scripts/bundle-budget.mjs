// Prints the gzipped sizes of what `npm run build` made and fails when either is over budget, so a
// heavy dependency cannot slip in unnoticed:
// - the web app (dist/web/assets): 80 KB of JavaScript;
// - the embeddable inbox partners load (dist/web/embed.js and everything under dist/web/widget): 15 KB.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_JS_BYTES = 80 * 1024;
const BUDGET_WIDGET_BYTES = 15 * 1024;
const web = path.resolve(import.meta.dirname, "..", "dist", "web");
const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).byteLength;

const sizes = { js: 0, css: 0 };
for (const f of readdirSync(path.join(web, "assets"))) {
  const kind = f.endsWith(".js") ? "js" : f.endsWith(".css") ? "css" : null;
  if (kind) sizes[kind] += gz(path.join(web, "assets", f));
}
console.log(`web app, gzipped: ${sizes.js} B JavaScript (budget ${BUDGET_JS_BYTES} B), ${sizes.css} B CSS`);

const widgetFiles = [];
const walk = (dir) => {
  for (const f of readdirSync(dir)) {
    const full = path.join(dir, f);
    if (statSync(full).isDirectory()) walk(full);
    else widgetFiles.push(full);
  }
};
const loader = path.join(web, "embed.js");
const widgetDir = path.join(web, "widget");
if (!existsSync(loader) || !existsSync(widgetDir)) {
  console.error("dist/web/embed.js or dist/web/widget is missing: run `npm run build` first");
  process.exit(1);
}
walk(widgetDir);
const loaderBytes = gz(loader);
const widgetBytes = widgetFiles.reduce((sum, f) => sum + gz(f), 0);
console.log(
  `embedded inbox, gzipped: ${loaderBytes + widgetBytes} B (loader ${loaderBytes} B + widget ${widgetBytes} B in ${widgetFiles.length} files; budget ${BUDGET_WIDGET_BYTES} B)`,
);

let failed = false;
if (sizes.js > BUDGET_JS_BYTES) {
  console.error(`web app over budget by ${sizes.js - BUDGET_JS_BYTES} B`);
  failed = true;
}
if (loaderBytes + widgetBytes > BUDGET_WIDGET_BYTES) {
  console.error(`embedded inbox over budget by ${loaderBytes + widgetBytes - BUDGET_WIDGET_BYTES} B`);
  failed = true;
}
if (failed) process.exit(1);
