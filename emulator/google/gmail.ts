import { type HttpBindings } from "@hono/node-server";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { type AccessTokenState } from "../auth/store";
import { GMAIL_COSTS } from "../config";
import { type EmulatorContext } from "../context";
import { fromBase64Any, isBase64Any } from "../core/encoding";
import { withHeaders } from "../mime/compose";
import { formatMailbox } from "../mime/headers";
import { parseMessage } from "../mime/parse";
import {
  type GmailMailbox,
  type GmailMessageState,
  type HistoryEntry,
  GMAIL_SYSTEM_LABELS,
} from "../world/gmail-mailbox";
import { newMessageId } from "../world/post-office";
import { gmailErrors, googleError } from "./errors";
import { compileQuery } from "./gmail-query";
import { type GmailFormat, findPart, parseAttachmentId, renderMessage, snippetOf } from "./gmail-render";
import { GMAIL, GMAIL_FULL } from "./scopes";

type GmailVars = { token: AccessTokenState; mailbox: GmailMailbox; readScope: boolean };
export type GmailEnv = { Bindings: HttpBindings; Variables: GmailVars };

const READ = [GMAIL_FULL, GMAIL.metadata, GMAIL.modify, GMAIL.readonly];
const METHOD_SCOPES: Record<string, string[]> = {
  "gmail.users.getProfile": [GMAIL_FULL, GMAIL.compose, GMAIL.metadata, GMAIL.modify, GMAIL.readonly],
  "gmail.users.labels.list": [GMAIL_FULL, GMAIL.labels, GMAIL.metadata, GMAIL.modify, GMAIL.readonly],
  "gmail.users.messages.list": READ,
  "gmail.users.messages.get": READ,
  "gmail.users.threads.list": READ,
  "gmail.users.threads.get": READ,
  "gmail.users.history.list": READ,
  "gmail.users.watch": READ,
  "gmail.users.stop": READ,
  "gmail.users.messages.modify": [GMAIL_FULL, GMAIL.modify],
  "gmail.users.messages.trash": [GMAIL_FULL, GMAIL.modify],
  "gmail.users.messages.untrash": [GMAIL_FULL, GMAIL.modify],
  "gmail.users.messages.delete": [GMAIL_FULL],
  "gmail.users.messages.send": [GMAIL_FULL, GMAIL.compose, GMAIL.modify, GMAIL.send],
  "gmail.users.messages.attachments.get": [GMAIL_FULL, GMAIL.modify, GMAIL.readonly],
};
const PUSH_TOPIC = /^projects\/[^/]+\/topics\/[^/]+$/;

function pageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString("base64url");
}

function readPageToken(token: string | undefined): number | undefined | null {
  if (!token) return undefined;
  const m = /^o:(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  return m ? Number(m[1]) : null;
}

function maxResults(c: Context): number | null {
  const raw = c.req.query("maxResults");
  if (raw === undefined) return 100;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) return null;
  return Math.min(n === 0 ? 100 : n, 500);
}

/**
 * Gmail API v1 subset, mounted at the emulator root so `${url}/gmail/v1/users/...` mirrors
 * `https://gmail.googleapis.com/gmail/v1/users/...`.
 */
