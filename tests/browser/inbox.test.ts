/**
 * Reading and answering mail, driven through real Chromium: a message waits in the emulator's Gmail
 * mailbox, the mailbox is connected through the consent page, the backfill brings the message into
 * the Inbox, and a reply sent from the conversation comes back into it as sent from the mailbox.
 */
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAccessible } from "./support/accessibility";
import { DESKTOP, PHONE, launchBrowser, screenshot } from "./support/browser";
import { startDevServer, type DevServer } from "./support/dev-server";

let server: DevServer;
let browser: Browser;
let admin: Page;
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

/**
 * The Remove buttons of a composer's files that a floating confirmation (toast) is drawn over, each
 * checked scrolled to the bottom of the window, where the confirmation floats.
 */
const removeButtonsCovered = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLButtonElement>(".upload-item button")].flatMap((button) => {
      button.scrollIntoView({ block: "end" });
      const b = button.getBoundingClientRect();
      const covered = [...document.querySelectorAll(".live-status > *")]
        .map((t) => t.getBoundingClientRect())
        .some((t) => b.left < t.right && t.left < b.right && b.top < t.bottom && t.top < b.bottom);
      return covered ? [button.getAttribute("aria-label") ?? ""] : [];
    }),
  );

const noSideScroll = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth).then((o) => expect(o).toBe(0));

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startDevServer({ emulator: true, emulatorWorld: "empty", gmailPush: true }),
    launchBrowser(),
  ]);
  // The message is already in the mailbox when it is connected, so the backfill brings it in.
  server.emulator!.deliver({
    to: "sales@demo.test",
    from: "Ana <ana@example.com>",
    subject: "Pricing question",
    text: "Hello\nHow much?",
  });

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

/** Invites sales@demo.test as a shared mailbox and connects it through the Google consent page. */
async function connectSales(): Promise<void> {
  await admin.getByRole("link", { name: "Settings › Inbox connections" }).click();
  await visible(heading(admin, "Inbox connections"));
  await admin.getByLabel("Mailbox address").fill("sales@demo.test");
  await admin.getByRole("button", { name: "Send invitation", exact: true }).click();
  await visible(admin.getByText("Invitation to connect sent to sales@demo.test."));

  const owner = await openPage("sales");
  await owner.goto(await server.latestLink("sales@demo.test", "/connect"));
  await visible(heading(owner, "Connect a mailbox to Postroom"));
  await owner.getByRole("checkbox").check();
  await owner.getByRole("button", { name: "Connect with Google" }).click();
  await owner.waitForURL((url) => url.href.startsWith(server.emulator!.url));
  await visible(owner.getByRole("heading", { name: "Choose an account" }));
  await owner.getByRole("radio", { name: /sales@demo\.test/ }).check();
  await owner.getByRole("button", { name: "Continue" }).click();
  await owner.waitForURL((url) => url.pathname === "/connect/result");
  await visible(heading(owner, "Mailbox connected"));
}

/** Presses Refresh until `locator` shows up: the backfill runs in the background after connecting. */
async function waitForThread(page: Page, locator: Locator, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await locator.isVisible())) {
    if (Date.now() > deadline) throw new Error(`no conversation appeared within ${timeoutMs / 1000} s`);
    await page.waitForTimeout(1000);
    await page.getByRole("button", { name: /^Refresh / }).click();
    await page.waitForTimeout(300);
  }
}

