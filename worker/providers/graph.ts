/**
 * Microsoft Graph v1.0 client: identity checks for the connect flow, and what mail sync needs (mail
 * folders, per-folder delta, raw MIME, change-notification subscriptions). Every request asks for
 * immutable ids, so a message keeps its id when it moves between folders. Calls go to `/me` for the
 * mailbox's own grant and to `/users/{address}` for a delegate's. Sync calls return values, never
 * throw for an HTTP failure, and say whether a failure is worth retrying and after how long.
 */
import { z } from "zod";
import { requestJson, type HttpResult } from "./http";

const userSchema = z.object({
  id: z.string(),
  mail: z.string().nullable().optional(),
  userPrincipalName: z.string().optional(),
});

const folderSchema = z.object({
  id: z.string().min(1),
  displayName: z.string().optional().default(""),
  childFolderCount: z.number().optional(),
});
export type GraphFolder = z.infer<typeof folderSchema>;
const folderPageSchema = z.object({
  value: z.array(folderSchema),
  "@odata.nextLink": z.string().optional(),
});

const deltaItemSchema = z.object({
  id: z.string().min(1),
  "@removed": z.object({ reason: z.string().optional() }).optional(),
});
const deltaPageSchema = z.object({
  value: z.array(deltaItemSchema),
  "@odata.nextLink": z.string().optional(),
  "@odata.deltaLink": z.string().optional(),
});
/** One page of a delta round: exactly one of `nextLink` and `deltaLink` is set. */
export interface DeltaPage {
  /** Items present in the folder (created, updated, or moved in). */
  present: string[];
  /** Items gone from the folder (deleted, or moved out). */
  removed: string[];
  nextLink: string | null;
  deltaLink: string | null;
}

const listPageSchema = z.object({
  value: z.array(z.object({ id: z.string().min(1) })),
  "@odata.nextLink": z.string().optional(),
});

const messageMetaSchema = z.object({
  id: z.string().min(1),
  conversationId: z.string().nullable().optional(),
  receivedDateTime: z.string().nullable().optional(),
  parentFolderId: z.string().nullable().optional(),
});
export type GraphMessageMeta = z.infer<typeof messageMetaSchema>;

const draftSchema = z.object({
  id: z.string().min(1),
  internetMessageId: z.string().min(3),
  conversationId: z.string().nullable().optional(),
});
export type GraphDraft = z.infer<typeof draftSchema>;

function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

const subscriptionSchema = z.object({
  id: z.string().min(1),
  expirationDateTime: z.string(),
  resource: z.string().optional(),
});
export type GraphSubscription = z.infer<typeof subscriptionSchema>;

export type GraphFailure = {
  ok: false;
  kind: "auth" | "rate_limited" | "unavailable" | "not_found" | "delta_expired" | "refused";
  status: number;
  retryAfterMs: number | null;
  /** What Graph said, for logs and for telling a refused expiry apart (never shown to people). */
  code: string | null;
};
export type GraphResult<T> = { ok: true; value: T } | GraphFailure;

/** Graph's own words for an expired delta token, in every casing seen. */
const DELTA_EXPIRED = /syncstatenotfound|syncstateinvalid|resyncrequired/i;

function failure(r: HttpResult<unknown> & { ok: false }): GraphFailure {
  const retryAfter = Number(r.headers?.get("retry-after"));
  const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null;
  const body = r.body as { error?: { code?: unknown } } | null;
  const code = typeof body?.error?.code === "string" ? body.error.code : null;
  const text = typeof r.body === "string" ? r.body : JSON.stringify(r.body ?? "");
  const base = { ok: false as const, status: r.status, retryAfterMs: null, code };
  if (r.status === 429) return { ...base, kind: "rate_limited", retryAfterMs };
  if (r.status === 0 || r.status >= 500) return { ...base, kind: "unavailable", retryAfterMs };
  if (r.status === 410 || (r.status >= 400 && DELTA_EXPIRED.test(text))) return { ...base, kind: "delta_expired" };
  if (r.status === 401) return { ...base, kind: "auth" };
  if (r.status === 404) return { ...base, kind: "not_found" };
  return { ...base, kind: "refused" };
}