export function gmailRoutes(ctx: EmulatorContext): Hono<GmailEnv> {
  const app = new Hono<GmailEnv>();
  const { clock, quotas } = ctx;

  const guard =
    (methodId: string): MiddlewareHandler<GmailEnv> =>
    async (c, next) => {
      const header = c.req.header("authorization") ?? "";
      const token = header.toLowerCase().startsWith("bearer ")
        ? ctx.auth.accessTokens.get(header.slice(7).trim())
        : undefined;
      if (!token || token.provider !== "google" || token.expiresAt <= clock.now())
        return gmailErrors.unauthenticated(c);
      const userId = c.req.param("userId") ?? "me";
      if (userId !== "me" && userId.toLowerCase() !== token.account) return gmailErrors.delegationDenied(c, userId);
      const mailbox = ctx.mailboxes.gmail(token.account);
      if (!mailbox) return googleError(c, 400, "Mail service not enabled", "failedPrecondition", "FAILED_PRECONDITION");
      const allowed = METHOD_SCOPES[methodId] ?? [];
      if (!token.scopes.some((s) => allowed.includes(s))) return gmailErrors.insufficientScope(c);

      const t = ctx.tunables.gmail;
      const model = GMAIL_COSTS[t.quotaModel];
      const cost = t.methodCosts[methodId] ?? model.costs[methodId] ?? 5;
      const budget = t.userUnitsPerMinute ?? model.perUserPerMinute;
      const key = `${token.clientId}|${token.account}`;
      const taken = quotas.gmail.take(key, cost, budget, 60_000);
      if (!taken.ok) {
        const retryAfter = String(Math.max(1, Math.ceil(taken.retryAfterMs / 1000)));
        if (t.rateLimitStatus === 403) {
          return googleError(c, 403, "User Rate Limit Exceeded", "userRateLimitExceeded", "PERMISSION_DENIED", {
            domain: "usageLimits",
            headers: { "Retry-After": retryAfter },
          });
        }
        return googleError(
          c,
          429,
          `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer '${token.clientId}'.`,
          "rateLimitExceeded",
          "RESOURCE_EXHAUSTED",
          { domain: "usageLimits", headers: { "Retry-After": retryAfter } },
        );
      }
      if (!quotas.gmailGate.tryEnter(key, t.concurrencyPerUser)) {
        return googleError(c, 429, "Too many concurrent requests for user", "rateLimitExceeded", "RESOURCE_EXHAUSTED", {
          domain: "usageLimits",
          headers: { "Retry-After": "1" },
        });
      }
      c.set("token", token);
      c.set("mailbox", mailbox);
      c.set(
        "readScope",
        token.scopes.some((s) => s === GMAIL_FULL || s === GMAIL.modify || s === GMAIL.readonly),
      );
      try {
        const latency = ctx.faults.takeLatency("gmail", c.req.path);
        if (latency) await new Promise((r) => setTimeout(r, latency));
        await next();
      } finally {
        quotas.gmailGate.leave(key);
      }
    };

  const visible = (m: GmailMessageState, includeSpamTrash: boolean) =>
    includeSpamTrash || !m.labelIds.some((l) => l === "SPAM" || l === "TRASH");

  const newestFirst = (a: GmailMessageState, b: GmailMessageState) =>
    b.internalDate - a.internalDate || (a.id < b.id ? 1 : -1);

  /** Messages matching list/threads.list parameters, newest first. */
  const select = (c: Context<GmailEnv>): GmailMessageState[] | Response => {
    const mailbox = c.get("mailbox");
    const q = c.req.query("q");
    if (q && !c.get("readScope")) return gmailErrors.forbidden(c, "Metadata scope does not support 'q' parameter");
    const labelIds = c.req.queries("labelIds") ?? [];
    const compiled = compileQuery(q ?? "", clock.now());
    const includeSpamTrash = c.req.query("includeSpamTrash") === "true" || compiled.mentionsSpamOrTrash;
    return mailbox
      .all()
      .filter((m) => visible(m, includeSpamTrash) && labelIds.every((l) => m.labelIds.includes(l)))
      .filter((m) => compiled.predicate(m, mailbox))
      .sort(newestFirst);
  };

  const page = <T>(c: Context, items: T[]): { slice: T[]; next?: string } | Response => {
    const size = maxResults(c);
    if (size === null) return gmailErrors.invalidArgument(c, "Invalid maxResults");
    const offset = readPageToken(c.req.query("pageToken"));
    if (offset === null) return gmailErrors.invalidArgument(c, "Invalid pageToken");
    const start = offset ?? 0;
    const slice = items.slice(start, start + size);
    return start + size < items.length ? { slice, next: pageToken(start + size) } : { slice };
  };

  const formatOf = (c: Context<GmailEnv>, allowed: GmailFormat[]): GmailFormat | Response => {
    const format = (c.req.query("format") ?? "full").toLowerCase() as GmailFormat;
    if (!allowed.includes(format))
      return gmailErrors.invalidArgument(c, `Invalid value at 'format' (${c.req.query("format")})`);
    if ((format === "full" || format === "raw") && !c.get("readScope")) {
      return gmailErrors.forbidden(c, `Metadata scope doesn't allow format ${format.toUpperCase()}`);
    }
    return format;
  };

  const render = (c: Context<GmailEnv>, m: GmailMessageState, format: GmailFormat) =>
    renderMessage(c.get("mailbox"), m, format, {
      metadataHeaders: c.req.queries("metadataHeaders"),
      minimalIncludesExtras: ctx.tunables.gmail.minimalIncludesExtras,
    });

  const users = new Hono<GmailEnv>();

  users.get("/profile", guard("gmail.users.getProfile"), (c) => {
    const mailbox = c.get("mailbox");
    return c.json({
      emailAddress: mailbox.address,
      messagesTotal: mailbox.all().length,
      threadsTotal: mailbox.threadIds().length,
      historyId: String(mailbox.state.historyId),
    });
  });

  users.get("/labels", guard("gmail.users.labels.list"), (c) => {
    const mailbox = c.get("mailbox");
    const system = GMAIL_SYSTEM_LABELS.map((id) => ({
      id,
      name: id,
      ...(id.startsWith("CATEGORY_") || id === "CHAT"
        ? {}
        : { messageListVisibility: "hide", labelListVisibility: "labelShow" }),
      type: "system",
    }));
    const user = Object.values(mailbox.state.userLabels).map((l) => ({
      id: l.id,
      name: l.name,
      messageListVisibility: "show",
      labelListVisibility: "labelShow",
      type: "user",
    }));
    return c.json({ labels: [...system, ...user] });
  });

  users.get("/messages", guard("gmail.users.messages.list"), (c) => {
    const items = select(c);
    if (items instanceof Response) return items;
    const p = page(c, items);
    if (p instanceof Response) return p;
    const body: Record<string, unknown> = {};
    if (p.slice.length) body["messages"] = p.slice.map((m) => ({ id: m.id, threadId: m.threadId }));
    if (p.next) body["nextPageToken"] = p.next;
    body["resultSizeEstimate"] = items.length;
    return c.json(body);
  });

  users.post("/messages/send", guard("gmail.users.messages.send"), async (c) => {
    let body: { raw?: unknown; threadId?: unknown };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return gmailErrors.invalidArgument(c, "Invalid JSON payload received.");
    }
    if (typeof body.raw !== "string" || !body.raw || !isBase64Any(body.raw)) {
      return gmailErrors.invalidArgument(
        c,
        "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
      );
    }
    return sendRaw(c, fromBase64Any(body.raw), typeof body.threadId === "string" ? body.threadId : undefined);
  });

  const sendRaw = (c: Context<GmailEnv>, rawIn: Buffer, threadId: string | undefined) => {
    const mailbox = c.get("mailbox");
    if (rawIn.length > 36_700_160)
      return googleError(
        c,
        413,
        "Request payload size exceeds the limit: 36700160 bytes.",
        "uploadTooLarge",
        "INVALID_ARGUMENT",
      );
    let parsed = parseMessage(rawIn);
    if ([...parsed.to, ...parsed.cc, ...parsed.bcc].length === 0)
      return gmailErrors.invalidArgument(c, "Recipient address required");
    const now = clock.now();
    const additions: Array<[string, string]> = [];
    const identity = ctx.directory.get(mailbox.address)!;
    if (!parsed.from.length)
      additions.push(["From", formatMailbox({ name: identity.displayName, address: mailbox.address })]);
    if (!parsed.messageId) additions.push(["Message-ID", newMessageId("mail.gmail.com")]);
    if (!parsed.date) additions.push(["Date", new Date(now).toUTCString().replace("GMT", "+0000")]);
    const raw = additions.length ? withHeaders(rawIn, additions) : rawIn;
    if (additions.length) parsed = parseMessage(raw);
    const recipients = [...parsed.to, ...parsed.cc, ...parsed.bcc].map((a) => a.address.toLowerCase());
    const toSelf = recipients.some((r) => ctx.directory.resolveRecipient(r).includes(mailbox.address));
    const labels = toSelf ? ["SENT", "INBOX", "UNREAD"] : ["SENT"];
    const sent = mailbox.insert(raw, { labelIds: labels, internalDate: now, now, threadId, sent: true });
    ctx.postOffice.deliver(raw, { recipients, via: mailbox.address, skip: mailbox.address });
    return c.json({ id: sent.id, threadId: sent.threadId, labelIds: sent.labelIds });
  };

  users.get("/messages/:messageId/attachments/:id", guard("gmail.users.messages.attachments.get"), (c) => {
    const mailbox = c.get("mailbox");
    const ref = parseAttachmentId(c.req.param("id"));
    const m = mailbox.get(c.req.param("messageId"));
    if (!m || !ref || ref.messageId !== m.id) return gmailErrors.notFound(c);
    const part = findPart(mailbox.parsed(m.id).root, ref.partId);
    if (!part || part.children.length) return gmailErrors.notFound(c);
    return c.json({ size: part.body.length, data: part.body.toString("base64url") });
  });

  users.get("/messages/:id", guard("gmail.users.messages.get"), (c) => {
    const format = formatOf(c, ["minimal", "full", "raw", "metadata"]);
    if (format instanceof Response) return format;
    const m = c.get("mailbox").get(c.req.param("id"));
    if (!m) return gmailErrors.notFound(c);
    return c.json(render(c, m, format));
  });

  users.post("/messages/:id/modify", guard("gmail.users.messages.modify"), async (c) => {
    const mailbox = c.get("mailbox");
    let body: { addLabelIds?: unknown; removeLabelIds?: unknown };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      body = {};
    }
    const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
    const add = list(body.addLabelIds);
    const remove = list(body.removeLabelIds);
    if (add.length > 100 || remove.length > 100) return gmailErrors.invalidArgument(c, "Too many label ids (max 100)");
    const unknown = [...add, ...remove].find((l) => !mailbox.labelExists(l));
    if (unknown) return gmailErrors.invalidArgument(c, `Invalid label: ${unknown}`);
    if (add.some((l) => l === "SENT" || l === "DRAFT"))
      return gmailErrors.invalidArgument(c, "Invalid label: cannot add SENT or DRAFT");
    const m = mailbox.modify(c.req.param("id"), add, remove, clock.now());
    if (!m) return gmailErrors.notFound(c);
    return c.json({ id: m.id, threadId: m.threadId, labelIds: [...m.labelIds] });
  });

  // Trash and untrash are label changes (history labelAdded/labelRemoved); delete is immediate and
  // permanent (history messageDeleted), and needs the full-access scope.
  for (const action of ["trash", "untrash"] as const) {
    users.post(`/messages/:id/${action}`, guard(`gmail.users.messages.${action}`), (c) => {
      const id = c.req.param("id");
      const m =
        action === "trash"
          ? c.get("mailbox").modify(id, ["TRASH"], [], clock.now())
          : c.get("mailbox").modify(id, [], ["TRASH"], clock.now());
      if (!m) return gmailErrors.notFound(c);
      return c.json(render(c, m, "minimal"));
    });
  }

  users.delete("/messages/:id", guard("gmail.users.messages.delete"), (c) => {
    if (!c.get("mailbox").delete(c.req.param("id"), clock.now())) return gmailErrors.notFound(c);
    return c.body(null, 204);
  });

  users.get("/threads", guard("gmail.users.threads.list"), (c) => {
    const mailbox = c.get("mailbox");
    const items = select(c);
    if (items instanceof Response) return items;
    const threadIds = [...new Set(items.map((m) => m.threadId))];
    const p = page(c, threadIds);
    if (p instanceof Response) return p;
    const body: Record<string, unknown> = {};
    if (p.slice.length) {
      body["threads"] = p.slice.map((threadId) => {
        const ids = mailbox.state.threads[threadId] ?? [];
        const latest = ids.map((id) => mailbox.get(id)!).sort(newestFirst)[0]!;
        const historyId = Math.max(...ids.map((id) => mailbox.get(id)!.historyId));
        return { id: threadId, snippet: snippetOf(mailbox, latest.id), historyId: String(historyId) };
      });
    }
    if (p.next) body["nextPageToken"] = p.next;
    body["resultSizeEstimate"] = threadIds.length;
    return c.json(body);
  });

  users.get("/threads/:id", guard("gmail.users.threads.get"), (c) => {
    const mailbox = c.get("mailbox");
    const format = formatOf(c, ["minimal", "full", "metadata"]);
    if (format instanceof Response) return format;
    const ids = mailbox.state.threads[c.req.param("id")];
    if (!ids?.length) return gmailErrors.notFound(c);
    const messages = ids.map((id) => mailbox.get(id)!).sort((a, b) => a.internalDate - b.internalDate);
    const last = messages[messages.length - 1]!;
    return c.json({
      id: c.req.param("id"),
      snippet: snippetOf(mailbox, last.id),
      historyId: String(Math.max(...messages.map((m) => m.historyId))),
      messages: messages.map((m) => render(c, m, format)),
    });
  });

  users.get("/history", guard("gmail.users.history.list"), (c) => {
    const mailbox = c.get("mailbox");
    const rawStart = c.req.query("startHistoryId");
    if (!rawStart) return gmailErrors.invalidArgument(c, "Missing required parameter: startHistoryId");
    if (!/^\d+$/.test(rawStart)) return gmailErrors.invalidArgument(c, "Invalid startHistoryId");
    const start = Number(rawStart);
    mailbox.prune(clock.now(), ctx.tunables.gmail.historyRetentionMs);
    if (start < mailbox.state.historyFloor) return gmailErrors.notFound(c);
    const types = c.req.queries("historyTypes");
    const labelId = c.req.query("labelId");
    const records = mailbox.state.history.filter(
      (h) =>
        h.id > start &&
        (!types?.length || types.includes(h.kind)) &&
        (!labelId || h.message.labelIds.includes(labelId) || (h.labelIds ?? []).includes(labelId)),
    );
    const p = page(c, records);
    if (p instanceof Response) return p;
    const body: Record<string, unknown> = {};
    if (p.slice.length) body["history"] = p.slice.map(renderHistory);
    if (p.next) body["nextPageToken"] = p.next;
    body["historyId"] = String(mailbox.state.historyId);
    return c.json(body);
  });

  users.post("/watch", guard("gmail.users.watch"), async (c) => {
    const mailbox = c.get("mailbox");
    let body: { topicName?: unknown; labelIds?: unknown; labelFilterBehavior?: unknown; labelFilterAction?: unknown };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return gmailErrors.invalidArgument(c, "Invalid JSON payload received.");
    }
    if (typeof body.topicName !== "string" || !PUSH_TOPIC.test(body.topicName)) {
      return gmailErrors.invalidArgument(c, "Invalid topicName does not match projects/SOME-PROJECT/topics/SOME-TOPIC");
    }
    const behavior = String(body.labelFilterBehavior ?? body.labelFilterAction ?? "include").toLowerCase();
    if (behavior !== "include" && behavior !== "exclude")
      return gmailErrors.invalidArgument(c, "Invalid labelFilterBehavior");
    const labelIds = Array.isArray(body.labelIds)
      ? body.labelIds.filter((l): l is string => typeof l === "string")
      : [];
    const expiration = clock.now() + ctx.tunables.gmail.watchTtlMs;
    mailbox.state.watch = {
      topicName: body.topicName,
      labelIds,
      labelFilterBehavior: behavior,
      expiration,
      historyId: mailbox.state.historyId,
    };
    ctx.mailboxes.events.emit("changed");
    ctx.onWatch(mailbox.address);
    return c.json({ historyId: String(mailbox.state.historyId), expiration: String(expiration) });
  });

  users.post("/stop", guard("gmail.users.stop"), (c) => {
    c.get("mailbox").state.watch = null;
    ctx.mailboxes.events.emit("changed");
    return c.body(null, 204);
  });

  app.route("/gmail/v1/users/:userId", users);

  const upload = new Hono<GmailEnv>();
  upload.post("/messages/send", guard("gmail.users.messages.send"), async (c) => {
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    const bytes = Buffer.from(await c.req.arrayBuffer());
    if (type.startsWith("message/")) return sendRaw(c, bytes, c.req.query("threadId"));
    if (type.startsWith("multipart/")) {
      // uploadType=multipart: a JSON metadata part (threadId) followed by the message/rfc822 part.
      const parsed = parseMessage(
        Buffer.concat([Buffer.from(`Content-Type: ${c.req.header("content-type")}\r\n\r\n`), bytes]),
      );
      const meta = parsed.root.children[0];
      const media = parsed.root.children[1];
      if (!media) return gmailErrors.invalidArgument(c, "Media part missing");
      let threadId: string | undefined;
      try {
        const json = meta ? (JSON.parse(meta.body.toString("utf8")) as { threadId?: unknown }) : {};
        threadId = typeof json.threadId === "string" ? json.threadId : undefined;
      } catch {
        threadId = undefined;
      }
      return sendRaw(c, media.body, threadId);
    }
    return gmailErrors.invalidArgument(c, `Media type '${type}' is not supported. Valid media types: [message/*]`);
  });
  app.route("/upload/gmail/v1/users/:userId", upload);

  return app;
}

export function renderHistory(h: HistoryEntry): Record<string, unknown> {
  const message = { id: h.message.id, threadId: h.message.threadId, labelIds: [...h.message.labelIds] };
  const out: Record<string, unknown> = {
    id: String(h.id),
    messages: [{ id: h.message.id, threadId: h.message.threadId }],
  };
  if (h.kind === "messageAdded") out["messagesAdded"] = [{ message }];
  if (h.kind === "messageDeleted") out["messagesDeleted"] = [{ message }];
  if (h.kind === "labelAdded") out["labelsAdded"] = [{ message, labelIds: h.labelIds ?? [] }];
  if (h.kind === "labelRemoved") out["labelsRemoved"] = [{ message, labelIds: h.labelIds ?? [] }];
  return out;
}
