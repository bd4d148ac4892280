/**
 * The API contracts shared by the Worker and the web UI: zod schemas, the types inferred from them,
 * and the enums both sides speak. Runtime-neutral on purpose: nothing here may import hono,
 * drizzle-orm or cloudflare:* modules, because the browser bundle imports this file.
 */
import { z } from "zod";

export const ROLES = ["owner", "admin", "member", "light", "contributor"] as const;
export type Role = (typeof ROLES)[number];
/** Roles a person can be invited into; contributors only arise from connecting a mailbox. */
export const INVITABLE_ROLES = ["owner", "admin", "member", "light"] as const;
export type InvitableRole = (typeof INVITABLE_ROLES)[number];

/** RFC 5321 caps a path at 254 characters; the pattern is deliberately plain (no quoted local parts). */
export const emailSchema = z
  .string()
  .trim()
  .max(254)
  // Control characters (NUL included, which \s does not cover) never belong in an address header.
  .regex(
    /^[^\s\x00-\x1f\x7f@<>()",;:\\[\]]+@[^\s\x00-\x1f\x7f@<>()",;:\\[\]]+\.[^\s\x00-\x1f\x7f@<>()",;:\\[\]]+$/,
    "must be an email address",
  )
  .transform((s) => s.toLowerCase());

export const idSchema = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "must be a Postroom id");

export const signInRequest = z.object({ email: emailSchema }).strict();
export const signUpRequest = z.object({ email: emailSchema, accountName: z.string().trim().min(1).max(80) }).strict();
export const verifyLinkRequest = z.object({ token: z.string().min(20).max(200) }).strict();
export const acceptInviteRequest = verifyLinkRequest;
export const switchAccountRequest = z.object({ accountId: idSchema }).strict();

export const createInviteRequest = z
  .object({ email: emailSchema, role: z.enum(INVITABLE_ROLES).default("member") })
  .strict();
