/**
 * A hosted shared address in a real browser against `wrangler dev` with HOSTED_DOMAIN set: the owner
 * requests one in Settings › Inbox connections (a reserved name is refused with its reason, a free
 * one becomes an empty, healthy inbox at once), a customer's mail is delivered through wrangler's
 * local email endpoint with `npm run mail:send` and appears in the open inbox without a reload, and
 * the reply written in the composer goes out through the EMAIL binding from the hosted address,
 * threaded on the customer's Message-ID (as the development outbox shows).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionView } from "../../worker/contracts";
import { expectAccessible } from "./support/accessibility";
import { launchBrowser, screenshot } from "./support/browser";
import { startDevServer, type DevServer } from "./support/dev-server";
import { apiFetch, eventually, heading, journey, signUpOwner, visible, type Journey } from "./support/journey";

const DOMAIN = "hosted.postroom.test";
const BRAND = `brand@${DOMAIN}`;
const CUSTOMER = "ana@customer.test";
const ORIGINAL_ID = "order-1042.7f3a@customer.test";
const SUBJECT = "Where is order 1042?";

const root = path.resolve(import.meta.dirname, "..", "..");
const run = promisify(execFile);

let server: DevServer;
let browser: Browser;
let j: Journey;
let mailDir: string;

beforeAll(async () => {
  [server, browser] = await Promise.all([startDevServer({ vars: { HOSTED_DOMAIN: DOMAIN } }), launchBrowser()]);
  j = journey(server, browser);
  mailDir = mkdtempSync(path.join(tmpdir(), "postroom-hosted-mail-"));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (mailDir) rmSync(mailDir, { recursive: true, force: true });
});

/**
 * Delivers `eml` to `to` with `npm run mail:send` (scripts/send-mail.mjs) against this server, as a
 * developer would. Returns the script's exit code and what it printed.
 */
