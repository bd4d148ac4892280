/**
 * Connecting mailboxes, driven through real Chromium: the admin's Settings › Inbox connections, the
 * invitee's public connect page, the provider emulator's consent pages (Google and Microsoft, each
 * a real HTML page with an account picker), and the result page the provider sends them back to.
 */
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionView } from "../../worker/contracts";
import { expectAccessible } from "./support/accessibility";
import { DESKTOP, PHONE, launchBrowser, screenshot } from "./support/browser";
import { startDevServer, type DevServer } from "./support/dev-server";

let server: DevServer;
let browser: Browser;
let admin: Page;
let emulatorUrl: string;
const contexts: BrowserContext[] = [];
/** Uncaught errors and console errors for every page, by page label. */
const problems: string[] = [];

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

const noSideScroll = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth).then((o) => expect(o).toBe(0));

beforeAll(async () => {
  [server, browser] = await Promise.all([startDevServer({ emulator: true }), launchBrowser()]);
  emulatorUrl = server.emulator!.url;

  // The admin signs up and signs in through the emailed link.
  const res = await fetch(`${server.origin}/api/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: server.origin },
    body: JSON.stringify({ email: "ada@example.com", accountName: "Acme Support" }),
  });
  expect(res.status).toBe(202);
  admin = await openPage("admin");
  await admin.goto(await server.latestLink("ada@example.com", "/auth/verify"));
  await admin.getByRole("button", { name: "Sign in to Postroom" }).click();
  await admin.waitForURL(`${server.origin}/`);
  await visible(heading(admin, "Inbox"));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Opens the newest connect link mailed to `to` in a fresh browser, as the mailbox's owner would. */
async function openConnectLink(to: string, label: string, viewport = DESKTOP): Promise<Page> {
  const link = await server.latestLink(to, "/connect");
  const page = await openPage(label, viewport);
  await page.goto(link);
  return page;
}

/** Answers the emulator's consent page: picks the account and presses its approve button. */
async function consent(page: Page, brand: "Google" | "Microsoft", account: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(emulatorUrl));
  await visible(page.getByRole("heading", { name: "Choose an account" }));
  expect(await page.title()).toBe(`Sign in - ${brand} (sandbox)`);
  await page.getByRole("radio", { name: new RegExp(account.replace(/[.]/g, "\\.")) }).check();
  await page.getByRole("button", { name: brand === "Google" ? "Continue" : "Accept" }).click();
}

async function goToConnections(): Promise<void> {
  await admin.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Inbox connections" }).click();
  await admin.waitForURL(`${server.origin}/settings/connections`);
  await visible(heading(admin, "Inbox connections"));
}

const connectionRow = (address: string) =>
  admin
    .getByRole("region", { name: /Connected inboxes/ })
    .getByRole("listitem")
    .filter({ hasText: address });

describe("connecting mailboxes in a real browser", () => {
  it("invites a shared Gmail mailbox, which its owner connects through Google's consent page", async () => {
    const origin = server.origin;

    // The empty inbox points owners to the new screen, which sits in the rail under Settings.
    await visible(admin.getByRole("link", { name: "Settings › Inbox connections" }));
    const nav = admin.getByRole("navigation", { name: "Primary" });
    expect(await nav.getByRole("link").allTextContents()).toEqual([
      "Inbox",
      "Users",
      "Inbox connections",
      "Partner sites",
      "Audit log",
    ]);
    await admin.getByRole("link", { name: "Settings › Inbox connections" }).click();
    await admin.waitForURL(`${origin}/settings/connections`);
    await visible(heading(admin, "Inbox connections"));
    expect(await nav.getByRole("link", { name: "Inbox connections" }).getAttribute("aria-current")).toBe("page");
    await visible(admin.getByRole("heading", { name: "No mailboxes connected yet" }));
    await visible(admin.getByText("No pending invitations."));
    // Both kinds are offered with their one-line explanation; shared is the default.
    const shared = admin.getByRole("radio", { name: /Shared/ });
    expect(await shared.isChecked()).toBe(true);
    await visible(admin.getByText("Everyone with access on the account reads it and replies as this address"));
    await visible(admin.getByText("A person’s own mailbox; only people you give access see it"));
    await screenshot(admin, "connections-empty");
    await expectAccessible(admin, "connections, empty");

    // A typo is caught before any request.
    await admin.getByLabel("Mailbox address").fill("sales@demo");
    await admin.getByRole("button", { name: "Send invitation", exact: true }).click();
    await visible(admin.getByText("Enter an email address like name@example.com."));

    await admin.getByLabel("Mailbox address").fill("sales@demo.test");
    await admin.getByRole("button", { name: "Send invitation", exact: true }).click();
    await visible(admin.getByText("Invitation to connect sent to sales@demo.test."));
    const pending = admin.getByRole("list", { name: "Pending invitations" });
    expect(await pending.getByRole("listitem").count()).toBe(1);
    expect(await pending.getByRole("listitem").textContent()).toMatch(/sales@demo\.test.*Pending.*Shared · sent/);
    await screenshot(admin, "connections-invited");
    await expectAccessible(admin, "connections with an invitation");

    // The mailbox's owner opens the link: no account, no session. The token leaves the address bar.
    const owner = await openConnectLink("sales@demo.test", "sales");
    await visible(heading(owner, "Connect a mailbox to Postroom"));
    expect(owner.url()).toBe(`${origin}/connect`);
    const card = owner.locator("main");
    const text = (await card.textContent()) ?? "";
    expect(text).toContain("ada@example.com invited you to connect this mailbox to Acme Support");
    expect(text).toContain("Postroom will read the mail in sales@demo.test and send mail from it.");
    expect(text).toContain("Everyone on Acme Support who is given access to this inbox will read its mail");
    expect(text).toContain("Postroom never sees your password");
    expect(text).toContain("Access can be removed at any time");
    expect(text).toContain("On the next page, sign in as sales@demo.test.");
    expect(text).toContain("sign in as a person who has Full Access to it");
    await screenshot(owner, "connect-desktop");
    await expectAccessible(owner, "connect page");

    // The acknowledgement is required before leaving for Google.
    const ack = owner.getByRole("checkbox", {
      name: "I understand that anyone with access on Acme Support will be able to read sales@demo.test and send as it",
    });
    expect(await ack.isChecked()).toBe(false);
    await owner.getByRole("button", { name: "Connect with Google" }).click();
    await visible(owner.getByText("Tick the box to confirm who will see this mailbox."));
    expect(await ack.getAttribute("aria-invalid")).toBe("true");
    expect(await owner.evaluate(() => document.activeElement?.id)).toBe("ack-shared");
    expect(owner.url()).toBe(`${origin}/connect`);
    await screenshot(owner, "connect-ack-required");
    await expectAccessible(owner, "connect page with a mistake");

    // The same page on a phone, from the same link (it stays usable until the mailbox is connected).
    const phone = await openConnectLink("sales@demo.test", "sales-phone", PHONE);
    await visible(heading(phone, "Connect a mailbox to Postroom"));
    await noSideScroll(phone);
    await screenshot(phone, "connect-phone");

    await ack.check();
    await owner.getByRole("button", { name: "Connect with Google" }).click();
    await consent(owner, "Google", "sales@demo.test");
    await owner.waitForURL((url) => url.pathname === "/connect/result");
    const result = new URL(owner.url());
    expect(result.searchParams.get("outcome")).toBe("connected");
    await visible(heading(owner, "Mailbox connected"));
    expect(await owner.locator("main").textContent()).toContain(
      "Postroom can now read and send mail for sales@demo.test, for the team at Acme Support.",
    );
    await visible(owner.getByText("you can close this page"));
    expect(await owner.title()).toBe("Mailbox connected · Postroom");
    await screenshot(owner, "connect-result-connected");
    await expectAccessible(owner, "connected");

    // The admin sees the mailbox connected and healthy, and the invitation used.
    await admin.reload();
    await visible(heading(admin, "Inbox connections"));
    const row = connectionRow("sales@demo.test");
    await visible(row);
    expect(await row.locator(".health").textContent()).toBe("Health: Good");
    expect(await row.textContent()).toMatch(/Gmail · Shared · connected (just now|\d+ minutes? ago)/);
    expect(await row.getByText("delegate").count()).toBe(0);
    expect(await row.getByRole("button", { name: /Send reconnect link/ }).count()).toBe(0);
    await visible(admin.getByText("No pending invitations."));
    await admin.getByText("Used and revoked (1)").click();
    expect(await admin.locator(".past").getByRole("listitem").first().textContent()).toMatch(/sales@demo\.test.*Used/);
    await screenshot(admin, "connections-connected");
    await expectAccessible(admin, "connections");

    // Inviting the same address again is refused with the way out: a reconnect link.
    await admin.getByLabel("Mailbox address").fill("sales@demo.test");
    await admin.getByRole("button", { name: "Send invitation", exact: true }).click();
    const already = await visible(
      admin.getByRole("status").filter({ hasText: "sales@demo.test is already connected" }),
    );
    await screenshot(admin, "connections-already-connected");
    await expectAccessible(admin, "already connected");
    await already.getByRole("button", { name: "Send reconnect link" }).click();
    await visible(admin.getByText("Reconnect link sent to sales@demo.test."));
    const reconnectRow = pending.getByRole("listitem").filter({ hasText: "Reconnect link" });
    expect(await reconnectRow.textContent()).toMatch(
      /sales@demo\.test.*Pending.*Reconnect link.*Reconnects this mailbox/,
    );

    // The reconnect link explains itself and needs no acknowledgement (the mailbox is already shared).
    const again = await openConnectLink("sales@demo.test", "sales-reconnect");
    await visible(heading(again, "Reconnect a mailbox to Postroom"));
    expect(await again.getByRole("checkbox").count()).toBe(0);
    await screenshot(again, "connect-reconnect");
    await expectAccessible(again, "reconnect page");

    // Revoking it makes the link say so.
    await reconnectRow.getByRole("button", { name: "Revoke reconnect link to sales@demo.test" }).click();
    await visible(admin.getByText("Reconnect link to sales@demo.test revoked."));
    await again.reload();
    await visible(heading(again, "This link is incomplete"));
    const revoked = await openConnectLink("sales@demo.test", "sales-revoked");
    await visible(heading(revoked, "This invitation was withdrawn"));
    await screenshot(revoked, "connect-revoked");
    await expectAccessible(revoked, "withdrawn invitation");

    expect(problems).toEqual([]);
  });

  it("explains a sign-in with the wrong account and connects nothing", async () => {
    await goToConnections();
    await admin.getByLabel("Mailbox address").fill("maria@demo.test");
    await admin.getByRole("radio", { name: /Personal/ }).check();
    await admin.getByRole("button", { name: "Send invitation", exact: true }).click();
    await visible(admin.getByText("Invitation to connect sent to maria@demo.test."));
    expect(
      await admin.getByRole("list", { name: "Pending invitations" }).getByRole("listitem").first().textContent(),
    ).toMatch(/maria@demo\.test.*Pending.*Personal · sent/);

    const page = await openConnectLink("maria@demo.test", "maria");
    await visible(heading(page, "Connect a mailbox to Postroom"));
    // A personal mailbox: no acknowledgement, and the audience is the people given access.
    expect(await page.getByRole("checkbox").count()).toBe(0);
    expect(await page.locator("main").textContent()).toContain("Only people an admin of Acme Support gives access");
    expect(await page.getByText("Full Access").count()).toBe(0);
    await page.getByRole("button", { name: "Connect with Google" }).click();
    await consent(page, "Google", "sales@demo.test");
    await page.waitForURL((url) => url.pathname === "/connect/result");
    expect(new URL(page.url()).searchParams.get("outcome")).toBe("wrong_account");
    await visible(heading(page, "Signed in with a different account"));
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toContain(
      "You signed in as sales@demo.test, but this invitation is for maria@demo.test. Sign in with maria@demo.test itself.",
    );
    expect(text).toContain(
      "If maria@demo.test is an alias or a group that delivers to sales@demo.test, it cannot be connected on its own: ask your admin to invite sales@demo.test instead.",
    );
    await visible(page.getByRole("heading", { name: "To try again" }));
    expect(text).toContain("Open the invitation email again and select its link.");
    await screenshot(page, "connect-result-wrong-account");
    await expectAccessible(page, "wrong account");

    // Nothing was connected: the invitation is still pending.
    await admin.reload();
    await visible(connectionRow("sales@demo.test"));
    expect(await connectionRow("maria@demo.test").count()).toBe(0);
    expect(
      await admin.getByRole("list", { name: "Pending invitations" }).getByRole("listitem").first().textContent(),
    ).toMatch(/maria@demo\.test.*Pending/);

    expect(problems).toEqual([]);
  });

  it("connects a Microsoft 365 shared mailbox through a delegate, then repairs and disconnects it", async () => {
    await goToConnections();
    await admin.getByLabel("Mailbox address").fill("support@demo-ms.test");
    await admin.getByRole("radio", { name: /Shared/ }).check();
    await admin.getByRole("button", { name: "Send invitation", exact: true }).click();
    await visible(admin.getByText("Invitation to connect sent to support@demo-ms.test."));

    const page = await openConnectLink("support@demo-ms.test", "support");
    await visible(heading(page, "Connect a mailbox to Postroom"));
    await page.getByRole("checkbox").check();
    await page.getByRole("button", { name: "Connect with Microsoft" }).click();
    await consent(page, "Microsoft", "sam@demo-ms.test");
    await page.waitForURL((url) => url.pathname === "/connect/result");
    expect(new URL(page.url()).searchParams.get("outcome")).toBe("connected");
    await visible(heading(page, "Mailbox connected"));
    expect(await page.locator("main").textContent()).toContain("read and send mail for support@demo-ms.test");

    await admin.reload();
    const row = connectionRow("support@demo-ms.test");
    await visible(row);
    expect(await row.locator(".health").textContent()).toBe("Health: Good");
    expect(await row.textContent()).toContain("Microsoft 365 · Shared");
    expect(await row.textContent()).toContain("Connected through sam@demo-ms.test (delegate)");
    expect(await admin.locator(".connection").count()).toBe(2);
    await screenshot(admin, "connections-two");
    await admin.setViewportSize(PHONE);
    // Loaded at phone width, the rail's row of tabs scrolls to show the current one.
    await admin.reload();
    await visible(heading(admin, "Inbox connections"));
    await noSideScroll(admin);
    const tab = admin.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Inbox connections" });
    const box = (await tab.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    await screenshot(admin, "connections-phone");
    await admin.setViewportSize(DESKTOP);

    // A failing grant, as the health checks would report it. Making a real grant fail needs the
    // token refresh to run, which happens ahead of expiry, an hour away; so the real list is fetched
    // and only its health fields are changed. Everything the buttons do below is real.
    await admin.route("**/api/connections", async (route) => {
      if (route.request().method() !== "GET") return route.fallback();
      const res = await route.fetch();
      const body = (await res.json()) as { connections: ConnectionView[] };
      const changedAt = Date.now() - 40 * 60_000;
      for (const c of body.connections) {
        if (c.address === "support@demo-ms.test") {
          Object.assign(c, {
            health: "failing",
            healthReason: "invalid_grant",
            healthDetail: "Microsoft no longer accepts Postroom's access: sam@demo-ms.test needs to sign in again.",
            healthChangedAt: changedAt,
          });
        }
        if (c.address === "sales@demo.test") {
          Object.assign(c, {
            health: "degraded",
            healthReason: "push_lapsed",
            healthDetail: "New mail is being checked every few minutes instead of arriving at once.",
            healthChangedAt: changedAt,
          });
        }
      }
      await route.fulfill({ response: res, json: body });
    });
    await admin.reload();
    await visible(admin.getByText("2 inboxes need attention"));
    await visible(admin.getByText("Connection problems on sales@demo.test, support@demo-ms.test."));
    const failing = connectionRow("support@demo-ms.test");
    expect(await failing.locator(".health").textContent()).toBe("Health: Failing");
    expect(await failing.textContent()).toContain("Access expired or was withdrawn");
    expect(await failing.textContent()).toContain("sam@demo-ms.test needs to sign in again.");
    expect(await failing.textContent()).toContain("Goes to sam@demo-ms.test, who signs in again.");
    expect(await connectionRow("sales@demo.test").locator(".health").textContent()).toBe("Health: Degraded");
    await screenshot(admin, "connections-failing");
    await expectAccessible(admin, "connections failing");
    await admin.setViewportSize(PHONE);
    await noSideScroll(admin);
    await screenshot(admin, "connections-failing-phone");
    await admin.setViewportSize(DESKTOP);

    // The reconnect link goes to the delegate who holds the grant, and the screen says so.
    await failing.getByRole("button", { name: "Send reconnect link for support@demo-ms.test" }).click();
    await visible(admin.getByText("Reconnect link sent to sam@demo-ms.test."));
    expect(await failing.textContent()).toContain("Sent to sam@demo-ms.test.");
    const mailed = await server.latestLink("sam@demo-ms.test", "/connect");
    expect(mailed).toContain(`${server.origin}/connect#token=`);
    expect(
      await admin.getByRole("list", { name: "Pending invitations" }).getByRole("listitem").first().textContent(),
    ).toMatch(/sam@demo-ms\.test.*Pending.*Reconnect link.*Reconnects support@demo-ms\.test/);
    await admin.unroute("**/api/connections");

    // Disconnect asks first, says what happens, and lets the admin keep or delete the conversations.
    await connectionRow("support@demo-ms.test")
      .getByRole("button", { name: "Disconnect… support@demo-ms.test" })
      .click();
    const dialog = await visible(admin.getByRole("dialog", { name: "Disconnect support@demo-ms.test?" }));
    expect(await dialog.textContent()).toContain(
      "Postroom stops reading and sending mail for support@demo-ms.test at once and hands its access back to Microsoft.",
    );
    expect(await dialog.getByRole("radio", { name: /Keep them/ }).isChecked()).toBe(true);
    await dialog.getByRole("radio", { name: /Delete them/ }).check();
    await visible(dialog.getByRole("button", { name: "Disconnect, delete conversations" }));
    await dialog.getByRole("radio", { name: /Keep them/ }).check();
    await screenshot(admin, "connections-disconnect-dialog");
    await expectAccessible(admin, "disconnect dialog");

    await dialog.getByRole("button", { name: "Disconnect, keep conversations" }).click();
    await dialog.waitFor({ state: "hidden" });
    await visible(admin.getByText("support@demo-ms.test was disconnected; its conversations were kept."));
    expect(await connectionRow("support@demo-ms.test").count()).toBe(0);

    // Kept conversations make a read-only archive, which the server still lists after a reload.
    await admin.reload();
    await visible(connectionRow("sales@demo.test"));
    expect(await connectionRow("support@demo-ms.test").count()).toBe(0);
    const archives = admin.getByRole("region", { name: /Disconnected inboxes/ });
    const archived = archives.getByRole("listitem").filter({ hasText: "support@demo-ms.test" });
    await visible(archived);
    expect(await archived.textContent()).toMatch(/Disconnected.*Microsoft 365 · Shared · disconnected/);
    expect(await archived.textContent()).toContain("Conversations kept, read-only.");
    await screenshot(admin, "connections-archived");
    await expectAccessible(admin, "disconnected inboxes");

    // Deleting the archive's conversations asks again, then removes it for good.
    await archived.getByRole("button", { name: "Delete conversations… of support@demo-ms.test" }).click();
    const confirm = await visible(
      admin.getByRole("dialog", { name: "Delete the conversations of support@demo-ms.test?" }),
    );
    await confirm.getByRole("button", { name: "Delete conversations" }).click();
    await confirm.waitFor({ state: "hidden" });
    await visible(admin.getByText("The conversations of support@demo-ms.test were deleted."));
    await admin.reload();
    await visible(connectionRow("sales@demo.test"));
    expect(await admin.getByRole("region", { name: /Disconnected inboxes/ }).count()).toBe(0);
    expect(await connectionRow("support@demo-ms.test").count()).toBe(0);

    expect(problems).toEqual([]);
  });

  it("explains every outcome a provider can send the invitee back with", async () => {
    const page = await openPage("results");
    const cases: [string, string, RegExp][] = [
      [
        "outcome=reconnected&address=sales%40demo.test",
        "Mailbox reconnected",
        /can again read and send mail for sales@demo\.test/,
      ],
      [
        "outcome=no_delegate_access&detail=sam%40demo-ms.test",
        "No Full Access to the shared mailbox",
        /You signed in as sam@demo-ms\.test, which does not have Full Access/,
      ],
      [
        `outcome=missing_scope&detail=${encodeURIComponent("https://www.googleapis.com/auth/gmail.send https://graph.microsoft.com/Mail.ReadWrite.Shared openid")}`,
        "Some permissions were not given",
        /Send mail.*Read and organise mail in mailboxes shared with you.*Confirm who you are/,
      ],
      ["outcome=declined", "Connection cancelled", /You cancelled/],
      ["outcome=invalid_state", "This sign-in could not be matched to this browser", /Open the invitation email again/],
      ["outcome=invalid_callback", "This sign-in could not be matched to this browser", /another browser/],
      ["outcome=wrong_provider", "This sign-in could not be matched to this browser", /10 minutes/],
      ["outcome=invite_unusable", "The invitation stopped working", /withdrawn or expired while you were signing in/],
      ["outcome=exchange_failed", "The sign-in could not be completed", /did not hand over access/],
      ["outcome=identity_unverified", "Your account could not be confirmed", /verified email address/],
      ["outcome=provider_error", "Google or Microsoft reported a problem", /administrator to approve Postroom/],
      ["outcome=no_offline_access", "Postroom was not given lasting access", /keep working when you are signed out/],
      ["outcome=mailbox_unreachable", "The mailbox could not be opened", /no mailbox licence/],
      ["outcome=quantum_flux", "Something went wrong", /\(quantum_flux\)/],
    ];
    for (const [query, title, body] of cases) {
      await page.goto(`${server.origin}/connect/result?${query}`);
      await visible(heading(page, title));
      expect(await page.locator("main").textContent()).toMatch(body);
    }
    await page.goto(`${server.origin}/connect/result?${cases[2]![0]}`);
    await visible(heading(page, "Some permissions were not given"));
    expect(await page.locator(".missing-scopes li").allTextContents()).toEqual([
      "Send mail",
      "Read and organise mail in mailboxes shared with you",
      "Confirm who you are and your email address",
    ]);
    await screenshot(page, "connect-result-missing-scope");
    await expectAccessible(page, "missing permissions");
    expect(problems).toEqual([]);
  });

  it("offers Google and Microsoft on the sign-in page and explains why a provider sign-in failed", async () => {
    const page = await openPage("signin");
    await page.goto(`${server.origin}/signin?error=no_account`);
    await visible(heading(page, "Sign in to Postroom"));
    const alert = page.getByRole("alert");
    await visible(alert.getByText("No Postroom account for that address"));
    expect(page.url()).toBe(`${server.origin}/signin`);
    await visible(page.getByRole("button", { name: "Continue with Google" }));
    await visible(page.getByRole("button", { name: "Continue with Microsoft" }));
    await screenshot(page, "signin-providers");
    await expectAccessible(page, "sign-in with an error");

    for (const [code, text] of [
      ["invalid_state", "Sign-in could not be matched to this browser"],
      ["declined", "Sign-in cancelled"],
      ["identity_unverified", "Your address could not be confirmed"],
      ["exchange_failed", "Sign-in did not finish"],
    ]) {
      await page.goto(`${server.origin}/signin?error=${code}`);
      await visible(page.getByRole("alert").getByText(text!));
    }

    // Continue with Google: either the provider's page, or a plain refusal if this server lacks it.
    await page.goto(`${server.origin}/signin`);
    const start = await fetch(`${server.origin}/api/auth/oauth/start`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.origin },
      body: JSON.stringify({ provider: "google" }),
    });
    await page.getByRole("button", { name: "Continue with Google" }).click();
    if (start.status === 404) {
      await visible(page.getByRole("alert").getByText("Signing in with Google is not available here"));
    } else {
      expect(start.status).toBe(200);
      await page.waitForURL((url) => url.href.startsWith(emulatorUrl));
      await visible(page.getByRole("heading", { name: "Choose an account" }));
    }
    expect(problems).toEqual([]);
  });
});