export const changeRoleRequest = z.object({ role: z.enum(INVITABLE_ROLES) }).strict();
export const setInboxAccessRequest = z.object({ userIds: z.array(idSchema).max(1000) }).strict();
export const auditQuery = z
  .object({
    action: z.string().max(64).optional(),
    actorUserId: idSchema.optional(),
    /** The `nextBefore` cursor of the previous page: `<createdAt>.<id>`, opaque to clients. */
    before: z
      .string()
      .regex(/^\d{1,16}\.[0-9A-HJKMNP-TV-Z]{26}$/, "must be a nextBefore cursor")
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

export type SignInRequest = z.infer<typeof signInRequest>;
export type SignUpRequest = z.infer<typeof signUpRequest>;
export type CreateInviteRequest = z.input<typeof createInviteRequest>;

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export interface Me {
  user: { id: string; email: string; name: string; role: Role };
  account: { id: string; name: string };
  /** Other accounts the same address belongs to, for the account switcher. */
  otherAccounts: { id: string; name: string }[];
}

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: number;
  lastSignInAt: number | null;
}

export interface InviteView {
  id: string;
  email: string;
  role: InvitableRole;
  status: "pending" | "accepted" | "revoked" | "expired";
  createdAt: number;
  expiresAt: number;
}

export interface SessionView {
  id: string;
  current: boolean;
  createdAt: number;
  lastSeenAt: number;
  ip: string | null;
  userAgent: string | null;
}

export interface InboxView {
  id: string;
  address: string;
  displayName: string;
  provider: "gmail" | "graph" | "hosted";
  kind: "shared" | "personal";
}

/** An inbox in the caller's list: with its health and how many open conversations they have not read. */
export interface InboxListItem extends InboxView {
  health: "good" | "degraded" | "failing";
  /** Open conversations with activity since the caller last read them. */
  unread: number;
}

export interface AuditEventView {
  id: string;
  action: string;
  actorUserId: string | null;
  actorEmail: string | null;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
}

export const MAILBOX_KINDS = ["shared", "personal"] as const;
export type MailboxKind = (typeof MAILBOX_KINDS)[number];
export const CONNECT_PROVIDERS = ["google", "microsoft"] as const;
export type ConnectProvider = (typeof CONNECT_PROVIDERS)[number];
export const HEALTH_REASONS = [
  "invalid_grant",
  "mfa_required",
  "consent_revoked",
  "missing_scope",
  "provider_unavailable",
  "push_lapsed",
  "rate_limited",
  "send_failed",
] as const;
export type HealthReason = (typeof HEALTH_REASONS)[number];

/** Days of history a mailbox's sync covers; 0 = all of it. */
export const SYNC_WINDOWS = [7, 30, 90, 0] as const;
export const syncWindowSchema = z.union(
  SYNC_WINDOWS.map((d) => z.literal(d)) as [z.ZodLiteral<7>, z.ZodLiteral<30>, z.ZodLiteral<90>, z.ZodLiteral<0>],
);
/** Which folders sync covers: every one but spam/junk and trash (the default), or only the inbox and sent mail. */
export const SYNC_SCOPES = ["all", "inbox_sent"] as const;
export type SyncScope = (typeof SYNC_SCOPES)[number];
export const createConnectInviteRequest = z
  .object({
    email: emailSchema,
    kind: z.enum(MAILBOX_KINDS),
    windowDays: syncWindowSchema.default(30),
    syncScope: z.enum(SYNC_SCOPES).default("all"),
  })
  .strict();
export const updateConnectionRequest = z
  .object({ windowDays: syncWindowSchema.optional(), syncScope: z.enum(SYNC_SCOPES).optional() })
  .strict()
  .refine((b) => b.windowDays !== undefined || b.syncScope !== undefined, "windowDays or syncScope is required");
export const describeConnectRequest = verifyLinkRequest;
export const startConnectRequest = z
  .object({
    token: z.string().min(20).max(200),
    provider: z.enum(CONNECT_PROVIDERS),
    /** Required when a personal mailbox is connected as shared. */
    acknowledgeShared: z.boolean().default(false),
  })
  .strict();
/** A hosted shared address: the local part on the server's hosted domain (checked further by the server). */
export const requestHostedAddressRequest = z
  .object({ localPart: z.string().trim().min(1, "enter the part before the @").max(64) })
  .strict();
export type RequestHostedAddressRequest = z.input<typeof requestHostedAddressRequest>;
export const deleteConnectionQuery = z.object({ threads: z.enum(["keep", "delete"]) }).strict();

export interface ConnectInviteView {
  id: string;
  email: string;
  kind: MailboxKind;
  reconnectOf: string | null;
  windowDays: number;
  syncScope: SyncScope;
  status: "pending" | "used" | "revoked" | "expired";
  createdAt: number;
  expiresAt: number;
}

export interface ConnectionView extends InboxView {
  health: "good" | "degraded" | "failing";
  healthReason: HealthReason | null;
  healthDetail: string | null;
  healthChangedAt: number | null;
  grantEmail: string | null;
  connectedAt: number | null;
  /** Days of history sync covers; 0 = all of it. */
  windowDays: number;
  syncScope: SyncScope;
  /** Set when disconnected with its conversations kept: a read-only archive until reconnected. */
  disconnectedAt: number | null;
}

/** What the public connect page shows before the invitee chooses a provider. */
export interface ConnectDescription {
  /** The mailbox being connected (or repaired). */
  address: string;
  /** Who should sign in at the provider: the mailbox itself, or the delegate a reconnect link went to. */
  signInAs: string;
  kind: MailboxKind;
  accountName: string;
  invitedBy: string;
  reconnect: boolean;
  /** Who will be able to read and send from the address once it is connected. */
  audience: string;
}

/** Sync progress of one inbox, for the connections screen. */
export interface SyncStatusView {
  phase: "idle" | "backfilling" | "live" | "recovering" | "failing";
  backfill: { done: number; total: number; enumerated: boolean; etaSeconds: number | null };
  lastSyncAt: number | null;
  /** Messages that could not be fetched or parsed, with the reason, newest first. */
  skipped: { providerMessageId: string; reason: string; detail: string; at: number }[];
  skippedCount: number;
  /** Messages of this mailbox stored in Postroom, however they came (backfill, push, polling). */
  storedCount: number;
}

export const THREAD_STATUSES = ["open", "pending", "snoozed", "closed"] as const;
export type ThreadStatus = (typeof THREAD_STATUSES)[number];

/** A tag: a short label, compared without regard to case (stored lower-cased). */
export const tagSchema = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} _./-]*$/u, "letters, digits, spaces and _ . / - only")
  .transform((t) => t.toLowerCase());

