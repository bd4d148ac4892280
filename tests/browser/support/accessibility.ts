/**
 * axe-core in the page under test: every screen the browser tests visit must have no serious or
 * critical violation, at desktop and at phone width.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { AxeResults, Result } from "axe-core";
import type { Page } from "playwright-core";
import { DESKTOP, PHONE } from "./browser";

const axeSource = readFileSync(
  path.resolve(import.meta.dirname, "..", "..", "..", "node_modules", "axe-core", "axe.min.js"),
  "utf8",
);

const BLOCKING = new Set(["serious", "critical"]);

type Viewport = { width: number; height: number };

/** One line per violation: rule, impact, what to fix, and the first few elements it was found on. */
function describe(v: Result): string {
  const where = v.nodes
    .slice(0, 4)
    .map(
      (n) =>
        `    ${n.target.join(" ")}: ${
          n.failureSummary
            ?.split("\n")
            .slice(1, 3)
            .map((l) => l.trim())
            .join("; ") ?? ""
        }`,
    )
    .join("\n");
  return `  ${v.id} (${v.impact}, ${v.nodes.length} element${v.nodes.length === 1 ? "" : "s"}): ${v.help}\n${where}`;
}

/**
 * Defines `window.axe`. A script tag would be refused by the app's CSP (no inline script, and
 * rightly so); DevTools evaluation is not subject to the page's CSP and defines the same global.
 */
async function injectAxe(page: Page): Promise<void> {
  if (await page.evaluate(() => "axe" in window)) return;
  await page.evaluate(axeSource);
}

async function violations(page: Page): Promise<Result[]> {
  await injectAxe(page);
  const results = (await page.evaluate(
    // The message bodies are sandboxed frames without scripts: axe cannot run inside them, and
    // their content is the sender's, so only the app's own document is checked.
    () =>
      (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<unknown> } }).axe.run(document, {
        iframes: false,
        resultTypes: ["violations"],
      }),
  )) as AxeResults;
  return results.violations.filter((v) => v.impact && BLOCKING.has(v.impact));
}

/**
 * Runs axe on the page as it is now, at each width (phone and desktop by default), then puts the
 * viewport back. Throws with every serious or critical violation found, naming the screen.
 */
export async function expectAccessible(page: Page, screen: string, widths: Viewport[] = [DESKTOP, PHONE]) {
  const original = page.viewportSize();
  const found: string[] = [];
  try {
    for (const size of widths) {
      if (original?.width !== size.width || original?.height !== size.height) await page.setViewportSize(size);
      // Let the layout settle at the new width before reading colours and sizes.
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      for (const v of await violations(page)) found.push(`${size.width}px wide:\n${describe(v)}`);
    }
  } finally {
    if (original) await page.setViewportSize(original);
  }
  if (found.length > 0) {
    throw new Error(`accessibility: ${screen} (${page.url()}) has serious or critical problems:\n${found.join("\n")}`);
  }
}
