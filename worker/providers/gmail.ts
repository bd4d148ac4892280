/**
 * Gmail API v1 client: only what sync and sending need. Every call returns a value, never throws
 * for an HTTP failure, and says whether the failure is worth retrying and after how long.
 */
import { z } from "zod";
import { requestJson, type HttpResult } from "./http";

const profileSchema = z.object({
  emailAddress: z.string(),
  messagesTotal: z.number().optional(),
  threadsTotal: z.number().optional(),
  historyId: z.string(),
});
export type GmailProfile = z.infer<typeof profileSchema>;

const listSchema = z.object({
  // Gmail omits `messages` entirely when nothing matches.
  messages: z.array(z.object({ id: z.string(), threadId: z.string() })).optional(),
  nextPageToken: z.string().optional(),
  resultSizeEstimate: z.number().optional(),
});

const rawMessageSchema = z.object({
  id: z.string(),
  threadId: z.string(),
  labelIds: z.array(z.string()).optional(),
  historyId: z.string().optional(),
  internalDate: z.string().optional(),
  sizeEstimate: z.number().optional(),
  raw: z.string(),
});
export type GmailRawMessage = z.infer<typeof rawMessageSchema>;
const labelsSchema = z.object({ id: z.string(), labelIds: z.array(z.string()).optional() });

const historyRef = z.object({
  message: z.object({ id: z.string(), threadId: z.string().optional(), labelIds: z.array(z.string()).optional() }),
  /** On labelsAdded / labelsRemoved: the labels that changed. */
  labelIds: z.array(z.string()).optional(),
});
const historySchema = z.object({
  history: z
    .array(
      z.object({
        id: z.string(),
        messagesAdded: z.array(historyRef).optional(),
        messagesDeleted: z.array(historyRef).optional(),
        labelsAdded: z.array(historyRef).optional(),
        labelsRemoved: z.array(historyRef).optional(),
      }),
    )
    .optional(),
  historyId: z.string(),
  nextPageToken: z.string().optional(),
});
export type GmailHistoryPage = z.infer<typeof historySchema>;

const watchSchema = z.object({ historyId: z.string(), expiration: z.string() });
const sendSchema = z.object({ id: z.string(), threadId: z.string(), labelIds: z.array(z.string()).optional() });

export type GmailFailure = {
  ok: false;
  kind: "auth" | "rate_limited" | "unavailable" | "not_found" | "history_expired" | "refused";
  status: number;
  retryAfterMs: number | null;
};
export type GmailResult<T> = { ok: true; value: T } | GmailFailure;

function failure(r: HttpResult<unknown> & { ok: false }, path: string): GmailFailure {
  const retryAfter = Number(r.headers?.get("retry-after"));
  const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : null;
  const reason = JSON.stringify(r.body ?? "");
  if (r.status === 0 || r.status >= 500) return { ok: false, kind: "unavailable", status: r.status, retryAfterMs };
  if (r.status === 429 || (r.status === 403 && /rateLimitExceeded|userRateLimitExceeded/.test(reason))) {
    return { ok: false, kind: "rate_limited", status: r.status, retryAfterMs };
  }
  if (r.status === 401) return { ok: false, kind: "auth", status: r.status, retryAfterMs: null };
  if (r.status === 404) {
    return {
      ok: false,
      kind: path.startsWith("/history") ? "history_expired" : "not_found",
      status: 404,
      retryAfterMs: null,
    };
  }
  return { ok: false, kind: "refused", status: r.status, retryAfterMs: null };
}

export const GMAIL_EXCLUDED_LABELS = ["SPAM", "TRASH"] as const;

export class GmailClient {
  constructor(
    private readonly apiBase: string,
    private readonly accessToken: string,
  ) {}

  async #call<T>(path: string, schema: z.ZodType<T>, init: RequestInit = {}): Promise<GmailResult<T>> {
    const r = await requestJson<unknown>(`${this.apiBase}/gmail/v1/users/me${path}`, {
      ...init,
      headers: { authorization: `Bearer ${this.accessToken}`, "content-type": "application/json", ...init.headers },
    });
    if (!r.ok) return failure(r, path);
    const parsed = schema.safeParse(r.body ?? {});
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, kind: "unavailable", status: 502, retryAfterMs: null };
  }

  getProfile(): Promise<GmailResult<GmailProfile>> {
    return this.#call("/profile", profileSchema);
  }

  /** One page of message ids, newest first; spam and trash are excluded unless asked for. */
  listMessages(o: { q?: string; pageToken?: string; maxResults?: number }) {
    const p = new URLSearchParams({ maxResults: String(o.maxResults ?? 500) });
    if (o.q) p.set("q", o.q);
    if (o.pageToken) p.set("pageToken", o.pageToken);
    return this.#call(`/messages?${p}`, listSchema);
  }

  getRaw(id: string): Promise<GmailResult<GmailRawMessage>> {
    return this.#call(`/messages/${encodeURIComponent(id)}?format=raw`, rawMessageSchema);
  }

  /** Labels only (format=minimal): whether a message is still in the mailbox, and where. */
  getLabels(id: string) {
    return this.#call(`/messages/${encodeURIComponent(id)}?format=minimal`, labelsSchema);
  }

  history(o: { startHistoryId: string; pageToken?: string }) {
    const p = new URLSearchParams({ startHistoryId: o.startHistoryId, maxResults: "500" });
    p.append("historyTypes", "messageAdded");
    p.append("historyTypes", "labelAdded");
    p.append("historyTypes", "labelRemoved");
    p.append("historyTypes", "messageDeleted");
    if (o.pageToken) p.set("pageToken", o.pageToken);
    return this.#call(`/history?${p}`, historySchema);
  }

  watch(topicName: string) {
    return this.#call(`/watch`, watchSchema, {
      method: "POST",
      // No label filter: moving mail into spam or trash must reach the mailbox promptly too.
      body: JSON.stringify({ topicName }),
    });
  }

  stop() {
    return this.#call(`/stop`, z.unknown(), { method: "POST" });
  }

  send(raw: string, threadId?: string) {
    return this.#call(`/messages/send`, sendSchema, {
      method: "POST",
      body: JSON.stringify({ raw, ...(threadId ? { threadId } : {}) }),
    });
  }
}

/** Gmail's raw is base64url; R2 and postal-mime want bytes. */
export function decodeRaw(raw: string): Uint8Array {
  const b64 = raw.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