/** The delegate's target mailbox, or null when the grant is the mailbox's own (then calls use `/me`). */
export function graphMailboxFor(lease: { address: string; grantEmail: string }): string | null {
  return lease.address.toLowerCase() === lease.grantEmail.toLowerCase() ? null : lease.address.toLowerCase();
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Delta pages per request; Graph's own default is small, and fewer round trips spare the mailbox's quota. */
const DELTA_PAGE_SIZE = 100;
/** Messages per list page; Graph allows up to 1,000 with $top. */
const LIST_PAGE_SIZE = 500;

export class GraphClient {
  readonly #root: string;
  readonly #user: string;
  readonly #mailbox: string | null;

  constructor(
    apiBase: string,
    private readonly accessToken: string,
    /** The mailbox to act on when it is not the signed-in user's own (a shared mailbox through a delegate). */
    mailbox: string | null = null,
  ) {
    this.#root = `${apiBase.replace(/\/$/, "")}/v1.0`;
    this.#user = mailbox ? `/users/${encodeURIComponent(mailbox)}` : "/me";
    this.#mailbox = mailbox;
  }

  /** `/me/messages` or `/users/{address}/messages`: the subscription resource for every folder. */
  get messagesResource(): string {
    return this.#mailbox ? `/users/${this.#mailbox}/messages` : "/me/messages";
  }

  #headers(o: { json?: boolean; prefer?: string } = {}): Record<string, string> {
    return {
      authorization: `Bearer ${this.accessToken}`,
      prefer: ['IdType="ImmutableId"', ...(o.prefer ? [o.prefer] : [])].join(", "),
      ...(o.json ? { "content-type": "application/json" } : {}),
    };
  }

  #get<T>(path: string): Promise<HttpResult<T>> {
    return requestJson<T>(`${this.#root}${path}`, { headers: this.#headers() });
  }

  async #call<T>(
    url: string,
    schema: z.ZodType<T>,
    init: { method?: string; body?: string; prefer?: string } = {},
  ): Promise<GraphResult<T>> {
    // A link from a response is followed only on Graph's own origin: the bearer token goes nowhere else.
    if (!url.startsWith(`${this.#root}/`)) {
      return { ok: false, kind: "refused", status: 0, retryAfterMs: null, code: "foreign_link" };
    }
    const r = await requestJson<unknown>(url, {
      method: init.method ?? "GET",
      body: init.body,
      headers: this.#headers({ json: init.body !== undefined, prefer: init.prefer }),
    });
    if (!r.ok) return failure(r);
    const parsed = schema.safeParse(r.body ?? {});
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, kind: "unavailable", status: 502, retryAfterMs: null, code: "unexpected_shape" };
  }

  /**
   * Sends a complete MIME message from this mailbox (POST sendMail with a base64 MIME body); Graph
   * saves the copy in Sent Items, and the Message-ID we set is kept.
   */
  async sendMime(mime: string): Promise<GraphResult<null>> {
    const bytes = new TextEncoder().encode(mime);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    const r = await requestJson<unknown>(`${this.#root}${this.#user}/sendMail`, {
      method: "POST",
      body: btoa(bin),
      headers: { ...this.#headers(), "content-type": "text/plain" },
    });
    return r.ok ? { ok: true, value: null } : failure(r);
  }

  /**
   * A reply draft to a message (POST createReply): Exchange fills in the threading headers
   * (In-Reply-To, References, Thread-Index) and the conversation, and with immutable ids the draft
   * keeps its id when it moves to Sent Items on send.
   */
  createReply(messageId: string): Promise<GraphResult<GraphDraft>> {
    return this.#call(`${this.#root}${this.#user}/messages/${encodeURIComponent(messageId)}/createReply`, draftSchema, {
      method: "POST",
      body: "{}",
    });
  }

  /** Replaces a draft's recipients, subject and body with exactly the given ones. */
  updateDraft(
    draftId: string,
    fields: { to: string[]; cc: string[]; bcc: string[]; subject: string; text: string },
  ): Promise<GraphResult<GraphDraft>> {
    const list = (addresses: string[]) => addresses.map((address) => ({ emailAddress: { address } }));
    return this.#call(`${this.#root}${this.#user}/messages/${encodeURIComponent(draftId)}`, draftSchema, {
      method: "PATCH",
      body: JSON.stringify({
        toRecipients: list(fields.to),
        ccRecipients: list(fields.cc),
        bccRecipients: list(fields.bcc),
        subject: fields.subject,
        body: { contentType: "text", content: fields.text },
      }),
    });
  }

  /** Adds one file to a draft (a file attachment of at most 3 MB, Graph's limit for one request). */
  addDraftAttachment(
    draftId: string,
    file: { filename: string; contentType: string; data: Uint8Array },
  ): Promise<GraphResult<unknown>> {
    return this.#call(`${this.#root}${this.#user}/messages/${encodeURIComponent(draftId)}/attachments`, z.unknown(), {
      method: "POST",
      body: JSON.stringify({
        "@odata.type": "#microsoft.graph.fileAttachment",
        name: file.filename,
        contentType: file.contentType,
        contentBytes: bytesToBase64(file.data),
      }),
    });
  }

  sendDraft(draftId: string): Promise<GraphResult<unknown>> {
    return this.#call(`${this.#root}${this.#user}/messages/${encodeURIComponent(draftId)}/send`, z.unknown(), {
      method: "POST",
      body: "{}",
    });
  }

  /** Removes a draft that could not be completed, so it does not linger in the mailbox's Drafts. */
  deleteMessage(messageId: string): Promise<GraphResult<unknown>> {
    return this.#call(`${this.#root}${this.#user}/messages/${encodeURIComponent(messageId)}`, z.unknown(), {
      method: "DELETE",
    });
  }

  async me(): Promise<{ ok: true; id: string; address: string } | { ok: false; status: number }> {
    const r = await this.#get<unknown>("/me?$select=id,mail,userPrincipalName");
    if (!r.ok) return { ok: false, status: r.status };
    const u = userSchema.safeParse(r.body);
    if (!u.success) return { ok: false, status: 502 };
    return { ok: true, id: u.data.id, address: (u.data.mail ?? u.data.userPrincipalName ?? "").toLowerCase() };
  }

  /** Whether the signed-in delegate can read another mailbox (a Microsoft 365 shared mailbox). */
  async canReadMailbox(address: string): Promise<boolean> {
    const r = await this.#get<unknown>(`/users/${encodeURIComponent(address)}/mailFolders/inbox?$select=id`);
    return r.ok;
  }

  /** Every mail folder, child folders included (Graph lists only the top level unless asked). */
  async listFolders(): Promise<GraphResult<GraphFolder[]>> {
    const out: GraphFolder[] = [];
    const pending = [`${this.#root}${this.#user}/mailFolders?$top=100&includeHiddenFolders=true`];
    for (let url = pending.pop(); url; url = pending.pop()) {
      const page = await this.#call(url, folderPageSchema);
      if (!page.ok) return page;
      for (const f of page.value.value) {
        out.push(f);
        if ((f.childFolderCount ?? 0) > 0) {
          pending.push(`${this.#root}${this.#user}/mailFolders/${encodeURIComponent(f.id)}/childFolders?$top=100`);
        }
      }
      if (page.value["@odata.nextLink"]) pending.push(page.value["@odata.nextLink"]);
      // A runaway listing (a link that loops) must not hold the mailbox's sync forever.
      if (out.length > 5_000) break;
    }
    return { ok: true, value: out };
  }

  /** The id of a well-known folder (`junkemail`, `deleteditems`, `sentitems`, ...); not_found when absent. */
  async wellKnownFolderId(name: string): Promise<GraphResult<string>> {
    const r = await this.#call(
      `${this.#root}${this.#user}/mailFolders/${encodeURIComponent(name)}?$select=id`,
      z.object({ id: z.string().min(1) }),
    );
    return r.ok ? { ok: true, value: r.value.id } : r;
  }

  /**
   * The first page of a new delta round for one folder. Query options only count on the first
   * request (Graph encodes them into the tokens), so the window goes here and never on a link.
   */
  startDelta(folderId: string, receivedSince: number | null): Promise<GraphResult<DeltaPage>> {
    let url = `${this.#root}${this.#user}/mailFolders/${encodeURIComponent(folderId)}/messages/delta?$select=id`;
    if (receivedSince !== null) url += `&$filter=${encodeURIComponent(`receivedDateTime ge ${iso(receivedSince)}`)}`;
    return this.followDelta(url);
  }

  /** Follows a nextLink or deltaLink exactly as Graph returned it. */
  async followDelta(link: string): Promise<GraphResult<DeltaPage>> {
    const r = await this.#call(link, deltaPageSchema, { prefer: `odata.maxpagesize=${DELTA_PAGE_SIZE}` });
    if (!r.ok) return r;
    const next = r.value["@odata.nextLink"] ?? null;
    const delta = next ? null : (r.value["@odata.deltaLink"] ?? null);
    if (!next && !delta) {
      return { ok: false, kind: "unavailable", status: 502, retryAfterMs: null, code: "no_link" };
    }
    return {
      ok: true,
      value: {
        present: r.value.value.filter((i) => !i["@removed"]).map((i) => i.id),
        removed: r.value.value.filter((i) => i["@removed"]).map((i) => i.id),
        nextLink: next,
        deltaLink: delta,
      },
    };
  }

  /**
   * One page of a folder's message ids received since a time (or a nextLink to follow): the full
   * listing that covers what a capped filtered delta round leaves out.
   */
  async listFolderIds(
    from: { folderId: string; receivedSince: number | null } | { link: string },
  ): Promise<GraphResult<{ ids: string[]; nextLink: string | null }>> {
    let url: string;
    if ("link" in from) url = from.link;
    else {
      url = `${this.#root}${this.#user}/mailFolders/${encodeURIComponent(from.folderId)}/messages?$select=id&$top=${LIST_PAGE_SIZE}`;
      if (from.receivedSince !== null)
        url += `&$filter=${encodeURIComponent(`receivedDateTime ge ${iso(from.receivedSince)}`)}`;
    }
    const r = await this.#call(url, listPageSchema);
    if (!r.ok) return r;
    return { ok: true, value: { ids: r.value.value.map((m) => m.id), nextLink: r.value["@odata.nextLink"] ?? null } };
  }

  getMessageMeta(id: string): Promise<GraphResult<GraphMessageMeta>> {
    return this.#call(
      `${this.#root}${this.#user}/messages/${encodeURIComponent(id)}?$select=id,conversationId,receivedDateTime,parentFolderId`,
      messageMetaSchema,
    );
  }

  /** The message as RFC 822 bytes. */
  async getMime(id: string): Promise<GraphResult<Uint8Array>> {
    let res: Response;
    try {
      res = await fetch(`${this.#root}${this.#user}/messages/${encodeURIComponent(id)}/$value`, {
        headers: this.#headers(),
        signal: AbortSignal.timeout(30_000),
      });
    } catch {
      return { ok: false, kind: "unavailable", status: 0, retryAfterMs: null, code: null };
    }
    if (!res.ok) {
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      return failure({ ok: false, status: res.status, body, headers: res.headers });
    }
    return { ok: true, value: new Uint8Array(await res.arrayBuffer()) };
  }

  createSubscription(o: {
    notificationUrl: string;
    clientState: string;
    expiresAt: number;
  }): Promise<GraphResult<GraphSubscription>> {
    return this.#call(`${this.#root}/subscriptions`, subscriptionSchema, {
      method: "POST",
      body: JSON.stringify({
        changeType: "created,updated",
        notificationUrl: o.notificationUrl,
        lifecycleNotificationUrl: o.notificationUrl,
        resource: this.messagesResource,
        expirationDateTime: new Date(o.expiresAt).toISOString(),
        clientState: o.clientState,
        latestSupportedTlsVersion: "v1_2",
      }),
    });
  }

  /** Moves the expiry; Graph treats this as a reauthorization too. */
  renewSubscription(id: string, expiresAt: number): Promise<GraphResult<GraphSubscription>> {
    return this.#call(`${this.#root}/subscriptions/${encodeURIComponent(id)}`, subscriptionSchema, {
      method: "PATCH",
      body: JSON.stringify({ expirationDateTime: new Date(expiresAt).toISOString() }),
    });
  }

  deleteSubscription(id: string): Promise<GraphResult<unknown>> {
    return this.#call(`${this.#root}/subscriptions/${encodeURIComponent(id)}`, z.unknown(), { method: "DELETE" });
  }
}
