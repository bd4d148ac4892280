/**
 * The embeddable inbox in a real Chromium: an admin registers a partner site in Settings › Partner
 * sites (JWKS key), the partner's page on its own origin embeds the inbox with one script tag, its
 * user reads a conversation and replies; the reply goes out through Gmail into the mailbox's Sent
 * folder and shows in the app's thread as sent by that user via the partner. A page on another origin
 * cannot frame the widget, and messages from a wrong origin are ignored on both sides.
 */
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gmailClient } from "../emulator/support/clients";
import { GMAIL_SCOPES } from "../emulator/support/oauth";
import { DESKTOP, launchBrowser, screenshot } from "./support/browser";
import { startDevServer, type DevServer } from "./support/dev-server";
import { startOtherSite, startPartnerSite, type OtherSite, type PartnerSite } from "./support/partner-site";

let server: DevServer;
let browser: Browser;
let partner: PartnerSite;
let other: OtherSite;
let admin: Page;
let partnerId = "";
let threadPath = "";
const contexts: BrowserContext[] = [];
const problems: string[] = [];
const REPLY = "Hi Ana,\nthe portal price is 12 euros.\nMaya";

async function openPage(label: string): Promise<Page> {
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => problems.push(`${label}: ${err.message}`));
  return page;
}

async function visible(locator: Locator): Promise<Locator> {
  await locator.waitFor({ state: "visible" });
  return locator;
}

const heading = (page: Page, name: string | RegExp) => page.getByRole("heading", { level: 1, name });
/** The widget's frame inside the loader's shadow root (Playwright's CSS engine pierces open shadow roots). */
const widget = (page: Page) => page.frameLocator('iframe[title="Inbox"]');

beforeAll(async () => {
  [server, browser] = await Promise.all([startDevServer({ emulator: true, emulatorWorld: "empty" }), launchBrowser()]);
  server.emulator!.deliver({
    to: "sales@demo.test",
    from: "Ana <ana@example.com>",
    subject: "Pricing question",
    text: "Hello\nHow much is it on the portal?",
  });
  partner = await startPartnerSite({ port: 0, postroom: server.origin, inbox: "sales@demo.test" });
  other = await startOtherSite(server.origin);

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

  // Connect sales@demo.test through the Google consent page, as its owner would.
  await admin.goto(`${server.origin}/settings/connections`);
  await admin.getByLabel("Mailbox address").fill("sales@demo.test");
  await admin.getByRole("button", { name: "Send invitation", exact: true }).click();
  await visible(admin.getByText("Invitation to connect sent to sales@demo.test."));
  const owner = await openPage("sales");
  await owner.goto(await server.latestLink("sales@demo.test", "/connect"));
  await owner.getByRole("checkbox").check();
  await owner.getByRole("button", { name: "Connect with Google" }).click();
  await owner.waitForURL((url) => url.href.startsWith(server.emulator!.url));
  await owner.getByRole("radio", { name: /sales@demo\.test/ }).check();
  await owner.getByRole("button", { name: "Continue" }).click();
  await owner.waitForURL((url) => url.pathname === "/connect/result");
  await visible(heading(owner, "Mailbox connected"));

  // The backfill brings the message in shortly after connecting.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const list = await admin.request.get(`${server.origin}/api/threads`);
    const threads = ((await list.json()) as { threads: { id: string; subject: string }[] }).threads;
    const found = threads.find((t) => t.subject === "Pricing question");
    if (found) {
      threadPath = `/threads/${found.id}`;
      break;
    }
    if (Date.now() > deadline) throw new Error("the conversation was not backfilled within 60 s");
    await new Promise((r) => setTimeout(r, 1000));
  }
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await partner?.close();
  await other?.close();
  await server?.stop();
});