describe("reading and answering mail in a real browser", () => {
  it("shows a connected mailbox's conversations, opens one and sends a reply from it", async () => {
    const origin = server.origin;
    await connectSales();

    await admin.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Inbox", exact: true }).click();
    await admin.waitForURL(`${origin}/`);
    await visible(heading(admin, "Inbox"));
    const inboxes = admin.getByRole("navigation", { name: "Inboxes" });
    const salesLink = await visible(inboxes.getByRole("link", { name: /sales@demo\.test/ }));
    expect(await salesLink.textContent()).toMatch(/^sales@demo\.testShared(\d+ unread)?$/);
    expect(await salesLink.getByRole("img", { name: "Good" }).count()).toBe(1);
    // Every inbox at once is the first view, without choosing anything.
    const allLink = inboxes.getByRole("link", { name: "All inboxes" });
    expect(await allLink.getAttribute("aria-current")).toBe("page");

    const allList = admin.getByRole("list", { name: "Conversations in All inboxes" });
    const allRow = allList.getByRole("link").filter({ hasText: "Pricing question" });
    await waitForThread(admin, allRow);
    const rowText = (await allRow.textContent()) ?? "";
    expect(rowText).toContain("Ana");
    expect(rowText).toContain("Hello");
    expect(rowText).toContain("Unread");
    expect(rowText).toContain("sales@demo.test");
    expect(rowText).toMatch(/just now|minutes? ago/);
    await noSideScroll(admin);
    await screenshot(admin, "inbox-desktop");
    await expectAccessible(admin, "inbox");

    // Choosing the inbox puts it in the address, so a reload keeps it.
    await salesLink.click();
    await admin.waitForURL((url) => url.pathname.startsWith("/inbox/"));
    expect(await salesLink.getAttribute("aria-current")).toBe("page");
    const inboxUrl = admin.url();
    const row = admin
      .getByRole("list", { name: "Conversations in sales@demo.test" })
      .getByRole("link")
      .filter({ hasText: "Pricing question" });
    await visible(row);

    await row.click();
    await admin.waitForURL((url) => url.pathname.startsWith("/threads/"));
    await visible(heading(admin, "Pricing question"));
    expect(await admin.title()).toBe("Pricing question · Postroom");
    await visible(admin.getByRole("status").filter({ hasText: "This is a shared email account" }));
    const messages = admin.getByRole("list", { name: "Messages and notes" }).getByRole("listitem");
    expect(await messages.count()).toBe(1);
    const first = messages.first();
    expect(await first.textContent()).toContain("Ana <ana@example.com>");
    expect(await first.textContent()).toContain("To: sales@demo.test");
    // Line breaks are kept: the text is shown as text, in a pre-wrap block.
    expect(await first.locator(".message-text").innerText()).toBe("Hello\nHow much?");

    // The composer answers the last sender from the thread's inbox.
    const toField = admin.getByLabel("To", { exact: true });
    expect(await toField.inputValue()).toBe("ana@example.com");
    await visible(admin.getByText("Sends from sales@demo.test"));

    // An empty message is caught before any request.
    await admin.getByRole("button", { name: "Send reply" }).click();
    await visible(admin.getByText("Write a message before sending."));
    await admin.getByLabel("Cc (optional)").fill("not-an-address");
    await admin.getByRole("textbox", { name: "Message" }).fill("Hi Ana,\nIt is 10 euros.\n\nAda");
    await admin.getByRole("button", { name: "Send reply" }).click();
    await visible(admin.getByText("“not-an-address” is not an email address like name@example.com."));
    await admin.getByLabel("Cc (optional)").fill("");

    await admin.getByRole("button", { name: "Send reply" }).click();
    await visible(admin.getByText("Reply sent from sales@demo.test."));
    await messages.nth(1).waitFor({ state: "visible", timeout: 15_000 });
    const reply = messages.nth(1);
    expect(await reply.textContent()).toContain("sales@demo.test");
    expect(await reply.textContent()).toContain("To: ana@example.com");
    expect(await reply.locator(".message-text").innerText()).toBe("Hi Ana,\nIt is 10 euros.\n\nAda");
    expect(await admin.getByRole("textbox", { name: "Message" }).inputValue()).toBe("");
    await noSideScroll(admin);
    await screenshot(admin, "thread-desktop");
    await expectAccessible(admin, "conversation");

    // The same conversation on a phone.
    const phone = await openPage("admin-phone", PHONE);
    await phone.context().addCookies(await admin.context().cookies());
    await phone.goto(admin.url());
    await visible(heading(phone, "Pricing question"));
    await visible(phone.getByRole("list", { name: "Messages and notes" }).getByRole("listitem").nth(1));
    // After our own reply, a follow-up goes to the customer again, not to our own address.
    expect(await phone.getByLabel("To", { exact: true }).inputValue()).toBe("ana@example.com");
    await noSideScroll(phone);
    await screenshot(phone, "thread-phone");

    // The team's side: a note, an assignee, a tag, then closing it.
    await admin
      .getByRole("textbox", { name: /Internal note/ })
      .fill("Quoted the list price; check the discount tomorrow.");
    await admin.getByRole("button", { name: "Add note" }).click();
    await visible(admin.getByRole("article", { name: /Internal note by/ }));
    expect(await messages.count()).toBe(3);
    await admin.getByLabel("Assignee").selectOption({ index: 1 });
    await visible(admin.getByText(/^Assigned to /));
    await admin.getByLabel("Tags").fill("pricing, VIP");
    await admin.getByRole("button", { name: "Save tags" }).click();
    await visible(admin.getByText("Tags saved."));
    await screenshot(admin, "thread-collaboration");
    await expectAccessible(admin, "conversation with a note");
    // A teammate opens the same conversation: the admin sees them arrive, start a reply, and their
    // note appear, all without reloading.
    const cookie = (await admin.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const invited = await fetch(`${origin}/api/invites`, {
      method: "POST",
      headers: { cookie, origin, "content-type": "application/json" },
      body: JSON.stringify({ email: "ben@example.com", role: "admin" }),
    });
    expect(invited.status).toBe(201);
    const ben = await openPage("ben");
    await ben.goto(await server.latestLink("ben@example.com", "/auth/invite"));
    await ben.getByRole("button", { name: "Join the team" }).click();
    await ben.waitForURL(`${origin}/`);
    await ben.goto(admin.url());
    await visible(heading(ben, "Pricing question"));
    const here = admin.getByRole("list", { name: "Teammates here" });
    await visible(here.getByText("ben@example.com is viewing"));
    await ben.getByRole("textbox", { name: "Message" }).fill("Hi Ana, one more thing");
    await visible(here.getByText("ben@example.com is replying"));
    await screenshot(admin, "thread-presence");
    await expectAccessible(admin, "conversation with a teammate");
    await ben.getByRole("textbox", { name: /Internal note/ }).fill("I will follow up on the discount.");
    await ben.getByRole("button", { name: "Add note" }).click();
    await visible(admin.getByText("I will follow up on the discount."));
    expect(await messages.count()).toBe(4);
    await ben.close();
    await here.waitFor({ state: "detached", timeout: 15_000 });

    await admin.getByRole("button", { name: "Close", exact: true }).click();
    await visible(admin.getByRole("button", { name: "Reopen" }));

    // Back in the inbox: closed conversations leave the default (open) list; the Closed filter shows it.
    await admin.getByRole("link", { name: "← sales@demo.test" }).click();
    await admin.waitForURL(inboxUrl);
    await visible(
      admin.getByText("No conversation matches these filters.").or(admin.getByText(/No open conversations/)),
    );
    await admin.getByLabel("Status").selectOption("closed");
    await visible(row);
    const closedText = (await row.textContent()) ?? "";
    expect(closedText).toContain("2 messages");
    expect(closedText).toContain("Closed");
    expect(closedText).toContain("pricing");
    expect(closedText).toContain("vip");
    // Search finds it by a word of the reply.
    await admin.getByLabel("Status").selectOption("");
    await admin.getByRole("searchbox", { name: "Search conversations" }).fill("euros");
    await admin.getByRole("searchbox", { name: "Search conversations" }).press("Enter");
    await visible(row);
    await screenshot(admin, "inbox-filtered");
    await expectAccessible(admin, "inbox, filtered");

    // A new conversation from the inbox, then forwarded from its page.
    await admin.getByRole("button", { name: "New message" }).click();
    await admin.getByLabel("To", { exact: true }).fill("prospect@example.com");
    await admin.getByLabel("Subject").fill("Hello from sales");
    await admin.getByRole("textbox", { name: "Message" }).fill("Shall we talk?");
    // Files: each uploads with its own progress bar; one over the limit is refused and can be removed.
    const brochure = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff));
    await admin.locator("#new-files").setInputFiles([
      { name: "brochure.pdf", mimeType: "application/pdf", buffer: brochure },
      { name: "huge.zip", mimeType: "application/zip", buffer: Buffer.alloc(2_100_000) },
    ]);
    const attached = admin.getByRole("list", { name: "Attached files" });
    await visible(attached.getByRole("progressbar", { name: "brochure.pdf: uploaded" }));
    await visible(attached.getByText("Each file can be at most 2 MB; this one is 2.1 MB."));
    // What happened to a file is said under the list, not in a floating confirmation over its buttons.
    await visible(admin.getByRole("status").filter({ hasText: "brochure.pdf attached." }));
    expect(await removeButtonsCovered(admin)).toEqual([]);
    await screenshot(admin, "composer-attachments");
    await admin.getByRole("button", { name: "Remove huge.zip" }).click();
    expect(await attached.getByRole("listitem").count()).toBe(1);
    await visible(admin.getByRole("status").filter({ hasText: "huge.zip removed." }));
    expect(await removeButtonsCovered(admin)).toEqual([]);
    await admin.getByRole("button", { name: "Send", exact: true }).click();
    await admin.waitForURL((url) => url.pathname.startsWith("/threads/"));
    await visible(heading(admin, "Hello from sales"));
    await visible(admin.getByRole("link", { name: "brochure.pdf" }));
    // What the recipient gets: the file, byte for byte.
    const delivered = server.emulator!.admin.outbox().at(-1)!;
    expect(delivered.to).toEqual(["prospect@example.com"]);
    const mime = Buffer.from(delivered.raw, "base64").toString("latin1");
    expect(mime).toContain("brochure.pdf");
    const part = mime.slice(mime.indexOf("brochure.pdf"));
    const b64 = part
      .slice(part.search(/\r?\n\r?\n/))
      .trim()
      .split(/\r?\n--/)[0]!
      .replace(/\s+/g, "");
    expect(Buffer.from(b64, "base64").equals(brochure)).toBe(true);
    await admin.getByRole("button", { name: "Forward", pressed: false }).click();
    await admin.getByLabel("To", { exact: true }).fill("partner@example.com");
    await admin.locator('button[type="submit"]', { hasText: "Forward" }).click();
    await visible(admin.getByText("Forwarded from sales@demo.test."));
    await admin
      .getByRole("listitem")
      .filter({ hasText: "Fwd: Hello from sales" })
      .or(admin.getByRole("list", { name: "Messages and notes" }).getByRole("listitem").nth(1))
      .first()
      .waitFor({ state: "visible", timeout: 15_000 });
    await screenshot(admin, "thread-forwarded");
    await expectAccessible(admin, "forwarded");

    // Keyboard: e closes, r puts the cursor in the reply; in the list, j moves through the
    // conversations and / goes to the search box.
    await heading(admin, "Hello from sales").click();
    await admin.keyboard.press("e");
    await visible(admin.getByRole("button", { name: "Reopen" }));
    await admin.keyboard.press("r");
    // The composer takes focus once it has rendered in reply mode.
    await admin.waitForFunction(() => document.activeElement?.id === "reply-text", undefined, { timeout: 5_000 });
    await admin.getByRole("link", { name: "← sales@demo.test" }).click();
    await admin.waitForURL(inboxUrl);
    await admin.getByLabel("Status").selectOption("");
    await visible(admin.getByRole("list", { name: "Conversations in sales@demo.test" }).getByRole("link").first());
    await admin.getByRole("heading", { name: "sales@demo.test", exact: true }).click();
    await admin.keyboard.press("j");
    await admin.waitForFunction(() => document.activeElement?.classList.contains("thread-link"), undefined, {
      timeout: 5_000,
    });
    await admin.keyboard.press("/");
    await admin.waitForFunction(() => document.activeElement?.id === "thread-search", undefined, { timeout: 5_000 });

    expect(problems).toEqual([]);
    // A long journey on a busy machine, with accessibility checks at two widths along the way.
  }, 300_000);
});
