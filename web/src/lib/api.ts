/**
 * The one way the UI talks to the Worker. Every error the server can send has the shape
 * `{ error: { code, message, details? } }`; anything else (a dropped connection, a proxy's HTML page)
 * is turned into the same ApiError so screens handle a single kind of failure.
 */
import type {
  ApiErrorBody,
  AuditEventView,
  ConnectDescription,
  ConnectInviteView,
  ConnectProvider,
  ConnectionView,
  InboxListItem,
  InboxView,
  InvitableRole,
  InviteView,
  MailboxKind,
  Me,
  NoteView,
  SessionView,
  SyncScope,
  SyncStatusView,
  ThreadStatus,
  ThreadSummaryView,
  ThreadView,
  UpdateThreadRequest,
  UserRef,
  UserView,
} from "../../../worker/contracts";
import type {
  CreatePartnerRequest,
  PartnerKeyResult,
  PartnerListView,
  PartnerView,
  UpdatePartnerRequest,
} from "../../../worker/contracts/embed";

/** Server messages are shown as sentences; some arrive without their final full stop. */
const asSentence = (message: string) => (/[.!?]$/.test(message.trim()) ? message.trim() : `${message.trim()}.`);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(asSentence(message));
    this.name = "ApiError";
  }

  /** Seconds to wait before trying again, when the server rate-limited the request. */
  get retryAfterSeconds(): number | null {
    const d = this.details;
    if (typeof d === "object" && d !== null && "retryAfterSeconds" in d) {
      const s = (d as { retryAfterSeconds: unknown }).retryAfterSeconds;
      if (typeof s === "number" && Number.isFinite(s) && s > 0) return Math.ceil(s);
    }
    return null;
  }

  /** Field-level problems of a 400 `invalid_request`, keyed by field path. */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.code !== "invalid_request" || !Array.isArray(this.details)) return out;
    for (const item of this.details as unknown[]) {
      if (typeof item !== "object" || item === null) continue;
      const { path, message } = item as { path?: unknown; message?: unknown };
      if (typeof path === "string" && typeof message === "string" && !(path in out)) out[path] = message;
    }
    return out;
  }
}

export const NETWORK_ERROR_MESSAGE = "Could not reach Postroom. Check your connection and try again.";

function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const e = (value as { error: unknown }).error;
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "string" &&
    typeof (e as { message?: unknown }).message === "string"
  );
}

type UnauthorizedHandler = (error: ApiError) => void;
let onUnauthorized: UnauthorizedHandler | null = null;

/** The signed-in app registers this so a session that ends mid-use sends the person to sign in. */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler;
}

interface RequestOptions {
  body?: unknown;
  /** Sign-in endpoints answer 401 for reasons that are not "your session ended". */
  ignoreUnauthorized?: boolean;
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError(0, "network_error", NETWORK_ERROR_MESSAGE);
  }
  if (res.status === 204) return undefined as T;
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = isErrorBody(data)
      ? new ApiError(res.status, data.error.code, data.error.message, data.error.details)
      : new ApiError(res.status, "http_error", `Postroom answered with an unexpected error (${res.status}).`);
    if (res.status === 401 && !options.ignoreUnauthorized) onUnauthorized?.(error);
    throw error;
  }
  return data as T;
}

export interface Accepted {
  ok: true;
  message: string;
}

export interface SignedIn {
  ok: true;
  accountId: string;
}

export interface AuditPage {
  events: AuditEventView[];
  nextBefore: string | null;
}

export interface ThreadPage {
  threads: ThreadSummaryView[];
  nextCursor: string | null;
}

export interface ReplyInput {
  inboxId: string;
  to: string[];
  cc: string[];
  text: string;
  /** The thread version the reply was written against; newer messages or notes make the server refuse with 409. */
  baseVersion?: number;
  /** Files uploaded for this message (POST /api/uploads). */
  uploadIds?: string[];
}

/** Which threads a list shows: one inbox, every inbox ("all"), or what is assigned to the caller. */
export type ThreadScope = { inboxId: string } | { view: "all" | "assigned" };

export interface ThreadFilters {
  status?: ThreadStatus;
  unread?: boolean;
  q?: string;
}

/** What the server says when a reply was written against an older version of the thread. */
export interface ThreadChanged {
  version: number;
  messages: ThreadView["messages"];
  notes: NoteView[];
}

/** The team-side state PATCH answers with. */
export type ThreadState = Pick<
  ThreadView,
  "status" | "snoozedUntil" | "assignee" | "tags" | "notes" | "version" | "hidden"
>;
export type { UserRef };

