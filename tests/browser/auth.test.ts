/**
 * The sign-in and team-management screens, driven through real Chromium against a real local
 * Postroom (wrangler dev, local D1). Links are read from the development outbox, as a person would
 * read them from their mailbox.
 */
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./support/accessibility";
import { DESKTOP, PHONE, launchBrowser, screenshot } from "./support/browser";
import { startDevServer, type DevServer } from "./support/dev-server";

let server: DevServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** Uncaught errors and console errors (CSP violations land there) for every page, by page label. */
const problems: string[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([startDevServer(), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openPage(label: string, viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(10_000);
  // The first page load of a fresh wrangler dev compiles the Worker and can take a while.
  context.setDefaultNavigationTimeout(30_000);
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => problems.push(`${label}: ${err.message}`));
  page.on("console", (msg) => {
    // Chromium logs every non-2xx fetch; the API's 4xx answers are part of these flows.
    if (
      msg.type() === "error" &&
      !msg.text().startsWith("Failed to load resource: the server responded with a status of 4")
    ) {
      problems.push(`${label}: ${msg.text()}`);
    }
  });
  return page;
}

async function visible(locator: Locator): Promise<Locator> {
  await locator.waitFor({ state: "visible" });
  return locator;
}

const heading = (page: Page, name: string | RegExp) => page.getByRole("heading", { level: 1, name });

async function openAccountMenu(page: Page): Promise<Locator> {
  await page.getByRole("button", { name: /Account menu/ }).click();
  return visible(page.locator(".account-panel"));
}

async function signUpThroughApi(email: string, accountName: string): Promise<string> {
  const res = await fetch(`${server.origin}/api/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: server.origin },
    body: JSON.stringify({ email, accountName }),
  });
  expect(res.status).toBe(202);
  return server.latestLink(email, "/auth/verify");
}

describe("sign-in and team management in a real browser", () => {
  it("signs up, invites a teammate who joins, changes roles, reads the audit log and signs out", async () => {
    const owner = await openPage("owner");
    const origin = server.origin;

    // Signed out, the app sends you to the sign-in page, which links to the development outbox.
    await owner.goto(`${origin}/`);
    await owner.waitForURL(`${origin}/signin`);
    await visible(heading(owner, "Sign in to Postroom"));
    await visible(owner.getByRole("link", { name: "development outbox" }));
    expect(await owner.getByLabel("Work email").isVisible()).toBe(true);
    expect(await owner.title()).toBe("Sign in · Postroom");
    await screenshot(owner, "signin-desktop");
    await expectAccessible(owner, "sign-in");

    const phone = await openPage("phone", PHONE);
    await phone.goto(`${origin}/signin`);
    await visible(heading(phone, "Sign in to Postroom"));
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(phone, "signin-phone");

    // Create a workspace; a bad address is caught before any request.
    await owner.getByRole("button", { name: "Create a workspace" }).click();
    await visible(heading(owner, "Create a workspace"));
    await owner.getByLabel("Work email").fill("ada@example");
    await owner.getByLabel("Workspace name").fill("Acme Support");
    await owner.getByRole("button", { name: "Create workspace" }).click();
    await visible(owner.getByText("Enter an email address like name@example.com."));
    expect(await owner.getByLabel("Work email").getAttribute("aria-invalid")).toBe("true");
    await screenshot(owner, "signup-invalid");
    await expectAccessible(owner, "sign-up with a mistake");

    await owner.getByLabel("Work email").fill("Ada@Example.com");
    await owner.getByRole("button", { name: "Create workspace" }).click();
    await visible(heading(owner, "Confirm your email"));
    await visible(owner.getByText("Check your email to confirm the address and create the workspace."));
    expect(await owner.locator(".sent-to").textContent()).toBe("Sent to ada@example.com");
    await screenshot(owner, "signup-sent");
    await expectAccessible(owner, "sign-up sent");

    // The emailed link opens a page that waits for a click, and the token leaves the address bar.
    const verifyLink = await server.latestLink("ada@example.com", "/auth/verify");
    await owner.goto(verifyLink);
    await visible(heading(owner, "Sign in to Postroom"));
    expect(owner.url()).toBe(`${origin}/auth/verify`);
    await screenshot(owner, "verify-desktop");
    await expectAccessible(owner, "sign-in link page");
    await owner.getByRole("button", { name: "Sign in to Postroom" }).click();

    // The app shell: empty inbox with the owner's hint, account details in the menu.
    await owner.waitForURL(`${origin}/`);
    await visible(heading(owner, "Inbox"));
    await visible(owner.getByRole("heading", { name: "No inboxes connected yet" }));
    await visible(owner.getByText("Settings › Inbox connections"));
    const nav = owner.getByRole("navigation", { name: "Primary" });
    expect(await nav.getByRole("link").allTextContents()).toEqual([
      "Inbox",
      "Users",
      "Inbox connections",
      "Partner sites",
      "Audit log",
    ]);
    expect(await nav.getByRole("link", { name: "Inbox", exact: true }).getAttribute("aria-current")).toBe("page");
    await screenshot(owner, "inbox-owner");
    await expectAccessible(owner, "empty inbox");

    // Keyboard: the first Tab reaches the skip link, which moves focus to the page's content.
    await owner.keyboard.press("Tab");
    expect(await owner.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await owner.keyboard.press("Enter");
    expect(await owner.evaluate(() => document.activeElement?.id)).toBe("main");

    const menu = await openAccountMenu(owner);
    expect(await menu.textContent()).toContain("ada@example.com");
    expect(await menu.textContent()).toContain("Owner · Acme Support");
    await screenshot(owner, "account-menu");
    await expectAccessible(owner, "account menu");
    await owner.keyboard.press("Escape");
    await menu.waitFor({ state: "hidden" });

    // Invite a member from Settings > Users.
    await nav.getByRole("link", { name: "Users" }).click();
    await owner.waitForURL(`${origin}/settings/users`);
    await visible(heading(owner, "Users"));
    const team = owner.getByRole("region", { name: /Team members/ });
    await visible(team.getByRole("row", { name: /ada@example\.com/ }));
    expect(await team.locator("tbody tr").count()).toBe(1);
    await owner.getByLabel("Email address").fill("bea@example.com");
    await owner.getByLabel("Role", { exact: true }).selectOption("member");
    await owner.getByRole("button", { name: "Send invitation", exact: true }).click();
    await visible(owner.getByText("Invitation sent to bea@example.com."));
    const pending = owner.getByRole("list", { name: "Pending invitations" });
    await visible(owner.getByRole("heading", { name: "Pending invitations" }));
    await visible(pending.getByText("bea@example.com", { exact: true }));
    expect(await pending.getByRole("listitem").count()).toBe(1);
    expect(await pending.getByRole("listitem").textContent()).toMatch(/Pending.*Member/);
    await screenshot(owner, "users-invited");
    await expectAccessible(owner, "users with a pending invitation");

    // Inviting someone who is already a member is refused, and the server's reason sits on the field.
    await owner.getByLabel("Email address").fill("ada@example.com");
    await owner.getByRole("button", { name: "Send invitation", exact: true }).click();
    await visible(owner.getByText("ada@example.com is already a member of this account"));
    expect(await owner.getByLabel("Email address").getAttribute("aria-invalid")).toBe("true");

    // The invitee opens their link in another browser and joins.
    const inviteLink = await server.latestLink("bea@example.com", "/auth/invite");
    const member = await openPage("member");
    await member.goto(inviteLink);
    await visible(heading(member, "Join the team"));
    expect(member.url()).toBe(`${origin}/auth/invite`);
    await screenshot(member, "invite-desktop");
    await expectAccessible(member, "invitation link page");
    await member.getByRole("button", { name: "Join the team" }).click();
    await member.waitForURL(`${origin}/`);
    await visible(member.getByRole("heading", { name: "No inboxes connected yet" }));
    expect(await member.getByText("Settings › Inbox connections").count()).toBe(0);
    expect(await member.getByRole("navigation", { name: "Primary" }).getByRole("link").allTextContents()).toEqual([
      "Inbox",
      "Users",
    ]);
    await screenshot(member, "inbox-member");

    // Members see the team read-only.
    await member.getByRole("link", { name: "Users" }).click();
    await visible(member.getByRole("row", { name: /ada@example\.com/ }));
    expect(await member.getByRole("combobox").count()).toBe(0);
    expect(await member.getByRole("button", { name: /Remove/ }).count()).toBe(0);
    expect(await member.getByText("Invite someone").count()).toBe(0);
    await screenshot(member, "users-member");
    await expectAccessible(member, "users, read-only");

    // Back with the owner: both people are listed and the invitation is no longer pending.
    await owner.reload();
    await visible(team.getByRole("row", { name: /bea@example\.com/ }));
    expect(await team.locator("tbody tr").count()).toBe(2);
    expect(await team.locator(".count").textContent()).toBe("2");
    await visible(owner.getByText("No pending invitations."));

    // The last owner cannot demote herself; the server's reason is shown on the row.
    await owner.getByLabel("Role of ada@example.com").selectOption("member");
    await owner
      .getByRole("row", { name: /ada@example\.com/ })
      .getByRole("button", { name: "Save" })
      .click();
    await visible(owner.getByText("An account needs at least one owner"));
    await owner
      .getByRole("row", { name: /ada@example\.com/ })
      .getByRole("button", { name: "Cancel" })
      .click();
    expect(await owner.getByLabel("Role of ada@example.com").inputValue()).toBe("owner");

    // Promote the member to admin.
    await owner.getByLabel("Role of bea@example.com").selectOption("admin");
    await owner
      .getByRole("row", { name: /bea@example\.com/ })
      .getByRole("button", { name: "Save" })
      .click();
    await visible(owner.getByText("bea@example.com is now admin."));
    expect(await owner.getByLabel("Role of bea@example.com").inputValue()).toBe("admin");
    await screenshot(owner, "users-desktop");
    await expectAccessible(owner, "users");

    await owner.getByRole("button", { name: "Dismiss" }).click();
    await owner.getByText("bea@example.com is now admin.").waitFor({ state: "hidden" });
    await owner.setViewportSize(PHONE);
    await visible(heading(owner, "Users"));
    expect(await owner.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await screenshot(owner, "users-phone");
    const phoneMenu = await openAccountMenu(owner);
    expect(await phoneMenu.textContent()).toContain("Owner · Acme Support");
    await screenshot(owner, "account-menu-phone");
    await owner.keyboard.press("Escape");
    await phoneMenu.waitFor({ state: "hidden" });
    await owner.setViewportSize(DESKTOP);

    // The audit log shows what just happened, newest first, and filters by action.
    await nav.getByRole("link", { name: "Audit log" }).click();
    await owner.waitForURL(`${origin}/settings/audit`);
    const rows = owner.locator("tbody tr");
    await visible(rows.first());
    const log = await rows.allTextContents();
    expect(log[0]).toContain("Role changed");
    expect(log[0]).toContain("bea@example.com: Member → Admin");
    for (const action of ["Invitation accepted", "Invitation sent", "Workspace created"]) {
      expect(log.some((row) => row.includes(action))).toBe(true);
    }
    expect(log.at(-1)).toContain("Acme Support");
    expect(await owner.getByRole("button", { name: "Load more" }).count()).toBe(0);
    await screenshot(owner, "audit-desktop");
    await expectAccessible(owner, "audit log");
    await owner.getByLabel("Action").selectOption("invite.accepted");
    await visible(owner.getByText("1 event shown"));
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain("bea@example.com");

    // Remove the teammate, after confirming; their session ends with it.
    await nav.getByRole("link", { name: "Users" }).click();
    await owner.getByRole("button", { name: "Remove bea@example.com" }).click();
    const dialog = await visible(owner.getByRole("dialog", { name: "Remove bea@example.com?" }));
    await screenshot(owner, "users-remove-dialog");
    await expectAccessible(owner, "remove dialog");
    await dialog.getByRole("button", { name: "Remove" }).click();
    await dialog.waitFor({ state: "hidden" });
    await visible(owner.getByText("bea@example.com was removed."));
    expect(await team.locator("tbody tr").count()).toBe(1);
    await member.reload();
    await member.waitForURL(`${origin}/signin`);

    // Sessions, then sign out.
    await (await openAccountMenu(owner)).getByRole("link", { name: "Sessions" }).click();
    await owner.waitForURL(`${origin}/account/sessions`);
    await visible(heading(owner, "Sessions"));
    await visible(owner.getByText("This browser"));
    expect(await owner.locator(".rows > li").count()).toBe(1);
    await screenshot(owner, "sessions-desktop");
    await expectAccessible(owner, "sessions");

    await (await openAccountMenu(owner)).getByRole("button", { name: "Sign out" }).click();
    await owner.waitForURL(`${origin}/signin`);
    await visible(owner.getByText("You have signed out."));
    await owner.goto(`${origin}/settings/users`);
    await owner.waitForURL(`${origin}/signin`);
    await visible(heading(owner, "Sign in to Postroom"));

    expect(problems).toEqual([]);
  });

  it("says plainly when an emailed link has already been used", async () => {
    const link = await signUpThroughApi("cy@example.com", "Cy's Shop");
    const first = await openPage("first-use");
    await first.goto(link);
    await first.getByRole("button", { name: "Sign in to Postroom" }).click();
    await first.waitForURL(`${server.origin}/`);
    await visible(heading(first, "Inbox"));

    const again = await openPage("second-use");
    await again.goto(link);
    await again.getByRole("button", { name: "Sign in to Postroom" }).click();
    await visible(heading(again, "Link already used"));
    await visible(again.getByText("This link has already been used. Ask for a new one from the sign-in page."));
    expect(again.url()).toBe(`${server.origin}/auth/verify`);
    await screenshot(again, "verify-used");
    await expectAccessible(again, "used link");
    await again.getByRole("link", { name: "Back to sign in" }).click();
    await again.waitForURL(`${server.origin}/signin`);
    await visible(heading(again, "Sign in to Postroom"));

    // A link without its token says so instead of offering a button that cannot work.
    await again.goto(`${server.origin}/auth/invite`);
    await visible(heading(again, "This link is incomplete"));
    expect(await again.getByRole("button", { name: "Join the team" }).count()).toBe(0);
    await expectAccessible(again, "incomplete link");

    // An address that leads nowhere says so, inside the app.
    await first.goto(`${server.origin}/no-such-page`);
    await visible(heading(first, "Page not found"));
    await expectAccessible(first, "not found");

    expect(problems).toEqual([]);
  });
});