async function mailSend(to: string, eml: string): Promise<{ code: number; out: string }> {
  const file = path.join(mailDir, `${Date.now()}.eml`);
  writeFileSync(file, eml);
  const script = path.join(root, "scripts", "send-mail.mjs");
  const args = [script, "--url", server.origin, "--from", CUSTOMER, "--to", to, "--eml", file];
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: root, timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

const customerMail = (to: string) =>
  [
    `From: Ana Customer <${CUSTOMER}>`,
    `To: ${to}`,
    `Subject: ${SUBJECT}`,
    `Date: ${new Date().toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <${ORIGINAL_ID}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hello, my order 1042 has not arrived yet. Could you check?",
    "",
  ].join("\r\n");

async function connections(page: Page): Promise<ConnectionView[]> {
  const res = await apiFetch(server, page, "/api/connections");
  expect(res.status).toBe(200);
  return ((await res.json()) as { connections: ConnectionView[] }).connections;
}

describe("a hosted shared address in a real browser", () => {
  it("is requested in Settings, receives mail live, and answers it from the hosted address", async () => {
    const owner = await signUpOwner(j, "ada@example.com", "Brand Co");
    await owner.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Inbox connections" }).click();
    await owner.waitForURL(`${server.origin}/settings/connections`);
    await visible(heading(owner, "Inbox connections"));

    const request = owner.getByRole("region", { name: "Request a shared address" });
    await visible(request.getByText(`No mailbox to connect? Get one on ${DOMAIN}.`));
    const field = request.getByRole("textbox", { name: "Address" });
    // The domain is fixed and shown beside the field, which names it to screen readers too.
    await visible(request.getByText(`@${DOMAIN}`, { exact: true }));
    expect(await field.getAttribute("aria-describedby")).toContain("hosted-domain");

    // A reserved name is refused with the reason, under the field, and nothing is created.
    await field.fill("postmaster");
    await request.getByRole("button", { name: "Create address" }).click();
    const refusal = "postmaster is reserved: mail servers send delivery problems there (RFC 5321).";
    await visible(request.getByText(refusal, { exact: true }));
    expect(await field.getAttribute("aria-invalid")).toBe("true");
    expect(await owner.evaluate(() => document.activeElement?.id)).toBe("hosted-local-part");
    expect(await field.inputValue()).toBe("postmaster");
    await visible(owner.getByRole("heading", { name: "No mailboxes connected yet" }));
    expect(await connections(owner)).toEqual([]);
    await screenshot(owner, "hosted-request-reserved");
    await expectAccessible(owner, "request a shared address, name refused");

    // A free name becomes an inbox at once: listed with its full address, healthy, and empty.
    await field.fill("brand");
    await request.getByRole("button", { name: "Create address" }).click();
    await visible(request.getByText(`${BRAND} is ready`));
    expect(await field.inputValue()).toBe("");
    expect(await field.getAttribute("aria-invalid")).not.toBe("true");
    const row = owner
      .getByRole("region", { name: /Connected inboxes/ })
      .getByRole("listitem")
      .filter({ hasText: BRAND });
    await visible(row);
    expect(await row.locator(".health").textContent()).toBe("Health: Good");
    expect(await row.textContent()).toMatch(/Hosted by Postroom · Shared · created just now/);
    await visible(
      row.getByText("Receives the mail sent to this address; there is no history from before it was created."),
    );
    const created = await connections(owner);
    expect(created.map((c) => [c.address, c.provider, c.kind, c.health])).toEqual([
      [BRAND, "hosted", "shared", "good"],
    ]);
    await screenshot(owner, "hosted-created");
    await expectAccessible(owner, "a new shared address in the connections list");

    // Its inbox is empty and says why: there is no history before the address existed.
    await request.getByRole("link", { name: "its inbox" }).click();
    await owner.waitForURL(`${server.origin}/inbox/${encodeURIComponent(created[0]!.id)}`);
    await visible(owner.getByRole("heading", { name: BRAND, level: 2 }));
    await visible(
      owner.getByText(
        `No open conversations. ${BRAND} has no history from before it was created: mail sent to it appears here as it arrives.`,
      ),
    );
    // In the rail, the long address wraps beside its health dot, after the @.
    const railLink = owner
      .getByRole("navigation", { name: "Inboxes" })
      .getByRole("link", { name: new RegExp(BRAND.replace(/\./g, "\\.")) });
    await visible(railLink.getByRole("img", { name: "Good" }));
    const dot = (await railLink.locator(".health-dot").boundingBox())!;
    const address = railLink.locator(".inbox-link-address");
    const box = (await address.boundingBox())!;
    expect(dot.y).toBeGreaterThanOrEqual(box.y);
    expect(dot.y + dot.height).toBeLessThanOrEqual(box.y + box.height);
    expect(dot.x + dot.width).toBeLessThanOrEqual(box.x);
    // Each half of the address on one line of its own: "brand@", then the domain below it.
    const lineTops = await address.evaluate((el) =>
      [...el.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => {
          const range = document.createRange();
          range.selectNodeContents(n);
          return [...new Set([...range.getClientRects()].map((r) => Math.round(r.top)))];
        }),
    );
    expect(lineTops).toHaveLength(2);
    expect(lineTops.map((tops) => tops.length)).toEqual([1, 1]);
    expect(lineTops[1]![0]!).toBeGreaterThan(lineTops[0]![0]!);
    await screenshot(owner, "hosted-inbox-empty");
    await expectAccessible(owner, "an empty hosted inbox");

    // Mail for an address nobody has is refused with the reason, and nothing appears.
    const unknown = await mailSend(`nobody@${DOMAIN}`, customerMail(`nobody@${DOMAIN}`));
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain("Unknown recipient: no inbox has this address");

    // The customer writes while the inbox is open: the conversation appears without a reload.
    await owner.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    const delivered = await mailSend(BRAND, customerMail(BRAND));
    expect(delivered).toEqual({ code: 0, out: expect.stringContaining(`✓ Worker successfully processed email`) });
    const list = owner.getByRole("list", { name: `Conversations in ${BRAND}` });
    const conversation = list.getByRole("link").filter({ hasText: SUBJECT });
    await visible(conversation, 60_000);
    expect(await conversation.textContent()).toContain("Ana Customer");
    expect(await conversation.textContent()).toContain("Unread");
    expect(await owner.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await screenshot(owner, "hosted-inbox-live");

    // The reply is written in the composer and sent from the hosted address.
    await conversation.click();
    await visible(heading(owner, SUBJECT));
    const messages = owner.getByRole("list", { name: "Messages and notes" }).getByRole("listitem");
    expect(await messages.count()).toBe(1);
    expect(await messages.nth(0).locator(".message-text").innerText()).toContain("my order 1042 has not arrived");
    expect(await owner.getByLabel("To", { exact: true }).inputValue()).toBe(CUSTOMER);
    await owner.getByRole("textbox", { name: "Message" }).fill("Hi Ana,\nIt left our warehouse this morning.\nAda");
    await owner.getByRole("button", { name: "Send reply" }).click();
    await visible(owner.getByText(`Reply sent from ${BRAND}.`), 30_000);
    await visible(messages.nth(1), 30_000);
    expect(await messages.nth(1).locator(".message-text").innerText()).toBe(
      "Hi Ana,\nIt left our warehouse this morning.\nAda",
    );
    await screenshot(owner, "hosted-thread-reply");
    await expectAccessible(owner, "a hosted conversation with the reply");

    // One message went out through the binding: from the hosted address to Ana, threaded on hers.
    const sent = await eventually("the reply in the development outbox", async () => {
      const fromBrand = (await server.outbox()).filter((m) => m.from === BRAND);
      return fromBrand.length > 0 ? fromBrand : null;
    });
    expect(sent).toHaveLength(1);
    const reply = sent[0]!;
    expect(reply).toMatchObject({ from: BRAND, to: CUSTOMER, subject: `Re: ${SUBJECT}`, delivered: true });
    expect(reply.text).toContain("It left our warehouse this morning.");
    expect(reply.headers?.["In-Reply-To"]).toBe(`<${ORIGINAL_ID}>`);
    expect(reply.headers?.["References"]?.split(/\s+/)).toContain(`<${ORIGINAL_ID}>`);

    // Sending worked, so the inbox stays Good.
    expect((await connections(owner)).map((c) => c.health)).toEqual(["good"]);
    expect(j.problems).toEqual([]);
  }, 300_000);
});
