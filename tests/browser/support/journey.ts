/**
 * What the end-to-end browser journeys share: pages that record their errors, signing in through the
 * emailed link, connecting a Gmail mailbox through the emulator's consent page as its owner would,
 * the app's API from Node with a page's session, and reading the emulator's mailbox over the Gmail
 * API (as any other mail client would) to see what Postroom sent.
 */
import PostalMime from "postal-mime";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import type { RunningEmulator } from "../../../emulator/index";
import { DESKTOP } from "./browser";
import type { DevServer } from "./dev-server";

export interface Journey {
  server: DevServer;
  browser: Browser;
  /** Uncaught errors and console errors of every page, by page label. */
  problems: string[];
  openPage(label: string, viewport?: { width: number; height: number }): Promise<Page>;
}

export function journey(server: DevServer, browser: Browser): Journey {
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];
  return {
    server,
    browser,
    problems,
    async openPage(label, viewport = DESKTOP) {
      const context = await browser.newContext({ viewport });
      context.setDefaultTimeout(15_000);
      // The first page load of a fresh wrangler dev compiles the Worker and can take a while.
      context.setDefaultNavigationTimeout(30_000);
      contexts.push(context);
      const page = await context.newPage();
      page.on("pageerror", (err) => problems.push(`${label}: ${err.message}`));
      page.on("console", (msg) => {
        // Chromium logs every non-2xx fetch; the API's 4xx answers (the 409 review) are part of these flows.
        if (
          msg.type() === "error" &&
          !msg.text().startsWith("Failed to load resource: the server responded with a status of 4")
        ) {
          problems.push(`${label}: ${msg.text()}`);
        }
      });
      return page;
    },
  };
}

export async function visible(locator: Locator, timeout?: number): Promise<Locator> {
  await locator.waitFor({ state: "visible", ...(timeout ? { timeout } : {}) });
  return locator;
}

export const heading = (page: Page, name: string | RegExp) => page.getByRole("heading", { level: 1, name });

