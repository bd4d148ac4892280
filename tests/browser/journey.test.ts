/**
 * The whole story in a real browser against `wrangler dev` and the provider emulator, with Gmail
 * push on: an owner invites sales@, its owner consents on the emulator's Google page, the import
 * shows its progress, the conversations appear, a reply goes out and lands in the mailbox's Sent
 * folder, and new mail shows up in the open list and the open conversation without a reload. Then
 * the grant is revoked at Google: the connection turns Failing with the reason, a reconnect link
 * brings it back, and the mail that arrived meanwhile comes in. Last, two teammates on one
 * conversation: each sees the other, and a reply written while the customer wrote again is held
 * for review.
 */
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionView } from "../../worker/contracts";
import { expectAccessible } from "./support/accessibility";
import { DESKTOP, PHONE, launchBrowser, screenshot } from "./support/browser";
import { startDevServer, type DevServer } from "./support/dev-server";
import {
  addTeammate,
  apiFetch,
  consentWithGoogle,
  eventually,
  gmailMessages,
  heading,
  inviteAndConnectShared,
  journey,
  signUpOwner,
  visible,
  type Journey,
} from "./support/journey";

const SALES = "sales@demo.test";

/** Mail waiting in sales@ before it is connected: the import brings it in. */
const WAITING = [
  { from: "Dan Ortiz <dan@example.com>", subject: "Order #1001 delayed", text: "Hello,\nMy order has not arrived." },
  { from: "Eve Martin <eve@example.com>", subject: "Invoice question", text: "Is VAT included in the total?" },
  { from: "Femi Ade <femi@example.com>", subject: "Bulk pricing", text: "What do 500 units cost?" },
  { from: "Grace Lin <grace@example.com>", subject: "Opening hours", text: "Are you open on Saturdays?" },
  { from: "Hugo Blanc <hugo@example.com>", subject: "Return label", text: "Please send a return label." },
  { from: "Iris Novak <iris@example.com>", subject: "Catalogue 2027", text: "Could you mail me the catalogue?" },
  { from: "Jon Berg <jon@example.com>", subject: "Wrong size", text: "I received size M instead of L." },
  { from: "Kemi Obi <kemi@example.com>", subject: "Gift wrapping", text: "Do you offer gift wrapping?" },
];

let server: DevServer;
let browser: Browser;
let j: Journey;
let admin: Page;
/** Gmail thread ids of the waiting mail, by subject. */
const gmailThread = new Map<string, string>();

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startDevServer({ emulator: true, emulatorWorld: "empty", gmailPush: true }),
    launchBrowser(),
  ]);
  j = journey(server, browser);
  const start = Date.now() - WAITING.length * 60_000;
  WAITING.forEach((m, i) => {
    const delivered = server.emulator!.deliver({ to: SALES, ...m, receivedAt: start + i * 60_000 });
    gmailThread.set(m.subject, delivered.deliveries[0]!.threadId);
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const emulator = () => server.emulator!;

const connectionRow = (page: Page, address: string) =>
  page
    .getByRole("region", { name: /Connected inboxes/ })
    .getByRole("listitem")
    .filter({ hasText: address });

const noSideScroll = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth).then((o) => expect(o).toBe(0));

/** Where the conversation's heading, notices and timeline entries sit on the page (document coordinates). */
const layoutOf = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll("main h1, main .back-link, main .notice:not(.toast), .messages > li")].map((el) => {
      const r = el.getBoundingClientRect();
      return { top: Math.round(r.top + window.scrollY), left: Math.round(r.left), height: Math.round(r.height) };
    }),
  );

async function openInbox(page: Page): Promise<Locator> {
  await page.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Inbox", exact: true }).click();
  await page.waitForURL(`${server.origin}/`);
  return page.getByRole("list", { name: "Conversations in All inboxes" });
}

async function openConversation(page: Page, subject: string): Promise<Locator> {
  const list = await openInbox(page);
  await visible(list.getByRole("link").filter({ hasText: subject }));
  await list.getByRole("link").filter({ hasText: subject }).click();
  await visible(heading(page, subject));
  return page.getByRole("list", { name: "Messages and notes" }).getByRole("listitem");
}