export const threadListQuery = z
  .object({
    /** The `nextCursor` of the previous page. */
    cursor: z
      .string()
      .regex(/^\d{1,16}\.[0-9A-HJKMNP-TV-Z]{26}$/, "must be a nextCursor value")
      .optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    status: z.enum(THREAD_STATUSES).optional(),
    /** "me", "none" (unassigned) or a user id. */
    assignee: z.union([z.enum(["me", "none"]), idSchema]).optional(),
    tag: tagSchema.optional(),
    unread: z.enum(["true", "false"]).optional(),
    /** Search: words, "phrases" and operators (from:, to:, subject:, has:attachment, is:, assignee:, tag:, in:). */
    q: z.string().max(500).optional(),
  })
  .strict();

/** Every inbox the caller may use: all of them, or only the threads assigned to the caller. */
export const allThreadsQuery = threadListQuery.extend({ view: z.enum(["all", "assigned"]).default("all") }).strict();

export interface UserRef {
  id: string;
  email: string;
  name: string;
}

export interface ThreadSummaryView {
  id: string;
  subject: string;
  snippet: string;
  lastMessageAt: number;
  messageCount: number;
  /** The newest message's sender, for the list row. */
  from: { name: string; address: string } | null;
  /** As it is now: a snooze that ran out reads "open". */
  status: ThreadStatus;
  snoozedUntil: number | null;
  assignee: UserRef | null;
  tags: string[];
  /** Activity since the caller last read it. */
  unread: boolean;
  /** The inboxes (among those the caller may use) it is listed in. */
  inboxIds: string[];
}

export const updateThreadRequest = z
  .object({
    status: z.enum(THREAD_STATUSES).optional(),
    /** Required with status "snoozed": when it comes back (ms since the epoch, in the future). */
    snoozedUntil: z.number().int().positive().optional(),
    /** null unassigns. */
    assigneeId: idSchema.nullable().optional(),
  })
  .strict()
  .refine((b) => b.status !== undefined || b.assigneeId !== undefined, "status or assigneeId is required")
  .refine((b) => (b.status === "snoozed") === (b.snoozedUntil !== undefined), {
    message: "snoozedUntil goes with status snoozed, and only with it",
    path: ["snoozedUntil"],
  });
export type UpdateThreadRequest = z.input<typeof updateThreadRequest>;

export const setTagsRequest = z.object({ tags: z.array(tagSchema).max(20) }).strict();
export const createNoteRequest = z.object({ body: z.string().trim().min(1).max(20_000) }).strict();
export const setReadRequest = z.object({ read: z.boolean() }).strict();

/** Who wrote a reply or note in a partner site's embedded inbox, as the thread shows it. */
export interface SentVia {
  partnerId: string;
  partnerName: string;
  userName: string;
}

export interface NoteView {
  id: string;
  author: UserRef;
  body: string;
  mentions: UserRef[];
  createdAt: number;
  /** Written in a partner's embedded inbox (the author is then the partner's user, not a teammate). */
  via?: SentVia | null;
}

export interface MessageView {
  id: string;
  from: { name: string; address: string } | null;
  to: { name: string; address: string }[];
  cc: { name: string; address: string }[];
  subject: string;
  sentAt: number | null;
  receivedAt: number;
  text: string;
  hasHtml: boolean;
  isAutomated: boolean;
  isBounce: boolean;
  attachments: { id: string; filename: string; mimeType: string; sizeBytes: number; inline: boolean }[];
  /** A reply written in a partner site's embedded inbox. */
  sentVia: SentVia | null;
}

