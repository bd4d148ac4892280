/** Headless Chromium for the browser tests, and a screenshot helper. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import chromium from "@sparticuz/chromium";
import playwright, { type Browser, type Page } from "playwright-core";

const screenshotDir = path.resolve(import.meta.dirname, "..", "screenshots");

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 740 };

/**
 * Flags of the serverless build that would make this browser unlike the ones people use. Without web
 * security Chromium stops sending the Origin header on same-origin POSTs (so the server's CSRF check
 * refuses them). In a single process, a cookie set by a fetch() response in one browser context can
 * land in another context's jar, so two people signed in side by side would trade sessions.
 */
const UNREALISTIC_FLAGS = new Set(["--disable-web-security", "--allow-running-insecure-content", "--single-process"]);

export async function launchBrowser(): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  return playwright.chromium.launch({
    executablePath,
    args: [
      ...chromium.args.filter((arg) => !UNREALISTIC_FLAGS.has(arg)),
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
    headless: true,
  });
}

/**
 * Saves a screenshot to tests/browser/screenshots/<name>.png (git-ignored): the full page, or only
 * the viewport for pages too tall to capture whole.
 */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}
