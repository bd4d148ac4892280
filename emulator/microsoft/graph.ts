import { randomBytes, randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import { type AccessTokenState } from "../auth/store";
import { type AppEnv, type EmulatorContext } from "../context";
import { fromBase64Any, isBase64Any, isoSeconds } from "../core/encoding";
import { composeMime, formatDate, withHeaders } from "../mime/compose";
import { type Mailbox, encodeWord } from "../mime/headers";
import { parseMessage } from "../mime/parse";
import { childConversationIndex, exchangeId, newConversationIndex } from "../world/conversation";
import { type Identity } from "../world/directory";
import { type GraphMailbox, type GraphMessageState } from "../world/graph-mailbox";
import { type DeltaToken, decodeDeltaToken, encodeDeltaToken, roundItems } from "./graph-delta";
import { accessDenied, badRequest, graphError, notFound, throttled } from "./graph-errors";
import { type RenderOptions, messageId, parseSelect, recipient, renderMessage } from "./graph-render";
import {
  type GraphSubscriptions,
  type SubscriptionState,
  renderSubscription,
  validateEndpoint,
} from "./graph-subscriptions";

type Need = "read" | "write" | "send";

const SCOPES: Record<"self" | "delegate", Record<Need, string[]>> = {
  self: {
    read: ["Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"],
    write: ["Mail.ReadWrite"],
    send: ["Mail.Send"],
  },
  delegate: {
    read: ["Mail.ReadBasic.Shared", "Mail.Read.Shared", "Mail.ReadWrite.Shared"],
    write: ["Mail.ReadWrite.Shared"],
    send: ["Mail.Send.Shared"],
  },
};

/** `mailFolders('inbox')` and `mailFolders/inbox` address the same thing; keywords are case-insensitive. */
export function odataSegments(path: string): string[] {
  const out: string[] = [];
  for (const raw of path.split("/").filter(Boolean)) {
    const seg = decodeURIComponent(raw);
    const m = /^([^()]+)\((?:'((?:[^']|'')*)'|([^)]*))\)$/.exec(seg);
    if (m) {
      out.push(m[1]!);
      out.push((m[2] ?? m[3] ?? "").replace(/''/g, "'"));
    } else out.push(seg);
  }
  return out;
}

function preferences(c: Context): { immutableIds: boolean; textBody: boolean; maxPageSize: number | undefined } {
  const prefer = (c.req.header("prefer") ?? "").split(",").map((p) => p.trim());
  const immutableIds = prefer.some((p) => /^IdType\s*=\s*"?ImmutableId"?$/i.test(p));
  const textBody = prefer.some((p) => /^outlook\.body-content-type\s*=\s*"?text"?$/i.test(p));
  const size = prefer.map((p) => /^odata\.maxpagesize\s*=\s*(\d+)$/i.exec(p)?.[1]).find(Boolean);
  const applied: string[] = [];
  if (immutableIds) applied.push('IdType="ImmutableId"');
  if (textBody) applied.push('outlook.body-content-type="text"');
  if (size) applied.push(`odata.maxpagesize=${size}`);
  if (applied.length) c.header("Preference-Applied", applied.join(", "));
  return { immutableIds, textBody, maxPageSize: size ? Number(size) : undefined };
}

interface Filter {
  test(m: GraphMessageState): boolean;
  receivedFrom?: number;
}

/** `$filter` subset: receivedDateTime ge/gt/le/lt, isRead eq, conversationId eq, internetMessageId eq, joined by `and`. */
function parseFilter(raw: string | undefined): Filter | { error: string } {
  if (!raw) return { test: () => true };
  const tests: Array<(m: GraphMessageState) => boolean> = [];
  let receivedFrom: number | undefined;
  for (const clause of raw.split(/\s+and\s+/i)) {
    const m = /^\s*(\w+)\s+(eq|ne|ge|gt|le|lt)\s+(.+?)\s*$/i.exec(clause);
    if (!m) return { error: `Invalid filter clause: ${clause}` };
    const [, prop = "", op = "", rawValue = ""] = m;
    const value = rawValue.replace(/^'(.*)'$/, "$1");
    const cmp = (a: number | string | boolean, b: number | string | boolean) => {
      switch (op.toLowerCase()) {
        case "eq":
          return a === b;
        case "ne":
          return a !== b;
        case "ge":
          return a >= b;
        case "gt":
          return a > b;
        case "le":
          return a <= b;
        default:
          return a < b;
      }
    };
    switch (prop.toLowerCase()) {
      case "receiveddatetime": {
        const t = Date.parse(value);
        if (Number.isNaN(t)) return { error: `Invalid date in filter: ${value}` };
        if (op === "ge" || op === "gt") receivedFrom = t + (op === "gt" ? 1 : 0);
        tests.push((x) => cmp(x.receivedDateTime, t));
        break;
      }
      case "isread":
        tests.push((x) => cmp(x.isRead, value === "true"));
        break;
      case "conversationid":
        tests.push((x) => cmp(x.conversationId, value));
        break;
      case "internetmessageid":
        tests.push((x) => cmp(x.internetMessageId, value));
        break;
      default:
        return { error: `Could not find a property named '${prop}' on type 'microsoft.graph.message'.` };
    }
  }
  return { test: (x) => tests.every((t) => t(x)), receivedFrom };
}

interface Target {
  identity: Identity;
  mailbox: GraphMailbox;
  delegate: boolean;
  /** `me` or `users/{id}` as the caller wrote it, for links. */
  userSegment: string;
}

/**
 * Microsoft Graph v1.0 subset at `${url}/graph/v1.0/...`: users, mail folders, messages, delta,
 * sending, replies and subscriptions, with per-mailbox throttling.
 */