/** Creates a workspace through the API and signs its owner in through the emailed link, in a new page. */
export async function signUpOwner(j: Journey, email: string, accountName: string): Promise<Page> {
  const { origin } = j.server;
  const res = await fetch(`${origin}/api/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ email, accountName }),
  });
  if (res.status !== 202) throw new Error(`sign-up answered ${res.status}`);
  const page = await j.openPage(email);
  await page.goto(await j.server.latestLink(email, "/auth/verify"));
  await page.getByRole("button", { name: "Sign in to Postroom" }).click();
  await page.waitForURL(`${origin}/`);
  await visible(heading(page, "Inbox"));
  return page;
}

/** Invites a teammate with the API and has them join through their emailed link, in a new page. */
export async function addTeammate(j: Journey, owner: Page, email: string, role: "admin" | "member"): Promise<Page> {
  const res = await apiFetch(j.server, owner, "/api/invites", { method: "POST", body: { email, role } });
  if (res.status !== 201) throw new Error(`inviting ${email} answered ${res.status}`);
  const page = await j.openPage(email);
  await page.goto(await j.server.latestLink(email, "/auth/invite"));
  await page.getByRole("button", { name: "Join the team" }).click();
  await page.waitForURL(`${j.server.origin}/`);
  return page;
}

/** The app's API from Node, with `page`'s session and the app's Origin (as the page itself would send). */
export async function apiFetch(
  server: DevServer,
  page: Page,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<Response> {
  const cookie = (await page.context().cookies())
    .filter((c) => c.domain === "127.0.0.1")
    .map((c) => `${c.name}=${c.value}`)
    .join("; ");
  return fetch(`${server.origin}${path}`, {
    method: init.method ?? "GET",
    headers: {
      cookie,
      origin: server.origin,
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
}

/** Answers the emulator's Google consent page: picks the account and continues. */
export async function consentWithGoogle(page: Page, emulator: RunningEmulator, account: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(emulator.url));
  await visible(page.getByRole("heading", { name: "Choose an account" }));
  await page.getByRole("radio", { name: new RegExp(account.replace(/[.]/g, "\\.")) }).check();
  await page.getByRole("button", { name: "Continue" }).click();
}

/**
 * Invites `address` as a shared mailbox from Settings › Inbox connections, then connects it as its
 * owner: opens the emailed link in a new page, acknowledges who will see it, and consents at Google.
 * Returns the owner's page, on the result page.
 */
export async function inviteAndConnectShared(j: Journey, admin: Page, address: string): Promise<Page> {
  const emulator = j.server.emulator;
  if (!emulator) throw new Error("the server was started without the emulator");
  await admin.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Inbox connections" }).click();
  await visible(heading(admin, "Inbox connections"));
  await admin.getByLabel("Mailbox address").fill(address);
  await admin.getByRole("radio", { name: /Shared/ }).check();
  await admin.getByRole("button", { name: "Send invitation", exact: true }).click();
  await visible(admin.getByText(`Invitation to connect sent to ${address}.`));

  const owner = await j.openPage(`owner of ${address}`);
  await owner.goto(await j.server.latestLink(address, "/connect"));
  await visible(heading(owner, "Connect a mailbox to Postroom"));
  await owner.getByRole("checkbox").check();
  await owner.getByRole("button", { name: "Connect with Google" }).click();
  await consentWithGoogle(owner, emulator, address);
  await owner.waitForURL((url) => url.pathname === "/connect/result");
  return owner;
}

export interface GmailCopy {
  id: string;
  threadId: string;
  labelIds: string[];
  subject: string;
  from: string;
  to: string[];
  text: string;
  inReplyTo: string;
}

/**
 * The messages of an emulator Gmail mailbox that carry `labelId`, read over the Gmail API with a
 * read-only token of its own (an auto-consented authorization code), so nothing of Postroom's is used.
 */
export async function gmailMessages(emulator: RunningEmulator, account: string, labelId: string): Promise<GmailCopy[]> {
  const clientId = "postroom-local.apps.googleusercontent.com";
  const redirectUri = "http://127.0.0.1/mailbox-reader";
  const scope = "https://www.googleapis.com/auth/gmail.readonly";
  emulator.admin.setAutoConsent("google", { account, scopes: [scope] });
  let code: string | null;
  try {
    const q = new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, response_type: "code", scope });
    const res = await fetch(`${emulator.urls.googleAuthorize}?${q}`, { redirect: "manual" });
    code = new URL(res.headers.get("location") ?? "http://x/").searchParams.get("code");
  } finally {
    emulator.admin.setAutoConsent("google", null);
  }
  if (!code) throw new Error(`the emulator gave no authorization code for ${account}`);
  const token = await fetch(emulator.urls.googleToken, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      client_secret: "GOCSPX-postroom-local-secret",
    }),
  });
  const { access_token } = (await token.json()) as { access_token: string };
  const gmail = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${emulator.urls.gmailBase}/gmail/v1/users/me/${path}`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    if (res.status !== 200) throw new Error(`Gmail ${path} answered ${res.status}`);
    return (await res.json()) as T;
  };
  const list = await gmail<{ messages?: { id: string }[] }>(`messages?labelIds=${encodeURIComponent(labelId)}`);
  const out: GmailCopy[] = [];
  for (const { id } of list.messages ?? []) {
    const m = await gmail<{ id: string; threadId: string; labelIds?: string[]; raw: string }>(
      `messages/${id}?format=raw`,
    );
    const parsed = await PostalMime.parse(Buffer.from(m.raw, "base64url"));
    out.push({
      id: m.id,
      threadId: m.threadId,
      labelIds: m.labelIds ?? [],
      subject: parsed.subject ?? "",
      from: parsed.from?.address ?? "",
      to: (parsed.to ?? []).flatMap((a) => (a.address ? [a.address] : [])),
      text: parsed.text ?? "",
      inReplyTo: parsed.inReplyTo ?? "",
    });
  }
  return out;
}

/** Polls `check` (once a second) until it returns something truthy, or fails saying what did not happen. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 90_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