export interface ThreadView {
  id: string;
  subject: string;
  /** The inboxes (among those the caller may use) this conversation belongs to. */
  inboxes: { id: string; address: string; kind: MailboxKind }[];
  messages: MessageView[];
  /** Internal notes, oldest first (the UI interleaves them with the messages by time). */
  notes: NoteView[];
  status: ThreadStatus;
  snoozedUntil: number | null;
  assignee: UserRef | null;
  tags: string[];
  /** Bumped by each new message or note: send it back with a reply to be told about what is new. */
  version: number;
  hidden: boolean;
  /** Who may be assigned or mentioned: the teammates who can see this conversation. */
  teammates: UserRef[];
}

/** No CR, LF or NUL may reach a header we write. */
const headerSafe = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !/[\r\n\0]/.test(s), "must not contain line breaks or NUL");

/** Files a user uploaded for a message they are writing (POST /api/uploads), attached on send. */
import { MAX_MESSAGE_FILES, MAX_UPLOAD_FILE_BYTES } from "./limits";
export { MAX_MESSAGE_FILE_BYTES, MAX_MESSAGE_FILES, MAX_UPLOAD_FILE_BYTES } from "./limits";
const uploadIds = z.array(idSchema).max(MAX_MESSAGE_FILES).default([]);

export const uploadRequest = z.object({
  file: z.file().meta({ description: `One file, at most ${MAX_UPLOAD_FILE_BYTES} bytes` }),
});
export const uploadView = z.object({
  id: idSchema,
  filename: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  /** Epoch ms after which the upload can no longer be attached. */
  expiresAt: z.number().int(),
});
export type UploadView = z.infer<typeof uploadView>;

export const sendReplyRequest = z
  .object({
    /** The inbox whose address sends (it must be one of the thread's inboxes). */
    inboxId: idSchema,
    to: z.array(emailSchema).min(1).max(50),
    cc: z.array(emailSchema).max(50).default([]),
    bcc: z.array(emailSchema).max(50).default([]),
    /** Defaults to "Re: " and the conversation's subject. */
    subject: headerSafe(998).optional(),
    text: z.string().min(1).max(200_000),
    /** The message being answered; the newest one by default. */
    replyToMessageId: idSchema.optional(),
    /**
     * The thread version the reply was written against (ThreadView.version). When messages or notes
     * arrived since, the send is refused with 409 and them, so nobody answers blind.
     */
    baseVersion: z.number().int().nonnegative().optional(),
    /** Files uploaded by the sender (POST /api/uploads) to attach. */
    uploadIds,
  })
  .strict();
export type SendReplyRequest = z.input<typeof sendReplyRequest>;

/** Forwards one message of a conversation (the newest by default) with its attachments. */
export const forwardRequest = z
  .object({
    inboxId: idSchema,
    to: z.array(emailSchema).min(1).max(50),
    cc: z.array(emailSchema).max(50).default([]),
    bcc: z.array(emailSchema).max(50).default([]),
    /** A note above the forwarded message; may be empty. */
    text: z.string().max(200_000).default(""),
    messageId: idSchema.optional(),
    baseVersion: z.number().int().nonnegative().optional(),
    uploadIds,
  })
  .strict();
export type ForwardRequest = z.input<typeof forwardRequest>;

/** A new conversation, sent from an inbox. */
export const newMessageRequest = z
  .object({
    to: z.array(emailSchema).min(1).max(50),
    cc: z.array(emailSchema).max(50).default([]),
    bcc: z.array(emailSchema).max(50).default([]),
    subject: headerSafe(998).pipe(z.string().trim().min(1, "a subject is required")),
    text: z.string().min(1).max(200_000),
    uploadIds,
  })
  .strict();
export type NewMessageRequest = z.input<typeof newMessageRequest>;