export function graphRoutes(ctx: EmulatorContext, subs: GraphSubscriptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { clock, directory } = ctx;

  const authenticate = (c: Context): AccessTokenState | undefined => {
    const header = c.req.header("authorization") ?? "";
    const token = header.toLowerCase().startsWith("bearer ")
      ? ctx.auth.accessTokens.get(header.slice(7).trim())
      : undefined;
    if (!token || token.provider !== "microsoft" || token.expiresAt <= clock.now()) return undefined;
    return token;
  };
  const unauthenticated = (c: Context) =>
    graphError(c, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.", {
      "WWW-Authenticate":
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token"',
    });

  const allowed = (token: AccessTokenState, t: Target, need: Need) =>
    token.scopes.some((s) => SCOPES[t.delegate ? "delegate" : "self"][need].includes(s)) ||
    (!t.delegate && need === "read" && token.scopes.some((s) => SCOPES.delegate.read.includes(s)));

  const graphBase = (c: Context) => `${new URL(c.req.url).origin}/graph`;
  const contextUrl = (c: Context, t: Target, tail: string) =>
    `${graphBase(c)}/v1.0/$metadata#users('${encodeURIComponent(t.identity.address)}')/${tail}`;

  const renderOpts = (c: Context, select: string[] | undefined): RenderOptions => {
    const p = preferences(c);
    return { immutableIds: p.immutableIds, textBody: p.textBody, select };
  };

  const folderJson = (t: Target, folderId: string) => {
    const f = t.mailbox.state.folders[folderId]!;
    const items = t.mailbox.inFolder(folderId);
    return {
      id: f.id,
      displayName: f.displayName,
      parentFolderId: f.parentFolderId,
      childFolderCount: 0,
      unreadItemCount: items.filter((m) => !m.isRead).length,
      totalItemCount: items.length,
      isHidden: false,
    };
  };

  const userJson = (i: Identity) => ({
    businessPhones: [],
    displayName: i.displayName,
    givenName: i.givenName || null,
    jobTitle: null,
    mail: i.address,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: "en-US",
    surname: i.familyName || null,
    userPrincipalName: i.address,
    id: i.id,
  });

  // ---- sending -------------------------------------------------------------------------------------

  const exchangeMessageId = (domain: string) =>
    `<${randomBytes(12).toString("hex").toUpperCase()}@${domain.replace(/\./g, "")}.prod.outlook.test>`;

  const mimeFromFields = (
    t: Target,
    m: Pick<
      GraphMessageState,
      "subject" | "body" | "to" | "cc" | "bcc" | "replyTo" | "internetMessageId" | "inReplyTo" | "references"
    >,
    extra: {
      attachments?: Array<{
        name: string;
        contentType: string;
        content: Buffer;
        isInline: boolean;
        contentId?: string;
      }>;
      headers?: Array<[string, string]>;
      index: Buffer;
    },
  ): Buffer => {
    const from: Mailbox = { name: t.identity.displayName, address: t.identity.address };
    const html = m.body.contentType === "html" ? m.body.content : undefined;
    const text = m.body.contentType === "text" ? m.body.content : undefined;
    return composeMime({
      from,
      to: m.to,
      cc: m.cc,
      bcc: m.bcc,
      replyTo: m.replyTo,
      subject: m.subject,
      html,
      text,
      attachments: extra.attachments?.map((a) => ({
        filename: a.name,
        contentType: a.contentType,
        content: a.content,
        inline: a.isInline,
        contentId: a.contentId,
      })),
      messageId: m.internetMessageId,
      date: clock.now(),
      inReplyTo: m.inReplyTo ?? undefined,
      references: m.references,
      headers: [
        ["Thread-Topic", encodeWord(m.subject.replace(/^(re|fw|fwd):\s*/i, ""))],
        ["Thread-Index", extra.index.toString("base64")],
        ...(extra.headers ?? []),
      ],
      boundarySeed: randomBytes(6).toString("hex"),
    });
  };

  /** Saves to Sent Items (unless told not to) and hands the message to the sandbox post office. */
  const dispatch = (t: Target, raw: Buffer, saveToSentItems: boolean) => {
    const parsed = parseMessage(raw);
    if (saveToSentItems)
      t.mailbox.insert(raw, { folder: "sentitems", receivedAt: clock.now(), now: clock.now(), isRead: true });
    const recipients = [...parsed.to, ...parsed.cc, ...parsed.bcc].map((a) => a.address);
    ctx.postOffice.deliver(raw, { recipients, via: t.mailbox.address });
  };

  type JsonRecipient = { emailAddress?: { address?: unknown; name?: unknown } };
  const recipients = (v: unknown): Mailbox[] =>
    Array.isArray(v)
      ? (v as JsonRecipient[])
          .map((r) => ({ name: String(r.emailAddress?.name ?? ""), address: String(r.emailAddress?.address ?? "") }))
          .filter((r) => r.address.includes("@"))
      : [];

  const sendMail = async (c: Context, t: Target) => {
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    if (type.startsWith("text/plain")) {
      const text = (await c.req.text()).trim();
      if (!text || !isBase64Any(text))
        return badRequest(c, "Invalid base64 string for MIME content.", "ErrorMimeContentInvalidBase64String");
      let raw = fromBase64Any(text);
      const parsed = parseMessage(raw);
      if (!parsed.to.length && !parsed.cc.length && !parsed.bcc.length) {
        return badRequest(c, "At least one recipient is not valid., Recipient is missing.", "ErrorInvalidRecipients");
      }
      const add: Array<[string, string]> = [];
      if (!parsed.messageId) add.push(["Message-ID", exchangeMessageId(t.identity.tenantDomain)]);
      if (!parsed.date) add.push(["Date", formatDate(clock.now())]);
      if (!parsed.from.length) add.push(["From", `${encodeWord(t.identity.displayName)} <${t.identity.address}>`]);
      if (add.length) raw = withHeaders(raw, add);
      dispatch(t, raw, true);
      return c.body(null, 202);
    }
    let body: { message?: Record<string, unknown>; saveToSentItems?: unknown };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return badRequest(
        c,
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
      );
    }
    const msg = body.message;
    if (!msg || typeof msg !== "object")
      return badRequest(c, "Empty Payload. JSON content expected.", "ErrorInvalidRequest");
    const to = recipients(msg["toRecipients"]);
    const cc = recipients(msg["ccRecipients"]);
    const bcc = recipients(msg["bccRecipients"]);
    if (!to.length && !cc.length && !bcc.length)
      return badRequest(c, "At least one recipient is not valid., Recipient is missing.", "ErrorInvalidRecipients");
    const headers: Array<[string, string]> = [];
    for (const h of Array.isArray(msg["internetMessageHeaders"])
      ? (msg["internetMessageHeaders"] as Array<{ name?: unknown; value?: unknown }>)
      : []) {
      const name = String(h.name ?? "");
      if (!/^x-/i.test(name)) {
        return badRequest(
          c,
          "The internet message header name '" + name + "' should start with 'x-' or 'X-'.",
          "InvalidInternetMessageHeader",
        );
      }
      headers.push([name, String(h.value ?? "")]);
    }
    const attachments: Array<{
      name: string;
      contentType: string;
      content: Buffer;
      isInline: boolean;
      contentId?: string;
    }> = [];
    for (const a of Array.isArray(msg["attachments"]) ? (msg["attachments"] as Array<Record<string, unknown>>) : []) {
      if (a["@odata.type"] !== "#microsoft.graph.fileAttachment")
        return badRequest(c, "Only file attachments are supported here.", "ErrorInvalidRequest");
      attachments.push({
        name: String(a["name"] ?? "attachment"),
        contentType: String(a["contentType"] ?? "application/octet-stream"),
        content: Buffer.from(String(a["contentBytes"] ?? ""), "base64"),
        isInline: a["isInline"] === true,
        contentId: typeof a["contentId"] === "string" ? a["contentId"] : undefined,
      });
    }
    const bodyField = (msg["body"] ?? {}) as { contentType?: unknown; content?: unknown };
    const fields = {
      subject: String(msg["subject"] ?? ""),
      body: {
        contentType:
          String(bodyField.contentType ?? "text").toLowerCase() === "html" ? ("html" as const) : ("text" as const),
        content: String(bodyField.content ?? ""),
      },
      to,
      cc,
      bcc,
      replyTo: recipients(msg["replyTo"]),
      internetMessageId: exchangeMessageId(t.identity.tenantDomain),
      inReplyTo: null,
      references: [],
    };
    const raw = mimeFromFields(t, fields, {
      attachments,
      headers,
      index: newConversationIndex(randomBytes(16), clock.now()),
    });
    dispatch(t, raw, body.saveToSentItems !== false);
    return c.body(null, 202);
  };

  const replyDraft = (
    t: Target,
    original: GraphMessageState,
    all: boolean,
    comment: string,
    patch: Record<string, unknown>,
  ) => {
    const self = t.identity.address.toLowerCase();
    const answerTo = original.replyTo.length ? original.replyTo : original.from ? [original.from] : [];
    const cc = all
      ? [...original.to, ...original.cc].filter(
          (r) => r.address.toLowerCase() !== self && !answerTo.some((a) => a.address === r.address),
        )
      : [];
    const quoted = `<div>${comment}</div><hr><div><b>From:</b> ${original.from?.name ?? ""} &lt;${original.from?.address ?? ""}&gt;<br><b>Sent:</b> ${formatDate(original.sentDateTime)}<br><b>Subject:</b> ${original.subject}</div><div>${original.body.contentType === "html" ? original.body.content : original.body.content.replace(/\n/g, "<br>")}</div>`;
    const parentIndex = Buffer.from(original.conversationIndex, "base64");
    const draft = t.mailbox.insertDraft(
      {
        subject: /^re:/i.test(original.subject) ? original.subject : `RE: ${original.subject}`,
        body: { contentType: "html", content: quoted },
        from: { name: t.identity.displayName, address: t.identity.address },
        sender: { name: t.identity.displayName, address: t.identity.address },
        to: answerTo,
        cc,
        inReplyTo: original.internetMessageId,
        references: [...original.references, original.internetMessageId].slice(-100),
        conversationId: original.conversationId,
        conversationIndex: childConversationIndex(
          parentIndex.length >= 22 ? parentIndex : newConversationIndex(randomBytes(16), clock.now()),
          clock.now(),
        ).toString("base64"),
        internetMessageId: exchangeMessageId(t.identity.tenantDomain),
      },
      clock.now(),
    );
    if (Object.keys(patch).length) applyPatch(t, draft, patch);
    return draft;
  };

  const applyPatch = (t: Target, m: GraphMessageState, patch: Record<string, unknown>): string | undefined => {
    const next: Partial<GraphMessageState> = {};
    const draftOnly = ["subject", "body", "toRecipients", "ccRecipients", "bccRecipients", "replyTo"];
    for (const [key, value] of Object.entries(patch)) {
      if (draftOnly.includes(key) && !m.isDraft) return `The property '${key}' can only be updated on draft messages.`;
      switch (key) {
        case "isRead":
          next.isRead = value === true;
          break;
        case "subject":
          next.subject = String(value ?? "");
          break;
        case "body": {
          const b = (value ?? {}) as { contentType?: unknown; content?: unknown };
          next.body = {
            contentType: String(b.contentType ?? "text").toLowerCase() === "html" ? "html" : "text",
            content: String(b.content ?? ""),
          };
          break;
        }
        case "toRecipients":
          next.to = recipients(value);
          break;
        case "ccRecipients":
          next.cc = recipients(value);
          break;
        case "bccRecipients":
          next.bcc = recipients(value);
          break;
        case "replyTo":
          next.replyTo = recipients(value);
          break;
        case "categories":
          next.categories = Array.isArray(value) ? value.map(String) : [];
          break;
        case "importance":
          if (value === "low" || value === "normal" || value === "high") next.importance = value;
          break;
        case "inferenceClassification":
          if (value === "focused" || value === "other") next.inferenceClassification = value;
          break;
        case "flag": {
          const status = (value as { flagStatus?: unknown } | null)?.flagStatus;
          if (status === "notFlagged" || status === "flagged" || status === "complete") next.flagStatus = status;
          break;
        }
        default:
          return `The property '${key}' does not exist or cannot be updated.`;
      }
    }
    t.mailbox.update(m, next, clock.now());
    return undefined;
  };

  const sendDraft = (t: Target, m: GraphMessageState) => {
    const raw = mimeFromFields(t, m, {
      attachments: (m.draftAttachments ?? []).map((a) => ({
        name: a.name,
        contentType: a.contentType,
        content: Buffer.from(a.contentBytes, "base64"),
        isInline: a.isInline,
        contentId: a.contentId ?? undefined,
      })),
      index: Buffer.from(
        m.conversationIndex || newConversationIndex(randomBytes(16), clock.now()).toString("base64"),
        "base64",
      ),
    });
    t.mailbox.setRaw(m, raw);
    const parsed = parseMessage(raw);
    t.mailbox.update(
      m,
      {
        isDraft: false,
        sentDateTime: clock.now(),
        headers: parsed.headers.map((h) => ({ ...h })),
        draftAttachments: undefined,
      },
      clock.now(),
    );
    t.mailbox.move(m, t.mailbox.folderId("sentitems"), clock.now());
    ctx.postOffice.deliver(raw, {
      recipients: [...m.to, ...m.cc, ...m.bcc].map((r) => r.address),
      via: t.mailbox.address,
    });
  };

  // ---- listing and delta ---------------------------------------------------------------------------

  const listMessages = (c: Context, t: Target, folderId: string | null, tail: string) => {
    const select = parseSelect(c.req.query("$select"));
    if (select && !Array.isArray(select))
      return badRequest(
        c,
        `Could not find a property named '${select.unknown}' on type 'microsoft.graph.message'.`,
        "RequestBroker--ParseUri",
      );
    const filter = parseFilter(c.req.query("$filter"));
    if ("error" in filter) return badRequest(c, filter.error, "BadRequest");
    const top = Math.min(
      Number(c.req.query("$top") ?? preferences(c).maxPageSize ?? ctx.tunables.graph.listDefaultPageSize),
      1000,
    );
    const skip = Number(c.req.query("$skip") ?? 0);
    if (!Number.isInteger(top) || top < 1 || !Number.isInteger(skip) || skip < 0)
      return badRequest(c, "Invalid $top or $skip value.", "BadRequest");
    const asc = /receivedDateTime\s+asc/i.test(c.req.query("$orderby") ?? "");
    const items = (folderId ? t.mailbox.inFolder(folderId) : t.mailbox.all())
      .filter((m) => filter.test(m))
      .sort((a, b) => (asc ? a.receivedDateTime - b.receivedDateTime : b.receivedDateTime - a.receivedDateTime));
    const page = items.slice(skip, skip + top);
    const opts = renderOpts(c, select as string[] | undefined);
    const body: Record<string, unknown> = { "@odata.context": contextUrl(c, t, tail) };
    if (c.req.query("$count") === "true") body["@odata.count"] = items.length;
    body["value"] = page.map((m) => renderMessage(t.mailbox, m, opts));
    if (skip + top < items.length) {
      const next = new URL(c.req.url);
      next.searchParams.set("$skip", String(skip + top));
      next.searchParams.set("$top", String(top));
      body["@odata.nextLink"] = decodeURIComponent(next.toString()).replace(/ /g, "%20");
    }
    return c.json(body);
  };

  const delta = (c: Context, t: Target, folderId: string) => {
    const mailbox = t.mailbox;
    const g = ctx.tunables.graph;
    const skip = c.req.query("$skiptoken");
    const dtoken = c.req.query("$deltatoken");
    const base = `${graphBase(c)}/v1.0/${t.userSegment}/mailFolders('${folderId}')/messages/delta`;
    let token: DeltaToken;
    if (skip || dtoken) {
      const decoded = decodeDeltaToken(skip ?? dtoken ?? "");
      if (!decoded || decoded.mb !== mailbox.address || decoded.f !== folderId)
        return badRequest(c, "The delta token is malformed.", "BadRequest");
      if (mailbox.state.deltaResetPending) {
        mailbox.state.deltaResetPending = false;
        mailbox.expireDelta();
        c.header("Location", base);
        return graphError(
          c,
          410,
          "SyncStateInvalid",
          "The sync state is no longer valid due to a change in the mailbox; resync from the Location header.",
        );
      }
      const expired =
        decoded.e !== mailbox.state.deltaEpoch ||
        (g.deltaTokenTtlMs !== null && clock.now() - decoded.t > g.deltaTokenTtlMs);
      if (expired) {
        return graphError(
          c,
          g.deltaExpiredStatus as 400,
          g.deltaExpiredCode,
          "The sync state generation is not found or has expired. Please perform a full sync.",
        );
      }
      token = dtoken && !skip ? { ...decoded, p: "c", o: 0, to: undefined } : decoded;
      const replay = mailbox.state.deltaReplayChanges ?? 0;
      if (dtoken && !skip && replay > 0) {
        mailbox.state.deltaReplayChanges = 0;
        token.s = Math.max(0, token.s - replay);
      }
    } else {
      const select = parseSelect(c.req.query("$select"));
      if (select && !Array.isArray(select))
        return badRequest(
          c,
          `Could not find a property named '${select.unknown}' on type 'microsoft.graph.message'.`,
          "RequestBroker--ParseUri",
        );
      const filter = parseFilter(c.req.query("$filter"));
      if ("error" in filter) return badRequest(c, filter.error);
      const rawFilter = c.req.query("$filter");
      if (rawFilter && !/^\s*receivedDateTime\s+(ge|gt)\s+\S+\s*$/i.test(rawFilter)) {
        return badRequest(
          c,
          "The only supported $filter on a delta query is receivedDateTime ge|gt {value}.",
          "ErrorInvalidUrlQueryFilter",
        );
      }
      const ct = c.req.query("changeType");
      token = {
        v: 1,
        mb: mailbox.address,
        f: folderId,
        e: mailbox.state.deltaEpoch,
        t: clock.now(),
        s: 0,
        p: "i",
        o: 0,
        sel: c.req.query("$select"),
        ct: ct ? ct.split(",").map((x) => x.trim()) : undefined,
        from: filter.receivedFrom,
        top: c.req.query("$top") ? Number(c.req.query("$top")) : undefined,
      };
    }
    const pageSize = preferences(c).maxPageSize ?? token.ps ?? token.top ?? g.deltaDefaultPageSize;
    token.ps = pageSize;
    const to = token.to ?? mailbox.state.changeSeq;
    const items = roundItems(mailbox, token, to, g.filteredDeltaCap);
    const offset = token.o ?? 0;
    const page = items.slice(offset, offset + pageSize);
    const select = token.sel ? (parseSelect(token.sel) as string[]) : undefined;
    const opts = renderOpts(c, select);
    const value = page.map((item) => {
      if (item.kind === "removed") {
        return {
          "@odata.type": "#microsoft.graph.message",
          id: opts.immutableIds ? item.id : item.restId,
          "@removed": { reason: "deleted" },
        };
      }
      return { "@odata.type": "#microsoft.graph.message", ...renderMessage(mailbox, item.message, opts) };
    });
    const body: Record<string, unknown> = {
      "@odata.context": `${graphBase(c)}/v1.0/$metadata#Collection(message)`,
    };
    const fresh = { ...token, t: clock.now(), e: mailbox.state.deltaEpoch };
    if (offset + pageSize < items.length) {
      body["@odata.nextLink"] = `${base}?$skiptoken=${encodeDeltaToken({ ...fresh, to, o: offset + pageSize })}`;
    } else {
      body["@odata.deltaLink"] =
        `${base}?$deltatoken=${encodeDeltaToken({ ...fresh, s: to, to: undefined, o: 0, p: "c" })}`;
    }
    body["value"] = value;
    return c.json(body);
  };

  // ---- attachments -----------------------------------------------------------------------------

  /** Graph takes a file of up to 3 MB in one request; larger ones need an upload session. */
  const MAX_ATTACHMENT_POST_BYTES = 3 * 1024 * 1024;

  const attachmentsOf = (t: Target, m: GraphMessageState) => {
    if (m.isDraft)
      return (m.draftAttachments ?? []).map((a) => ({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "@odata.mediaContentType": a.contentType,
        id: a.id,
        lastModifiedDateTime: isoSeconds(m.lastModifiedDateTime),
        name: a.name,
        contentType: a.contentType,
        size: Buffer.from(a.contentBytes, "base64").length,
        isInline: a.isInline,
        contentId: a.contentId,
        contentLocation: null,
        contentBytes: a.contentBytes,
      }));
    const parsed = t.mailbox.parsed(m);
    return (parsed?.attachments ?? []).map((a, i) => ({
      "@odata.type": "#microsoft.graph.fileAttachment",
      "@odata.mediaContentType": a.mimeType,
      id: exchangeId("rest", m.immutableId, "attachment", String(i)),
      lastModifiedDateTime: isoSeconds(m.lastModifiedDateTime),
      name: a.filename || `attachment-${i + 1}`,
      contentType: a.mimeType,
      size: a.body.length,
      isInline: a.disposition === "inline",
      contentId: a.contentId ?? null,
      contentLocation: null,
      contentBytes: a.body.toString("base64"),
    }));
  };

  // ---- dispatcher ------------------------------------------------------------------------------

  const handleMailbox = async (c: Context, token: AccessTokenState, t: Target, rest: string[]): Promise<Response> => {
    const method = c.req.method;
    const [head, second, third, fourth, fifth] = rest.map((s, i) => (i % 2 === 0 ? s.toLowerCase() : s));
    const need = (n: Need) => allowed(token, t, n);

    if (!head) {
      if (method !== "GET") return graphError(c, 405, "BadRequest", "Method not allowed.");
      if (t.delegate && !token.scopes.some((s) => s.endsWith(".Shared") || s === "User.ReadBasic.All"))
        return accessDenied(c);
      return c.json({ "@odata.context": `${graphBase(c)}/v1.0/$metadata#users/$entity`, ...userJson(t.identity) });
    }
    if (head === "sendmail" && method === "POST" && !second) {
      if (!need("send")) return accessDenied(c);
      return sendMail(c, t);
    }
    if (head === "mailfolders") {
      if (!need("read")) return accessDenied(c);
      if (!second) {
        if (method !== "GET") return graphError(c, 405, "BadRequest", "Method not allowed.");
        const folders = Object.keys(t.mailbox.state.folders).map((id) => folderJson(t, id));
        return c.json({ "@odata.context": contextUrl(c, t, "mailFolders"), value: folders });
      }
      const folder = t.mailbox.folder(second);
      if (!folder) return notFound(c);
      if (!third)
        return c.json({ "@odata.context": contextUrl(c, t, "mailFolders/$entity"), ...folderJson(t, folder.id) });
      if (third === "messages" && !fourth)
        return listMessages(c, t, folder.id, "mailFolders('" + folder.id + "')/messages");
      if (third === "messages" && fourth?.toLowerCase() === "delta" && method === "GET") return delta(c, t, folder.id);
      if (third === "messages" && fourth) return handleMessage(c, t, fourth, fifth ? rest.slice(4) : [], need);
      return notFound(c);
    }
    if (head === "messages") {
      if (!second) {
        if (method === "GET") {
          if (!need("read")) return accessDenied(c);
          return listMessages(c, t, null, "messages");
        }
        return graphError(c, 405, "BadRequest", "Creating messages directly is not supported by the emulator.");
      }
      if (second.toLowerCase() === "delta") {
        return badRequest(c, "Change tracking is not supported against 'microsoft.graph.message'.", "BadRequest");
      }
      return handleMessage(c, t, second, rest.slice(2), need);
    }
    return graphError(c, 400, "BadRequest", `Resource not found for the segment '${rest[0]}'.`);
  };

  const handleMessage = async (
    c: Context,
    t: Target,
    id: string,
    rest: string[],
    need: (n: Need) => boolean,
  ): Promise<Response> => {
    const method = c.req.method;
    const m = t.mailbox.find(id);
    if (!need("read")) return accessDenied(c);
    if (!m) return notFound(c);
    const action = rest[0]?.toLowerCase();
    const opts = () => {
      const select = parseSelect(c.req.query("$select"));
      return renderOpts(c, Array.isArray(select) ? select : undefined);
    };
    const readBody = async (): Promise<Record<string, unknown>> => {
      try {
        const text = await c.req.text();
        return text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        return {};
      }
    };
    if (!action) {
      if (method === "GET") {
        const select = parseSelect(c.req.query("$select"));
        if (select && !Array.isArray(select))
          return badRequest(
            c,
            `Could not find a property named '${select.unknown}' on type 'microsoft.graph.message'.`,
            "RequestBroker--ParseUri",
          );
        return c.json({
          "@odata.context": contextUrl(c, t, "messages/$entity"),
          ...renderMessage(t.mailbox, m, renderOpts(c, select)),
        });
      }
      if (method === "PATCH") {
        if (!need("write")) return accessDenied(c);
        const problem = applyPatch(t, m, await readBody());
        if (problem) return badRequest(c, problem, "ErrorInvalidPropertyRequest");
        return c.json({
          "@odata.context": contextUrl(c, t, "messages/$entity"),
          ...renderMessage(t.mailbox, m, opts()),
        });
      }
      if (method === "DELETE") {
        if (!need("write")) return accessDenied(c);
        const deleted = t.mailbox.folderId("deleteditems");
        if (m.folderId === deleted) t.mailbox.remove(m, clock.now());
        else t.mailbox.move(m, deleted, clock.now());
        return c.body(null, 204);
      }
      return graphError(c, 405, "BadRequest", "Method not allowed.");
    }
    if (action === "$value" && method === "GET") {
      const raw = m.raw
        ? Buffer.from(m.raw, "base64")
        : mimeFromFields(t, m, { index: Buffer.from(m.conversationIndex || "", "base64") });
      return c.body(new Uint8Array(raw), 200, { "Content-Type": "text/plain" });
    }
    if (action === "attachments" && method === "GET") {
      const list = attachmentsOf(t, m);
      if (!rest[1])
        return c.json({
          "@odata.context": contextUrl(c, t, "messages('" + messageId(m, opts().immutableIds) + "')/attachments"),
          value: list,
        });
      const a = list.find((x) => x.id === rest[1]);
      if (!a) return notFound(c);
      if (rest[2] === "$value")
        return c.body(new Uint8Array(Buffer.from(a.contentBytes, "base64")), 200, { "Content-Type": a.contentType });
      return c.json(a);
    }
    if (action === "attachments" && method === "POST" && !rest[1]) {
      if (!need("write")) return accessDenied(c);
      if (!m.isDraft)
        return badRequest(c, "Attachments can only be added to draft messages here.", "ErrorInvalidOperation");
      const a = await readBody();
      if (a["@odata.type"] !== "#microsoft.graph.fileAttachment")
        return badRequest(c, "Only file attachments are supported here.", "ErrorInvalidRequest");
      const bytes = String(a["contentBytes"] ?? "");
      if (!bytes || !isBase64Any(bytes))
        return badRequest(c, "The contentBytes property is missing or not valid base64.", "ErrorInvalidRequest");
      const content = fromBase64Any(bytes);
      if (content.length > MAX_ATTACHMENT_POST_BYTES)
        return graphError(
          c,
          413,
          "ErrorRequestEntityTooLarge",
          "The attachment is larger than 3 MB; use an upload session.",
        );
      const added = {
        id: exchangeId("rest", m.immutableId, "attachment", String((m.draftAttachments ?? []).length)),
        name: String(a["name"] ?? "attachment"),
        contentType: String(a["contentType"] ?? "application/octet-stream"),
        contentBytes: content.toString("base64"),
        isInline: a["isInline"] === true,
        contentId: typeof a["contentId"] === "string" ? a["contentId"] : null,
      };
      t.mailbox.update(
        m,
        { draftAttachments: [...(m.draftAttachments ?? []), added], hasAttachments: true },
        clock.now(),
      );
      const rendered = attachmentsOf(t, m).find((x) => x.id === added.id)!;
      return c.json(
        {
          "@odata.context": contextUrl(
            c,
            t,
            "messages('" + messageId(m, opts().immutableIds) + "')/attachments/$entity",
          ),
          ...rendered,
        },
        201,
      );
    }
    if (method !== "POST") return graphError(c, 405, "BadRequest", "Method not allowed.");
    if (action === "createreply" || action === "createreplyall") {
      if (!need("write")) return accessDenied(c);
      const body = await readBody();
      if (body["comment"] !== undefined && (body["message"] as { body?: unknown } | undefined)?.body !== undefined) {
        return badRequest(
          c,
          "Specify either comment or the body property of the message parameter, not both.",
          "ErrorInvalidRequest",
        );
      }
      const draft = replyDraft(
        t,
        m,
        action === "createreplyall",
        String(body["comment"] ?? ""),
        (body["message"] as Record<string, unknown>) ?? {},
      );
      return c.json(
        { "@odata.context": contextUrl(c, t, "messages/$entity"), ...renderMessage(t.mailbox, draft, opts()) },
        201,
      );
    }
    if (action === "reply" || action === "replyall") {
      if (!need("send")) return accessDenied(c);
      const body = await readBody();
      if (body["comment"] !== undefined && (body["message"] as { body?: unknown } | undefined)?.body !== undefined) {
        return badRequest(
          c,
          "Specify either comment or the body property of the message parameter, not both.",
          "ErrorInvalidRequest",
        );
      }
      const draft = replyDraft(
        t,
        m,
        action === "replyall",
        String(body["comment"] ?? ""),
        (body["message"] as Record<string, unknown>) ?? {},
      );
      sendDraft(t, draft);
      return c.body(null, 202);
    }
    if (action === "send") {
      if (!need("send")) return accessDenied(c);
      if (!m.isDraft) return badRequest(c, "Only draft messages can be sent.", "ErrorInvalidOperation");
      if (!m.to.length && !m.cc.length && !m.bcc.length)
        return badRequest(c, "At least one recipient is not valid., Recipient is missing.", "ErrorInvalidRecipients");
      sendDraft(t, m);
      return c.body(null, 202);
    }
    if (action === "move") {
      if (!need("write")) return accessDenied(c);
      const body = await readBody();
      const dest = t.mailbox.folder(String(body["destinationId"] ?? ""));
      if (!dest) return badRequest(c, "The destinationId is invalid.", "ErrorInvalidIdMalformed");
      t.mailbox.move(m, dest.id, clock.now());
      return c.json(
        { "@odata.context": contextUrl(c, t, "messages/$entity"), ...renderMessage(t.mailbox, m, opts()) },
        201,
      );
    }
    return graphError(c, 400, "BadRequest", `Unsupported action '${rest[0]}'.`);
  };

  // ---- subscriptions ---------------------------------------------------------------------------

  const resolveResource = (token: AccessTokenState, resource: string): Target | string => {
    const segs = odataSegments(resource.split("?")[0]!);
    let identity: Identity | undefined;
    let userSegment: string;
    let rest: string[];
    if (segs[0]?.toLowerCase() === "me") {
      identity = directory.get(token.account);
      userSegment = "me";
      rest = segs.slice(1);
    } else if (segs[0]?.toLowerCase() === "users" && segs[1]) {
      identity = directory.get(segs[1]) ?? directory.byId(segs[1]);
      userSegment = `users/${segs[1]}`;
      rest = segs.slice(2);
    } else return "Resource is not supported.";
    if (!identity) return "Resource is not supported.";
    const mailbox = ctx.mailboxes.graph(identity.address);
    if (!mailbox) return "Resource is not supported.";
    const delegate = identity.address !== token.account;
    if (delegate && !directory.delegatedMailboxes(token.account).some((i) => i.address === identity!.address))
      return "denied";
    const lowered = rest.map((s, i) => (i % 2 === 0 ? s.toLowerCase() : s));
    const ok =
      (lowered.length === 1 && lowered[0] === "messages") ||
      (lowered.length === 3 && lowered[0] === "mailfolders" && lowered[2] === "messages" && !!mailbox.folder(rest[1]!));
    if (!ok) return "Resource is not supported.";
    return { identity, mailbox, delegate, userSegment };
  };

  const subscriptionsApi = async (c: Context, token: AccessTokenState, rest: string[]): Promise<Response> => {
    const method = c.req.method;
    const g = ctx.tunables.graph;
    const readJson = async (): Promise<Record<string, unknown> | undefined> => {
      try {
        return (await c.req.json()) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    };
    const own = (s: SubscriptionState) => s.applicationId === token.clientId;
    const maxMinutes = (s: { includeResourceData: boolean }) =>
      s.includeResourceData
        ? Math.min(g.subscriptionMaxMinutes, g.subscriptionMaxMinutesWithResourceData)
        : g.subscriptionMaxMinutes;
    const expiryProblem = (ms: number, includeResourceData: boolean): string | undefined => {
      if (Number.isNaN(ms)) return "expirationDateTime is invalid.";
      if (ms <= clock.now()) return "Subscription expiration must be in the future.";
      if (ms > clock.now() + maxMinutes({ includeResourceData }) * 60_000 + 1000) {
        return `Subscription expiration can only be ${maxMinutes({ includeResourceData })} minutes in the future.`;
      }
      return undefined;
    };

    if (!rest[0]) {
      if (method === "GET") {
        return c.json({
          "@odata.context": `${graphBase(c)}/v1.0/$metadata#subscriptions`,
          value: subs
            .all()
            .filter(own)
            .map((s) => renderSubscription(s, graphBase(c))),
        });
      }
      if (method !== "POST") return graphError(c, 405, "BadRequest", "Method not allowed.");
      const body = await readJson();
      if (!body) return badRequest(c, "Invalid JSON payload.", "InvalidRequest");
      for (const field of ["changeType", "notificationUrl", "resource", "expirationDateTime"]) {
        if (typeof body[field] !== "string" || !body[field])
          return badRequest(c, `${field} is a required property for subscription creation.`, "InvalidRequest");
      }
      const changeType = String(body["changeType"]);
      if (!changeType.split(",").every((x) => ["created", "updated", "deleted"].includes(x.trim()))) {
        return badRequest(c, `'${changeType}' is not a valid change type.`, "InvalidRequest");
      }
      const clientState = typeof body["clientState"] === "string" ? body["clientState"] : null;
      if (clientState && clientState.length > 128)
        return badRequest(c, "clientState must be 128 characters or fewer.", "InvalidRequest");
      const includeResourceData = body["includeResourceData"] === true;
      const expiry = Date.parse(String(body["expirationDateTime"]));
      const problem = expiryProblem(expiry, includeResourceData);
      if (problem) return badRequest(c, problem, "InvalidRequest");
      const urls = [
        String(body["notificationUrl"]),
        ...(typeof body["lifecycleNotificationUrl"] === "string" ? [body["lifecycleNotificationUrl"]] : []),
      ];
      for (const url of urls) {
        let u: URL;
        try {
          u = new URL(url);
        } catch {
          return badRequest(c, "Invalid notification url.", "InvalidRequest");
        }
        const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
        if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
          return badRequest(
            c,
            "The Notification Url must use HTTPS (plain HTTP is accepted on loopback only).",
            "InvalidRequest",
          );
        }
      }
      const target = resolveResource(token, String(body["resource"]));
      if (target === "denied") return accessDenied(c);
      if (typeof target === "string") return badRequest(c, target, "ExtensionError");
      if (!allowed(token, target, "read")) return accessDenied(c);
      for (const url of urls) {
        const outcome = await validateEndpoint(url, g.validationTimeoutMs);
        if (!outcome.ok) {
          return outcome.reason === "timeout"
            ? badRequest(c, "Subscription validation request timed out.", "InvalidRequest")
            : badRequest(
                c,
                outcome.status && outcome.status !== 200
                  ? `Subscription validation request failed. HTTP status code is '${outcome.status}'. Notification endpoint must respond with 200 OK to validation request.`
                  : "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
                "ValidationError",
              );
        }
      }
      const segs = odataSegments(String(body["resource"]).split("?")[0]!);
      const folderSeg = segs.findIndex((s) => s.toLowerCase() === "mailfolders");
      const folderId = folderSeg >= 0 ? target.mailbox.folder(segs[folderSeg + 1]!)!.id : null;
      const s: SubscriptionState = {
        id: randomUUID(),
        resource: String(body["resource"]),
        mailbox: target.mailbox.address,
        folderId,
        changeType,
        notificationUrl: String(body["notificationUrl"]),
        lifecycleNotificationUrl:
          typeof body["lifecycleNotificationUrl"] === "string" ? body["lifecycleNotificationUrl"] : null,
        clientState,
        expirationDateTime: expiry,
        applicationId: token.clientId,
        creatorId: directory.get(token.account)?.id ?? "",
        creatorAccount: token.account,
        includeResourceData,
        latestSupportedTlsVersion:
          typeof body["latestSupportedTlsVersion"] === "string" ? body["latestSupportedTlsVersion"] : "v1_2",
        immutableIds: preferences(c).immutableIds,
        reauthorizationRequired: false,
      };
      subs.add(s);
      return c.json(renderSubscription(s, graphBase(c)), 201);
    }
    const s = subs.active(rest[0]);
    if (!s || !own(s)) return graphError(c, 404, "ResourceNotFound", `The object was not found.`);
    if (rest[1]?.toLowerCase() === "reauthorize" && method === "POST") {
      s.reauthorizationRequired = false;
      return c.body(null, 204);
    }
    if (rest[1]) return graphError(c, 400, "BadRequest", "Unsupported segment.");
    if (method === "GET") return c.json(renderSubscription(s, graphBase(c)));
    if (method === "DELETE") {
      subs.remove(s.id);
      return c.body(null, 204);
    }
    if (method === "PATCH") {
      const body = await readJson();
      if (!body) return badRequest(c, "Invalid JSON payload.", "InvalidRequest");
      if (body["lifecycleNotificationUrl"] !== undefined) {
        return badRequest(
          c,
          "lifecycleNotificationUrl cannot be updated; recreate the subscription.",
          "InvalidRequest",
        );
      }
      if (body["expirationDateTime"] !== undefined) {
        const expiry = Date.parse(String(body["expirationDateTime"]));
        const problem = expiryProblem(expiry, s.includeResourceData);
        if (problem) return badRequest(c, problem, "InvalidRequest");
        s.expirationDateTime = expiry;
        s.reauthorizationRequired = false;
      }
      ctx.mailboxes.events.emit("changed");
      return c.json(renderSubscription(s, graphBase(c)));
    }
    return graphError(c, 405, "BadRequest", "Method not allowed.");
  };

  app.all("/graph/v1.0/*", async (c) => {
    const token = authenticate(c);
    if (!token) return unauthenticated(c);
    const segs = odataSegments(c.req.path.slice("/graph/v1.0".length));
    const first = segs[0]?.toLowerCase();
    if (first === "subscriptions") return subscriptionsApi(c, token, segs.slice(1));
    let identity: Identity | undefined;
    let userSegment: string;
    let rest: string[];
    if (first === "me") {
      identity = directory.get(token.account);
      userSegment = "me";
      rest = segs.slice(1);
    } else if (first === "users" && segs[1]) {
      identity = directory.get(segs[1]) ?? directory.byId(segs[1]);
      userSegment = `users/${encodeURIComponent(segs[1])}`;
      rest = segs.slice(2);
      if (!identity || identity.provider !== "microsoft") {
        return graphError(c, 404, "ErrorInvalidUser", `The requested user '${segs[1]}' is invalid.`);
      }
    } else {
      return graphError(c, 400, "BadRequest", `Resource not found for the segment '${segs[0] ?? ""}'.`);
    }
    const mailbox = identity ? ctx.mailboxes.graph(identity.address) : undefined;
    if (!identity || !mailbox)
      return graphError(
        c,
        404,
        "MailboxNotEnabledForRESTAPI",
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
      );
    const delegate = identity.address !== token.account;
    if (delegate && !directory.delegatedMailboxes(token.account).some((i) => i.address === identity!.address)) {
      return accessDenied(c);
    }
    const target: Target = { identity, mailbox, delegate, userSegment };

    const g = ctx.tunables.graph;
    const key = `${token.clientId}|${mailbox.address}`;
    const taken = ctx.quotas.graph.take(key, 1, g.requestsPerWindow, g.windowMs);
    if (!taken.ok) return throttled(c, Math.max(1, Math.ceil(taken.retryAfterMs / 1000)));
    if (!ctx.quotas.graphGate.tryEnter(key, g.concurrencyPerMailbox)) return throttled(c, 1);
    try {
      const latency = ctx.faults.takeLatency("graph", c.req.path);
      if (latency) await new Promise((r) => setTimeout(r, latency));
      return await handleMailbox(c, token, target, rest);
    } finally {
      ctx.quotas.graphGate.leave(key);
    }
  });

  app.get("/graph/oidc/userinfo", (c) => {
    const token = authenticate(c);
    if (!token) return unauthenticated(c);
    const i = directory.get(token.account)!;
    return c.json({
      sub: i.id,
      name: i.displayName,
      family_name: i.familyName,
      given_name: i.givenName,
      picture: `${graphBase(c)}/v1.0/me/photo/$value`,
      email: i.address,
    });
  });

  return app;
}