export interface AuditFilter {
  action?: string;
  before?: string;
  limit?: number;
}

const authOnly = { ignoreUnauthorized: true };

export interface Connections {
  connections: ConnectionView[];
  invites: ConnectInviteView[];
  /** The domain "Request a shared address" uses; null when the server offers none. */
  hostedDomain: string | null;
}

/** What to do with an inbox's conversations in Postroom when its mailbox is disconnected. */
export type ThreadsOnDisconnect = "keep" | "delete";

const threadPath = (threadId: string) => `/api/threads/${encodeURIComponent(threadId)}`;
const inboxPath = (inboxId: string) => `/api/connections/${encodeURIComponent(inboxId)}`;
const connectInvitePath = (inviteId: string) => `/api/connections/invites/${encodeURIComponent(inviteId)}`;

export const api = {
  signIn: (email: string) => request<Accepted>("POST", "/api/auth/signin", { body: { email }, ...authOnly }),
  signUp: (email: string, accountName: string) =>
    request<Accepted>("POST", "/api/auth/signup", { body: { email, accountName }, ...authOnly }),
  verify: (token: string) => request<SignedIn>("POST", "/api/auth/verify", { body: { token }, ...authOnly }),
  acceptInvite: (token: string) =>
    request<SignedIn>("POST", "/api/auth/accept-invite", { body: { token }, ...authOnly }),
  /** Starts signing in with a provider; the browser then goes to `authorizeUrl`. */
  oauthSignIn: (provider: ConnectProvider) =>
    request<{ authorizeUrl: string }>("POST", "/api/auth/oauth/start", { body: { provider }, ...authOnly }),
  signOut: () => request<{ ok: true }>("POST", "/api/auth/signout", authOnly),
  signOutEverywhere: () => request<{ ok: true }>("POST", "/api/auth/signout-all"),
  sessions: () => request<{ sessions: SessionView[] }>("GET", "/api/auth/sessions"),
  switchAccount: (accountId: string) => request<SignedIn>("POST", "/api/auth/switch", { body: { accountId } }),

  /** Answers 401 when signed out; the caller decides where to go, so no global redirect. */
  me: () => request<Me>("GET", "/api/me", authOnly),
  users: () => request<{ users: UserView[] }>("GET", "/api/users"),
  changeRole: (userId: string, role: InvitableRole) =>
    request<{ user: UserView }>("PATCH", `/api/users/${encodeURIComponent(userId)}`, { body: { role } }),
  removeUser: (userId: string) => request<void>("DELETE", `/api/users/${encodeURIComponent(userId)}`),

  invites: () => request<{ invites: InviteView[] }>("GET", "/api/invites"),
  invite: (email: string, role: InvitableRole) =>
    request<{ invite: InviteView }>("POST", "/api/invites", { body: { email, role } }),
  resendInvite: (inviteId: string) =>
    request<{ invite: InviteView }>("POST", `/api/invites/${encodeURIComponent(inviteId)}/resend`),
  revokeInvite: (inviteId: string) => request<void>("DELETE", `/api/invites/${encodeURIComponent(inviteId)}`),

  inboxes: () => request<{ inboxes: InboxListItem[] }>("GET", "/api/inboxes"),
  threads: (scope: ThreadScope, filters: ThreadFilters, cursor: string | null, limit = 50) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (cursor) q.set("cursor", cursor);
    if (filters.status) q.set("status", filters.status);
    if (filters.unread) q.set("unread", "true");
    if (filters.q?.trim()) q.set("q", filters.q.trim());
    if ("inboxId" in scope)
      return request<ThreadPage>("GET", `/api/inboxes/${encodeURIComponent(scope.inboxId)}/threads?${q.toString()}`);
    q.set("view", scope.view);
    return request<ThreadPage>("GET", `/api/threads?${q.toString()}`);
  },
  thread: (threadId: string) => request<ThreadView>("GET", threadPath(threadId)),
  reply: (threadId: string, input: ReplyInput) =>
    request<{ messageId: string; threadId: string; version: number }>("POST", `${threadPath(threadId)}/reply`, {
      body: input,
    }),
  forward: (threadId: string, input: ReplyInput) =>
    request<{ messageId: string; threadId: string; version: number }>("POST", `${threadPath(threadId)}/forward`, {
      body: input,
    }),
  newMessage: (
    inboxId: string,
    input: { to: string[]; cc: string[]; subject: string; text: string; uploadIds?: string[] },
  ) =>
    request<{ messageId: string; threadId: string }>("POST", `/api/inboxes/${encodeURIComponent(inboxId)}/messages`, {
      body: input,
    }),
  deleteUpload: (uploadId: string) => request<void>("DELETE", `/api/uploads/${encodeURIComponent(uploadId)}`),
  updateThread: (threadId: string, change: UpdateThreadRequest) =>
    request<ThreadState>("PATCH", threadPath(threadId), { body: change }),
  setTags: (threadId: string, tags: string[]) =>
    request<{ tags: string[] }>("PUT", `${threadPath(threadId)}/tags`, { body: { tags } }),
  addNote: (threadId: string, body: string) =>
    request<{ note: NoteView }>("POST", `${threadPath(threadId)}/notes`, { body: { body } }),
  setRead: (threadId: string, read: boolean) =>
    request<{ read: boolean }>("PUT", `${threadPath(threadId)}/read`, { body: { read } }),
  setHidden: (threadId: string, hidden: boolean) =>
    request<{ hidden: boolean }>(hidden ? "POST" : "DELETE", `${threadPath(threadId)}/hide`),

  connections: () => request<Connections>("GET", "/api/connections"),
  inviteToConnect: (email: string, kind: MailboxKind, windowDays: number, syncScope: SyncScope) =>
    request<{ invite: ConnectInviteView }>("POST", "/api/connections/invites", {
      body: { email, kind, windowDays, syncScope },
    }),
  requestHostedAddress: (localPart: string) =>
    request<{ connection: ConnectionView }>("POST", "/api/connections/hosted", { body: { localPart } }),
  setConnectionSync: (inboxId: string, change: { windowDays?: number; syncScope?: SyncScope }) =>
    request<{ connection: ConnectionView }>("PATCH", inboxPath(inboxId), { body: change }),
  resendConnectInvite: (inviteId: string) =>
    request<{ invite: ConnectInviteView }>("POST", `${connectInvitePath(inviteId)}/resend`),
  revokeConnectInvite: (inviteId: string) => request<void>("DELETE", connectInvitePath(inviteId)),
  sendReconnectLink: (inboxId: string) =>
    request<{ invite: ConnectInviteView }>("POST", `${inboxPath(inboxId)}/reconnect-link`),
  syncStatus: (inboxId: string) => request<SyncStatusView>("GET", `${inboxPath(inboxId)}/sync`),
  disconnect: (inboxId: string, threads: ThreadsOnDisconnect) =>
    request<void>("DELETE", `${inboxPath(inboxId)}?threads=${threads}`),

  /** The public connect page: the invitee has no session, so a 401 never means "signed out". */
  describeConnect: (token: string) =>
    request<ConnectDescription>("POST", "/api/connect/describe", { body: { token }, ...authOnly }),
  startConnect: (token: string, provider: ConnectProvider, acknowledgeShared: boolean) =>
    request<{ authorizeUrl: string }>("POST", "/api/connect/start", {
      body: { token, provider, acknowledgeShared },
      ...authOnly,
    }),

  audit: (filter: AuditFilter = {}) => {
    const q = new URLSearchParams();
    if (filter.action) q.set("action", filter.action);
    q.set("limit", String(filter.limit ?? 50));
    if (filter.before !== undefined) q.set("before", String(filter.before));
    return request<AuditPage>("GET", `/api/audit?${q.toString()}`);
  },

  partners: () => request<PartnerListView>("GET", "/api/partners"),
  registerPartner: (input: CreatePartnerRequest) => request<PartnerKeyResult>("POST", "/api/partners", { body: input }),
  updatePartner: (partnerId: string, change: UpdatePartnerRequest) =>
    request<{ partner: PartnerView }>("PATCH", `/api/partners/${encodeURIComponent(partnerId)}`, { body: change }),
  rotatePartnerKey: (partnerId: string, jwksUrl?: string) =>
    request<PartnerKeyResult>("POST", `/api/partners/${encodeURIComponent(partnerId)}/rotate`, {
      body: jwksUrl ? { jwksUrl } : {},
    }),
  revokePartner: (partnerId: string) =>
    request<{ partner: PartnerView }>("POST", `/api/partners/${encodeURIComponent(partnerId)}/revoke`),

  /** Whether this server runs in development and keeps a browsable outbox of the mail it sends. */
  devOutboxAvailable: async (): Promise<boolean> => {
    try {
      const res = await fetch("/dev/outbox.json", {
        credentials: "same-origin",
        headers: { accept: "application/json" },
      });
      return res.status === 200;
    } catch {
      return false;
    }
  },
};

/** A readable message for anything a request can throw. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return "Something went wrong. Try again.";
}
