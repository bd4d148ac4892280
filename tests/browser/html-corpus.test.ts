/**
 * Hostile HTML mail in the thread view: every payload of DOMPurify's test vectors
 * (../shared/corpora/dompurify) is delivered as the HTML body of a message into a sandbox Gmail
 * mailbox, imported by a real sync, and shown formatted in real Chromium. No script may run
 * anywhere (alert, confirm, prompt and print are spied on in every frame that runs scripts, dialogs
 * and console output are watched on the page and its frames), nothing may load from another host,
 * nothing of a payload may reach the app's own document, and no frame may be navigated away.
 *
 * Each payload is its own message, so each is parsed and rendered in its own frame document and
 * cannot be swallowed by another's unclosed markup; the messages are grouped into a few
 * conversations so that one page shows many frames.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ThreadSummaryView } from "../../worker/contracts";
import { launchBrowser, screenshot } from "./support/browser";
import { startDevServer, type DevServer } from "./support/dev-server";
import {
  apiFetch,
  eventually,
  heading,
  inviteAndConnectShared,
  journey,
  signUpOwner,
  type Journey,
} from "./support/journey";

const corpusFile = path.resolve(import.meta.dirname, "..", "..", "..", "shared", "corpora", "dompurify", "expect.json");
const present = existsSync(corpusFile);
const payloads: string[] = present
  ? (JSON.parse(readFileSync(corpusFile, "utf8")) as { payload: string }[]).map((r) => r.payload)
  : [];
const PER_CONVERSATION = 40;
const conversations = Math.ceil(payloads.length / PER_CONVERSATION);
const subjectOf = (batch: number) => `Corpus ${batch + 1} of ${conversations}`;
const senderOf = (i: number) => `Vector ${i}`;

/** What the browser itself prints when it refuses something (a blocked script, a CSP refusal): proof the defences held. */
const REFUSALS = [
  /^Blocked script execution in /,
  /^Refused to /,
  /violates the following Content Security Policy/,
  /^Failed to load resource/,
  /^Blocked form submission/,
  /^Unsafe attempt to initiate navigation/,
  // Each sandboxed frame is an opaque origin in the app's agent cluster; Chromium notes that it cannot
  // honour the response's Origin-Agent-Cluster header there. A note about process grouping, not a script.
  /requested an origin-keyed agent cluster/,
];

let server: DevServer;
let browser: Browser;
let j: Journey;