async function connection(page: Page, address: string): Promise<ConnectionView | undefined> {
  const res = await apiFetch(server, page, "/api/connections");
  expect(res.status).toBe(200);
  return ((await res.json()) as { connections: ConnectionView[] }).connections.find((c) => c.address === address);
}

describe("the whole journey in a real browser", () => {
  it("connects sales@, shows the import, answers a customer from the mailbox and shows new mail live", async () => {
    admin = await signUpOwner(j, "ada@example.com", "Acme Trading");
    // Each fetch of the import is slowed down, so its progress stays on screen long enough to see.
    emulator().admin.slowResponses({ target: "gmail", ms: 2_500, count: WAITING.length, pathIncludes: "/messages/" });
    const owner = await inviteAndConnectShared(j, admin, SALES);
    await visible(heading(owner, "Mailbox connected"));

    // Good at once, with the import under way: a bar and the counts.
    await admin.reload();
    const row = await visible(connectionRow(admin, SALES));
    expect(await row.locator(".health").textContent()).toBe("Health: Good");
    await visible(row.getByText(new RegExp(`Importing recent mail · \\d of ${WAITING.length} messages`)), 30_000);
    const bar = row.getByRole("progressbar");
    expect(await bar.getAttribute("max")).toBe(String(WAITING.length));
    await screenshot(admin, "journey-connections-importing");
    await expectAccessible(admin, "connections while importing", [DESKTOP]);
    // The screen moves on by itself when the import is done.
    await visible(row.getByText(/Up to date/), 120_000);
    expect(await bar.count()).toBe(0);
    await screenshot(admin, "journey-connections-up-to-date");

    // The conversations are in the inbox, newest first.
    const list = await openInbox(admin);
    await visible(list.getByRole("link").filter({ hasText: "Gift wrapping" }));
    const subjects = await list.locator(".thread-subject").allTextContents();
    expect(subjects).toEqual(WAITING.map((m) => m.subject).reverse());
    await noSideScroll(admin);
    await screenshot(admin, "journey-inbox");

    // The same on a phone: the list, then a conversation.
    const phone = await j.openPage("phone", PHONE);
    await phone.context().addCookies(await admin.context().cookies());
    await phone.goto(`${server.origin}/`);
    const phoneList = phone.getByRole("list", { name: "Conversations in All inboxes" });
    await visible(phoneList.getByRole("link").filter({ hasText: "Gift wrapping" }));
    await noSideScroll(phone);
    await screenshot(phone, "journey-inbox-phone");
    await phoneList.getByRole("link").filter({ hasText: "Bulk pricing" }).click();
    await visible(heading(phone, "Bulk pricing"));
    await visible(phone.getByRole("textbox", { name: "Message" }));
    await noSideScroll(phone);
    // Nothing of the conversation is cut off or wider than the screen.
    for (const box of await layoutOf(phone)) expect(box.left).toBeGreaterThanOrEqual(0);
    await screenshot(phone, "journey-thread-phone");
    await phone.close();

    // Answer Dan. Sending takes a moment at Google; the button says so meanwhile.
    const messages = await openConversation(admin, "Order #1001 delayed");
    expect(await messages.count()).toBe(1);
    expect(await admin.getByLabel("To", { exact: true }).inputValue()).toBe("dan@example.com");
    await admin.getByRole("textbox", { name: "Message" }).fill("Hi Dan,\nIt ships today.\nAda");
    emulator().admin.slowResponses({ target: "gmail", ms: 2_000, count: 1, pathIncludes: "/send" });
    await admin.getByRole("button", { name: "Send reply" }).click();
    const sending = await visible(admin.getByRole("button", { name: "Sending…" }));
    expect(await sending.isDisabled()).toBe(true);
    await visible(admin.getByText("Reply sent from sales@demo.test."), 30_000);
    await visible(messages.nth(1), 30_000);
    expect(await messages.nth(1).locator(".message-text").innerText()).toBe("Hi Dan,\nIt ships today.\nAda");

    // The reply sits in the mailbox's own Sent folder, in Dan's Gmail thread.
    const sent = await eventually("the reply in the Sent folder of sales@", async () =>
      (await gmailMessages(emulator(), SALES, "SENT")).find((m) => m.subject.endsWith("Order #1001 delayed")),
    );
    expect(sent.subject).toBe("Re: Order #1001 delayed");
    expect(sent.from).toBe(SALES);
    expect(sent.to).toEqual(["dan@example.com"]);
    expect(sent.text.replace(/\r\n/g, "\n")).toContain("Hi Dan,\nIt ships today.\nAda");
    expect(sent.threadId).toBe(gmailThread.get("Order #1001 delayed"));
    expect(sent.inReplyTo).not.toBe("");

    // Dan answers while the conversation is open: it appears below, and nothing above it moves.
    await screenshot(admin, "journey-thread");
    const before = await layoutOf(admin);
    await admin.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    emulator().deliver({
      to: SALES,
      from: "Dan Ortiz <dan@example.com>",
      subject: "Re: Order #1001 delayed",
      text: "Great, thank you!",
      replyToThread: gmailThread.get("Order #1001 delayed")!,
    });
    await visible(messages.nth(2), 60_000);
    expect(await messages.nth(2).locator(".message-text").innerText()).toBe("Great, thank you!");
    const after = await layoutOf(admin);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBe(before.length + 1);
    expect(await admin.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await expectAccessible(admin, "conversation after a live update");

    // A new customer writes while the list is open: the conversation appears at the top by itself,
    // and the list's header and filters stay where they were.
    const liveList = await openInbox(admin);
    await visible(liveList.getByRole("link").first());
    const header = async () => (await admin.locator(".thread-filters").boundingBox())!.y;
    const headerBefore = await header();
    await admin.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    emulator().deliver({
      to: SALES,
      from: "Lena Voss <lena@example.com>",
      subject: "Wholesale account",
      text: "How do I open a wholesale account?",
    });
    const fresh = liveList.getByRole("link").filter({ hasText: "Wholesale account" });
    await visible(fresh, 60_000);
    expect(await liveList.locator(".thread-subject").first().textContent()).toBe("Wholesale account");
    expect(await fresh.textContent()).toContain("Unread");
    expect(await header()).toBe(headerBefore);
    expect(await admin.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await screenshot(admin, "journey-inbox-live");

    expect(j.problems).toEqual([]);
  }, 420_000);

  it("shows a revoked grant as Failing with the reason, and a reconnect link brings it and the missed mail back", async () => {
    expect(emulator().admin.googleTokenFault(SALES, "revoke")).toBeGreaterThan(0);
    // Mail keeps arriving; Postroom learns of the revocation the next time it reads the mailbox.
    const missed: string[] = [];
    await eventually(
      "sales@ turning Failing",
      async () => {
        const subject = `Arrived while disconnected ${missed.length + 1}`;
        missed.push(subject);
        emulator().deliver({ to: SALES, from: "Mo Reyes <mo@example.com>", subject, text: "Anyone there?" });
        for (let i = 0; i < 8; i++) {
          if ((await connection(admin, SALES))?.health === "failing") return true;
          await new Promise((r) => setTimeout(r, 1500));
        }
        return false;
      },
      150_000,
    );

    await admin.goto(`${server.origin}/settings/connections`);
    const row = await visible(connectionRow(admin, SALES));
    expect(await row.locator(".health").textContent()).toBe("Health: Failing");
    expect(await row.textContent()).toContain("Access expired or was withdrawn");
    expect(await row.textContent()).toContain("access was revoked");
    // Nothing syncs while it fails, and the progress line says so rather than "Up to date".
    await visible(row.getByText("Stopped", { exact: true }));
    expect(await row.textContent()).not.toContain("Up to date");
    await screenshot(admin, "journey-connections-failing");
    await expectAccessible(admin, "connections with a failing inbox");
    // The inbox rail says so too.
    await openInbox(admin);
    const railLink = admin.getByRole("navigation", { name: "Inboxes" }).getByRole("link", { name: /sales@demo\.test/ });
    await visible(railLink.getByRole("img", { name: "Failing" }));

    // The way out is on the row: a reconnect link to the mailbox's owner.
    await admin.goto(`${server.origin}/settings/connections`);
    await connectionRow(admin, SALES)
      .getByRole("button", { name: `Send reconnect link for ${SALES}` })
      .click();
    await visible(admin.getByText(`Reconnect link sent to ${SALES}.`));
    const owner = await j.openPage("owner reconnecting");
    await owner.goto(await server.latestLink(SALES, "/connect"));
    await visible(heading(owner, "Reconnect a mailbox to Postroom"));
    await expectAccessible(owner, "reconnect page");
    await owner.getByRole("button", { name: "Connect with Google" }).click();
    await consentWithGoogle(owner, emulator(), SALES);
    await owner.waitForURL((url) => url.pathname === "/connect/result");
    await visible(heading(owner, "Mailbox reconnected"));

    await admin.reload();
    const good = await visible(connectionRow(admin, SALES));
    expect(await good.locator(".health").textContent()).toBe("Health: Good");
    expect(await good.getByText("Stopped", { exact: true }).count()).toBe(0);
    await screenshot(admin, "journey-connections-reconnected");

    // Everything that arrived while it was failing is in the inbox.
    const list = await openInbox(admin);
    await eventually(
      "the missed mail in the inbox",
      async () => {
        const shown = await list.locator(".thread-subject").allTextContents();
        if (missed.every((s) => shown.includes(s))) return true;
        await admin.getByRole("button", { name: "Refresh All inboxes" }).click();
        return false;
      },
      120_000,
    );
    await screenshot(admin, "journey-inbox-after-reconnect");
    expect(j.problems).toEqual([]);
  }, 420_000);

  it("shows two teammates on one conversation to each other, and holds a reply written while the customer wrote again", async () => {
    const ben = await addTeammate(j, admin, "ben@example.com", "admin");
    const adminMessages = await openConversation(admin, "Invoice question");
    const before = await layoutOf(admin);
    const benMessages = await openConversation(ben, "Invoice question");
    expect(await benMessages.count()).toBe(1);

    // Each sees the other; the admin's page does not move when Ben arrives.
    const adminHere = admin.getByRole("list", { name: "Teammates here" });
    await visible(adminHere.getByText("ben@example.com is viewing"));
    await visible(ben.getByRole("list", { name: "Teammates here" }).getByText("ada@example.com is viewing"));
    expect(await layoutOf(admin)).toEqual(before);

    // Ben starts a reply; the admin sees it. Then Eve writes again before he sends.
    await ben.getByRole("textbox", { name: "Message" }).fill("Hi Eve,\nYes, VAT is included.\nBen");
    await visible(adminHere.getByText("ben@example.com is replying"));
    expect(await layoutOf(admin)).toEqual(before);
    await screenshot(admin, "journey-thread-presence");
    emulator().deliver({
      to: SALES,
      from: "Eve Martin <eve@example.com>",
      subject: "Re: Invoice question",
      text: "Also, can I pay by bank transfer?",
      replyToThread: gmailThread.get("Invoice question")!,
    });
    await visible(benMessages.nth(1), 60_000);
    await visible(adminMessages.nth(1), 60_000);

    // His reply was written before Eve's question: it is held, and the screen shows what came in.
    await ben.getByRole("button", { name: "Send reply" }).click();
    const review = await visible(
      ben.getByRole("status").filter({ hasText: "New activity since you started this reply" }),
    );
    expect(await review.textContent()).toContain("Eve Martin: Also, can I pay by bank transfer?");
    expect(await ben.getByRole("textbox", { name: "Message" }).inputValue()).toBe(
      "Hi Eve,\nYes, VAT is included.\nBen",
    );
    await screenshot(ben, "journey-thread-stale-review");
    await expectAccessible(ben, "reply held for review");

    await ben
      .getByRole("textbox", { name: "Message" })
      .fill("Hi Eve,\nYes, VAT is included, and bank transfer is fine.\nBen");
    await ben.getByRole("button", { name: "Send anyway" }).click();
    await visible(ben.getByText("Reply sent from sales@demo.test."), 30_000);
    await visible(benMessages.nth(2), 30_000);
    expect(await review.count()).toBe(0);
    // The admin sees Ben's reply arrive, and Ben is no longer replying.
    await visible(adminMessages.nth(2), 30_000);
    await visible(adminHere.getByText("ben@example.com is viewing"));
    const sent = await eventually("Ben's reply in the Sent folder of sales@", async () =>
      (await gmailMessages(emulator(), SALES, "SENT")).find((m) => m.text.includes("bank transfer is fine")),
    );
    expect(sent.to).toEqual(["eve@example.com"]);
    expect(sent.threadId).toBe(gmailThread.get("Invoice question"));
    expect(j.problems).toEqual([]);
  }, 300_000);
});
