/**
 * The sign-in page against a production-configured server: no development outbox, sign-up closed
 * and a tight sign-in budget, so the page has to explain each refusal.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DESKTOP, launchBrowser, screenshot } from "./support/browser";
import { startDevServer, type DevServer } from "./support/dev-server";

let server: DevServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startDevServer({
      vars: { ENVIRONMENT: "production", SIGNUP_MODE: "closed", RATE_LIMIT_SIGNIN_PER_EMAIL: "1" },
    }),
    launchBrowser(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function signInPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(10_000);
  // The first page load of a fresh wrangler dev compiles the Worker and can take a while.
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  await page.goto(`${server.origin}/signin`);
  await page.getByRole("heading", { level: 1, name: "Sign in to Postroom" }).waitFor();
  return page;
}

describe("sign-in page on a production server", () => {
  it("does not link to the development outbox", async () => {
    const res = await fetch(`${server.origin}/dev/outbox.json`);
    expect(res.status).toBe(404);
    const page = await signInPage();
    // The outbox probe has answered once the request settles; give it the same chance a person would.
    await page.waitForLoadState("networkidle");
    expect(await page.getByRole("link", { name: /outbox/i }).count()).toBe(0);
    expect(await page.getByText("Running in development").count()).toBe(0);
  });

  it("explains that sign-up is turned off and offers sign-in instead", async () => {
    const page = await signInPage();
    await page.getByRole("button", { name: "Create a workspace" }).click();
    await page.getByLabel("Work email").fill("dee@example.com");
    await page.getByLabel("Workspace name").fill("Dee's Desk");
    await page.getByRole("button", { name: "Create workspace" }).click();
    const alert = page.getByRole("alert");
    await alert.getByText("Sign-up is turned off here; ask an admin for an invitation").waitFor();
    await screenshot(page, "signup-disabled");
    await alert.getByRole("button", { name: "Sign in instead" }).click();
    await page.getByRole("heading", { level: 1, name: "Sign in to Postroom" }).waitFor();
    expect(await page.getByLabel("Work email").inputValue()).toBe("dee@example.com");
  });

  it("says how long to wait when sign-in is rate limited", async () => {
    const page = await signInPage();
    await page.getByLabel("Work email").fill("eve@example.com");
    await page.getByRole("button", { name: "Email me a sign-in link" }).click();
    await page.getByRole("heading", { level: 1, name: "Check your email" }).waitFor();
    expect(await page.getByText("If this address has a Postroom account").count()).toBe(1);

    await page.getByRole("button", { name: "Use a different address" }).click();
    await page.getByRole("button", { name: "Email me a sign-in link" }).click();
    const alert = page.getByRole("alert");
    await alert.getByText("Too many attempts").waitFor();
    expect(await alert.textContent()).toMatch(/Please wait \d+ minutes? before asking for another link\./);
    expect(await page.getByRole("button", { name: "Email me a sign-in link" }).isDisabled()).toBe(true);
    await screenshot(page, "signin-rate-limited");
  });
});