beforeAll(async () => {
  if (!present) return;
  [server, browser] = await Promise.all([startDevServer({ emulator: true, emulatorWorld: "empty" }), launchBrowser()]);
  j = journey(server, browser);
  // Everything is in the mailbox before it is connected, so one import brings it all in.
  const start = Date.now() - payloads.length * 1000;
  for (let batch = 0; batch < conversations; batch++) {
    let thread: string | undefined;
    for (let i = batch * PER_CONVERSATION; i < Math.min(payloads.length, (batch + 1) * PER_CONVERSATION); i++) {
      const delivered = server.emulator!.deliver({
        to: "sales@demo.test",
        from: `${senderOf(i)} <vector-${i}@example.com>`,
        subject: subjectOf(batch),
        html: payloads[i]!,
        receivedAt: start + i * 1000,
        ...(thread ? { replyToThread: thread } : {}),
      });
      thread ??= delivered.deliveries[0]!.threadId;
    }
  }
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Records every script-driven effect and every request for another host, in every frame of `context`. */
async function spyOn(context: BrowserContext, page: Page) {
  const fired: string[] = [];
  const dialogs: string[] = [];
  const consoleLines: string[] = [];
  const remote: string[] = [];
  await context.exposeBinding("__corpusSpy", (source, kind: string, detail: string) => {
    fired.push(`${kind}(${detail}) in ${source.frame.url()}`);
  });
  await context.addInitScript(() => {
    // Runs in every frame that may run scripts at all; sandboxed message frames never do.
    const spy = (window as unknown as { __corpusSpy: (kind: string, detail: string) => void }).__corpusSpy;
    for (const name of ["alert", "confirm", "prompt", "print"] as const) {
      Object.defineProperty(window, name, {
        value: (...args: unknown[]) => void spy(name, String(args[0] ?? "")),
        configurable: false,
        writable: false,
      });
    }
  });
  page.on("dialog", (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on("console", (msg) => {
    if (!REFUSALS.some((r) => r.test(msg.text()))) consoleLines.push(`${msg.type()}: ${msg.text()}`);
  });
  const foreign = (url: string) => {
    const u = new URL(url);
    return (
      /^(https?|wss?|ftp):$/.test(u.protocol) && u.origin !== server.origin.replace(/^http/, u.protocol.slice(0, -1))
    );
  };
  context.on("request", (req) => {
    if (foreign(req.url())) remote.push(`${req.resourceType()} ${req.url()}`);
  });
  page.on("websocket", (ws) => {
    if (foreign(ws.url())) remote.push(`websocket ${ws.url()}`);
  });
  // Nothing leaves the machine even if it were asked for.
  await context.route(
    (url) => foreign(url.href),
    (route) => route.abort("blockedbyclient"),
  );
  return { fired, dialogs, consoleLines, remote };
}

describe("hostile HTML mail in the thread view", () => {
  it.skipIf(!present)(
    present
      ? `renders all ${payloads.length} DOMPurify payloads without running a script or reaching another host`
      : "renders the DOMPurify payloads safely (skipped: ../shared/corpora/dompurify is absent)",
    async () => {
      const admin = await signUpOwner(j, "ada@example.com", "Corpus Check");
      const spies = await spyOn(admin.context(), admin);
      // The spies are installed at document start, so the page starts again.
      await admin.reload();
      await heading(admin, "Inbox").waitFor();
      const owner = await inviteAndConnectShared(j, admin, "sales@demo.test");
      await heading(owner, "Mailbox connected").waitFor();
      await owner.close();

      // The spies work: a script in the app's own document is caught, and so is a request for another host.
      await admin.evaluate(() => window.alert("control"));
      expect(spies.fired).toEqual([`alert(control) in ${admin.url()}`]);
      spies.fired.length = 0;
      const probe = await admin.context().newPage();
      await probe.setContent(`<img src="http://remote.example/control.png" alt="">`);
      await eventually("the control request being seen", async () => spies.remote.length > 0, 10_000);
      expect(spies.remote).toEqual(["image http://remote.example/control.png"]);
      spies.remote.length = 0;
      await probe.close();

      const importStarted = Date.now();
      // Wait for the import of every message.
      const threads = await eventually(
        "the import of every payload",
        async () => {
          const res = await apiFetch(server, admin, "/api/threads?view=all&limit=50");
          const { threads } = (await res.json()) as { threads: ThreadSummaryView[] };
          const corpus = threads.filter((t) => t.subject.startsWith("Corpus "));
          const imported = corpus.reduce((n, t) => n + t.messageCount, 0);
          return imported === payloads.length && corpus.length === conversations ? corpus : null;
        },
        240_000,
      );

      const importSeconds = (Date.now() - importStarted) / 1000;
      const renderStarted = Date.now();
      const bodies = new Map<string, number>();
      admin.on("response", (res) => {
        if (/\/api\/threads\/[^/]+\/messages\/[^/]+\/body$/.test(new URL(res.url()).pathname))
          bodies.set(res.url(), res.status());
      });
      let shownFormatted = 0;
      const leakedAll: string[] = [];
      for (let batch = 0; batch < conversations; batch++) {
        const thread = threads.find((t) => t.subject === subjectOf(batch))!;
        const url = `${server.origin}/threads/${thread.id}`;
        // The app's own document is enough to go on: the checks below wait for what they need, and on a
        // loaded machine the previous page's forty frames can hold the old document's unload for a while.
        await admin.goto(url, { waitUntil: "domcontentloaded", timeout: 90_000 });
        await heading(admin, subjectOf(batch)).waitFor({ timeout: 60_000 });
        const items = admin.getByRole("list", { name: "Messages and notes" }).getByRole("listitem");
        const expected = Math.min(PER_CONVERSATION, payloads.length - batch * PER_CONVERSATION);
        await eventually("every message of the conversation", async () => (await items.count()) === expected, 30_000);
        // Every "Show formatted" at once (a click each, as a person would, without waiting on each).
        const withHtml = await admin.evaluate(() => {
          const buttons = [...document.querySelectorAll("button")].filter((b) => b.textContent === "Show formatted");
          for (const b of buttons) b.click();
          return buttons.length;
        });
        const frames = admin.locator("iframe.message-frame");
        expect(await frames.count()).toBe(withHtml);
        for (let n = 0; n < withHtml; n++) {
          const frame = frames.nth(n);
          await frame.scrollIntoViewIfNeeded();
          const content = await (await frame.elementHandle())!.contentFrame();
          await content!.waitForLoadState("load");
        }
        shownFormatted += withHtml;
        // Give anything delayed (timers, animations, refreshes) the chance to act.
        await admin.waitForTimeout(1_000);
        expect(admin.url()).toBe(url);
        for (const f of admin.frames().slice(1)) {
          expect(f.url()).toMatch(new RegExp(`^${server.origin}/api/threads/[^/]+/messages/[^/]+/body$`));
        }
        // Nothing of a payload reached the app's document: no handler attributes, no foreign elements.
        const leaked = await admin.evaluate(() => {
          const found: string[] = [];
          for (const el of document.querySelectorAll("*")) {
            for (const a of el.attributes) if (/^on/i.test(a.name)) found.push(`${el.tagName} ${a.name}`);
            if (/^(SCRIPT|OBJECT|EMBED|BASE|META|STYLE|LINK)$/i.test(el.tagName) && el.closest("main")) {
              found.push(el.tagName);
            }
          }
          for (const f of document.querySelectorAll("iframe")) {
            if (
              !f.classList.contains("message-frame") ||
              f.getAttribute("sandbox") !== "allow-popups allow-popups-to-escape-sandbox"
            )
              found.push(`iframe sandbox=${f.getAttribute("sandbox")}`);
          }
          return found;
        });
        leakedAll.push(...leaked.map((l) => `${subjectOf(batch)}: ${l}`));
        if (batch === 0) {
          // Forty frames make a very tall page: the first screen of it is what shows the rendering.
          await admin.evaluate(() => window.scrollTo(0, 0));
          await screenshot(admin, "html-corpus-thread", { fullPage: false });
        }
      }

      console.log(
        `html corpus: ${payloads.length} payloads in ${conversations} conversations; import ${importSeconds.toFixed(1)} s, ` +
          `${shownFormatted} formatted bodies rendered in ${((Date.now() - renderStarted) / 1000).toFixed(1)} s`,
      );
      // Read by scripts/security.mjs (npm run test:security): a payload counts as refused unless something ran or leaked.
      const broke = spies.fired.length + spies.dialogs.length + spies.remote.length + spies.consoleLines.length;
      const failures = Math.min(payloads.length, broke + leakedAll.length);
      console.log(
        `SECURITY ${JSON.stringify({ category: "html-xss-corpus", tried: payloads.length, refused: payloads.length - failures, accepted: 0, failures })}`,
      );
      expect(leakedAll).toEqual([]);
      // Nearly every payload has markup, so nearly every message has an HTML body to show.
      expect(shownFormatted).toBeGreaterThanOrEqual(payloads.length - 5);
      expect(bodies.size).toBe(shownFormatted);
      expect([...bodies.values()].every((s) => s === 200)).toBe(true);
      expect(spies.fired).toEqual([]);
      expect(spies.dialogs).toEqual([]);
      expect(spies.remote).toEqual([]);
      expect(spies.consoleLines).toEqual([]);
      expect(j.problems).toEqual([]);
    },
    600_000,
  );
});