describe("the embeddable inbox in a real browser", () => {
  it("registers the partner site in Settings › Partner sites", async () => {
    await admin.goto(`${server.origin}/`);
    await admin.getByRole("link", { name: "Partner sites" }).click();
    await visible(heading(admin, "Partner sites"));
    await visible(admin.getByText("No partner sites yet"));
    await admin.getByLabel("Partner name").fill("Brand Portal");
    await admin.getByLabel("Allowed origins").fill(partner.origin);
    expect(await admin.getByLabel("Inbox it embeds").inputValue()).not.toBe("");
    await admin.getByLabel("Read and write internal notes").check();
    await admin.getByLabel(/public keys \(ES256 or RS256\)/).check();
    await admin.getByLabel("JWKS URL", { exact: true }).fill(partner.jwksUrl);
    await admin.getByRole("button", { name: "Register partner" }).click();
    const row = await visible(admin.locator("li.partner").filter({ hasText: "Brand Portal" }));
    expect(await row.textContent()).toContain(partner.origin);
    expect(await row.textContent()).toContain("sales@demo.test");
    expect(await row.textContent()).toContain("users may read, reply, notes");
    await screenshot(admin, "partners-settings");
    const list = (await (await admin.request.get(`${server.origin}/api/partners`)).json()) as {
      partners: { id: string; name: string }[];
    };
    partnerId = list.partners.find((p) => p.name === "Brand Portal")!.id;
    partner.configure({ partnerId });
  });

  it("embeds on the partner's page, reads the conversation and sends an attributed reply", async () => {
    expect(partnerId).not.toBe("");
    const page = await openPage("partner");
    await page.goto(partner.origin);
    const frame = widget(page);
    const row = await visible(frame.getByRole("button", { name: /Pricing question/ }));
    expect(await row.textContent()).toContain("Ana");
    // The page's loud CSS reaches neither the widget's frame element nor anything inside it.
    const border = await page.locator('iframe[title="Inbox"]').evaluate((el) => getComputedStyle(el).borderStyle);
    expect(border).toBe("solid");
    expect(await row.evaluate((el) => getComputedStyle(el).fontFamily)).not.toContain("Comic");
    await screenshot(page, "widget-list");

    await row.click();
    await visible(frame.getByRole("heading", { name: "Pricing question" }));
    await visible(frame.getByText("How much is it on the portal?"));
    await frame.getByLabel("Reply").fill(REPLY);
    await frame.getByRole("button", { name: "Send reply" }).click();
    await visible(frame.getByText("Sent by Maya Chen via Brand Portal"));
    const mine = frame.getByRole("article").filter({ hasText: "Sent by Maya Chen via Brand Portal" });
    expect(await mine.locator(".text").innerText()).toBe(REPLY);
    await screenshot(page, "widget-thread");

    // In the app, the team sees who answered and through which partner.
    await admin.goto(`${server.origin}${threadPath}`);
    const reply = await visible(
      admin.getByRole("list", { name: "Messages and notes" }).getByRole("listitem").filter({ hasText: "Sent by" }),
    );
    expect(await reply.textContent()).toContain("Sent by Maya Chen via Brand Portal");
    expect(await reply.textContent()).toContain("To: ana@example.com");
    await screenshot(admin, "thread-reply-via-partner");

    // Through Gmail: the mailbox's own Sent folder holds it.
    const gmail = await gmailClient(server.emulator!, "sales@demo.test", [GMAIL_SCOPES.readonly]);
    const sent = await gmail.get<{ messages?: { id: string }[] }>("/messages?q=in:sent");
    const raws = await Promise.all(
      (sent.body.messages ?? []).map(async (m) => {
        const full = await gmail.get<{ raw: string; labelIds: string[] }>(`/messages/${m.id}?format=raw`);
        return { labels: full.body.labelIds, raw: Buffer.from(full.body.raw, "base64url").toString("utf8") };
      }),
    );
    const inSent = raws.find((r) => r.raw.includes("the portal price is 12 euros."));
    expect(inSent, "the reply is in sales@demo.test's Sent folder").toBeDefined();
    expect(inSent!.labels).toContain("SENT");
    expect(inSent!.raw).toMatch(/^To:.*ana@example\.com/m);
    expect(problems).toEqual([]);
  });

  it("a page on another origin cannot frame the widget, with the loader or directly", async () => {
    const page = await openPage("other");
    const exchanges: string[] = [];
    page.on("request", (r) => {
      if (r.url().includes("/api/embed/")) exchanges.push(r.url());
    });
    // Even with a valid token in hand, the browser refuses to render the frame on this origin.
    await page.goto(`${other.origin}/loader#${encodeURIComponent(await partner.token())}`);
    await page.waitForTimeout(2000);
    const framed = page.frames().filter((f) => f !== page.mainFrame());
    expect(framed).toHaveLength(1);
    expect(framed[0]!.url()).not.toContain("/widget/");
    expect(await framed[0]!.locator("#widget").count()).toBe(0);

    // Claiming to be the partner in the URL changes nothing: frame-ancestors is about who frames.
    const src = `${server.origin}/widget/${partnerId}?host=${encodeURIComponent(partner.origin)}`;
    await page.goto(`${other.origin}/frame?src=${encodeURIComponent(src)}`);
    await page.waitForTimeout(2000);
    const direct = page.frames().filter((f) => f !== page.mainFrame());
    expect(direct).toHaveLength(1);
    expect(await direct[0]!.locator("#widget").count()).toBe(0);
    expect(exchanges).toEqual([]);
    await screenshot(page, "widget-other-origin");

    // The same page, framed by the partner's own origin, renders.
    const ok = await openPage("partner-direct");
    await ok.goto(partner.origin);
    await visible(widget(ok).getByRole("button", { name: /Pricing question/ }));
  });

  it("ignores postMessage from a wrong origin, in the widget and in the loader", async () => {
    const page = await openPage("partner-attacked");
    const exchanges: string[] = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/api/embed/session")) exchanges.push(r.url());
    });
    await page.goto(partner.origin);
    await visible(widget(page).getByRole("button", { name: /Pricing question/ }));
    expect(exchanges).toHaveLength(1);
    const tokensBefore = partner.tokensIssued();

    // Record what reaches the widget's window, to know the attacker's message was delivered.
    const widgetFrame = page.frames().find((f) => f.url().includes("/widget/"))!;
    await widgetFrame.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenOrigins: string[] }).seenOrigins = seen;
      window.addEventListener("message", (e) => seen.push(e.origin));
    });
    const token = await partner.token();
    const attackerUrl = `${other.origin}/attacker#${encodeURIComponent(token)}`;
    const titled = async (p: Page | import("playwright-core").Frame) => {
      for (let i = 0; i < 50; i++) {
        if ((await p.title()).startsWith("posted")) return p.title();
        await page.waitForTimeout(100);
      }
      throw new Error("the attacker page did not run");
    };

    // A frame of another origin inside the partner's page tells the loader the token ran out.
    await page.evaluate((url) => {
      const f = document.createElement("iframe");
      f.src = url;
      document.body.append(f);
    }, attackerUrl);
    await page.waitForTimeout(500);
    const inPage = page.frames().find((x) => x.url().startsWith(`${other.origin}/attacker`))!;
    expect(await titled(inPage)).toBe("posted to 0 and parent");

    // A window of another origin that the widget opened posts a valid token straight to the widget.
    const [popup] = await Promise.all([
      page.context().waitForEvent("page"),
      widgetFrame.evaluate((url) => void window.open(url), attackerUrl),
    ]);
    expect(await titled(popup)).toBe("posted to 1");
    await page.waitForTimeout(1500);
    const seen = await widgetFrame.evaluate(() => (window as unknown as { seenOrigins: string[] }).seenOrigins);
    expect(seen).toContain(other.origin);
    // Delivered, and ignored: no new exchange in the widget, no token asked of the partner's page.
    expect(exchanges).toHaveLength(1);
    expect(partner.tokensIssued()).toBe(tokensBefore);
    await visible(widget(page).getByRole("button", { name: /Pricing question/ }));
  });
});
