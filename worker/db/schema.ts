/**
 * The D1 schema: the single source of truth for `migrations/` (drizzle-kit generate).
 *
 * Every tenant-owned row carries `account_id`, and every unique index starts with it, so a query
 * that forgets the tenant cannot silently match another account's row. Ids are ULIDs: unguessable,
 * and sortable by creation time for keyset pagination. Times are epoch milliseconds.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const accounts = sqliteTable(
  "accounts",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
    /**
     * The account's number in the search index: its threads' seq values (and so its search rows)
     * occupy one block of numbers, so a search reads only this account's part of the index. Set by
     * a trigger on insert (migrations/0015_search_by_account.sql).
     */
    searchNo: integer("search_no"),
  },
  (t) => [uniqueIndex("accounts_search_no").on(t.searchNo)],
);

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    /** Lower-cased; the address a person signs in with. */
    email: text("email").notNull(),
    name: text("name").notNull().default(""),
    role: text("role", { enum: ["owner", "admin", "member", "light", "contributor"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    lastSignInAt: integer("last_sign_in_at"),
    /** Removed users keep their row so past assignments and audit entries still resolve. */
    removedAt: integer("removed_at"),
  },
  (t) => [uniqueIndex("users_account_email").on(t.accountId, t.email), index("users_email").on(t.email)],
);

/** The cookie holds a random id; only its SHA-256 is stored, so a database leak yields no sessions. */
export const sessions = sqliteTable(
  "sessions",
  {
    idHash: text("id_hash").primaryKey(),
    accountId: text("account_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    revokedAt: integer("revoked_at"),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("sessions_account_user").on(t.accountId, t.userId)],
);

/**
 * Emailed sign-in and sign-up links. Not tenant-owned: a link proves control of an address, and the
 * account is chosen when it is used. Only the token's SHA-256 is stored.
 */
export const magicLinks = sqliteTable(
  "magic_links",
  {
    tokenHash: text("token_hash").primaryKey(),
    email: text("email").notNull(),
    purpose: text("purpose", { enum: ["signin", "signup"] }).notNull(),
    /** For sign-up: the name of the workspace to create once the address is verified. */
    accountName: text("account_name"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("magic_links_email").on(t.email)],
);

export const invites = sqliteTable(
  "invites",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    email: text("email").notNull(),
    role: text("role", { enum: ["owner", "admin", "member", "light"] }).notNull(),
    tokenHash: text("token_hash").notNull(),
    invitedBy: text("invited_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    acceptedAt: integer("accepted_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("invites_token_hash").on(t.tokenHash), index("invites_account").on(t.accountId, t.createdAt)],
);

/** A connected (or hosted) mailbox: an "inbox" in the UI. The connect issue adds provider details. */
export const mailboxes = sqliteTable(
  "mailboxes",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    address: text("address").notNull(),
    displayName: text("display_name").notNull().default(""),
    provider: text("provider", { enum: ["gmail", "graph", "hosted"] }).notNull(),
    kind: text("kind", { enum: ["shared", "personal"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    /**
     * Connection health as the MailboxDO last reported it, copied here so lists need no DO call.
     * Reasons are stable codes (invalid_grant, mfa_required, consent_revoked, missing_scope,
     * provider_unavailable, push_lapsed, rate_limited); the sentence is for people.
     */
    health: text("health", { enum: ["good", "degraded", "failing"] })
      .notNull()
      .default("good"),
    healthReason: text("health_reason"),
    healthDetail: text("health_detail"),
    healthChangedAt: integer("health_changed_at"),
    /** Whose grant the connection runs on: the mailbox itself, or a delegate of a shared mailbox. */
    grantEmail: text("grant_email"),
    /** The provider's stable id of the granting account (Google `sub`, Microsoft `oid`). */
    grantSubject: text("grant_subject"),
    connectedAt: integer("connected_at"),
    /** How many days of history sync covers; 0 = all of it. */
    windowDays: integer("window_days").notNull().default(30),
    /** Every folder but spam and trash, or only the inbox and sent mail. */
    syncScope: text("sync_scope", { enum: ["all", "inbox_sent"] })
      .notNull()
      .default("all"),
    /** Set when an admin disconnected the mailbox but kept its conversations (read-only archive). */
    disconnectedAt: integer("disconnected_at"),
    /**
     * The Graph change-notification subscription the MailboxDO keeps, so the webhook can route a
     * notification (which names only the subscription) to its mailbox. Its clientState stays in the DO.
     */
    graphSubscriptionId: text("graph_subscription_id"),
  },
  (t) => [
    uniqueIndex("mailboxes_account_address").on(t.accountId, t.address),
    index("mailboxes_graph_subscription").on(t.graphSubscriptionId),
  ],
);

/**
 * Addresses on Postroom's own hosted domain (provider "hosted"). Unique across every account, since
 * inbound mail for an address must reach exactly one inbox; a released address stays reserved
 * (released_at set) so mail meant for its old owner is never delivered to a new one.
 */
export const hostedAddresses = sqliteTable(
  "hosted_addresses",
  {
    /** Lower-cased full address, local part and hosted domain. */
    address: text("address").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    mailboxId: text("mailbox_id").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    releasedAt: integer("released_at"),
  },
  (t) => [index("hosted_addresses_mailbox").on(t.accountId, t.mailboxId)],
);

/**
 * Invitations to connect a mailbox (or, with `mailbox_id`, to reconnect one in place). The invitee
 * needs no app account; the token is emailed once and stored as a SHA-256.
 */
export const connectInvites = sqliteTable(
  "connect_invites",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    email: text("email").notNull(),
    kind: text("kind", { enum: ["shared", "personal"] }).notNull(),
    mailboxId: text("mailbox_id"),
    /** How many days of history the first backfill imports; 0 = all of it. */
    windowDays: integer("window_days").notNull().default(30),
    syncScope: text("sync_scope", { enum: ["all", "inbox_sent"] })
      .notNull()
      .default("all"),
    tokenHash: text("token_hash").notNull(),
    invitedBy: text("invited_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    uniqueIndex("connect_invites_token_hash").on(t.tokenHash),
    index("connect_invites_account").on(t.accountId, t.createdAt),
  ],
);

/**
 * OAuth `state` values in flight, stored as a SHA-256 and spent once. The PKCE verifier is never
 * stored: it is derived from the state with a server key, so this table holds nothing usable.
 */
export const oauthStates = sqliteTable("oauth_states", {
  stateHash: text("state_hash").primaryKey(),
  purpose: text("purpose", { enum: ["connect", "signin"] }).notNull(),
  provider: text("provider", { enum: ["google", "microsoft"] }).notNull(),
  accountId: text("account_id"),
  connectInviteId: text("connect_invite_id"),
  /** For connect: the invitee acknowledged that a personal mailbox becomes shared. */
  acknowledgedShared: integer("acknowledged_shared", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
});

/**
 * Per-inbox access: member X may use inbox Y. Owners and admins reach every inbox of their account;
 * everyone else needs a row here.
 */
export const inboxAccess = sqliteTable(
  "inbox_access",
  {
    accountId: text("account_id").notNull(),
    mailboxId: text("mailbox_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.mailboxId, t.userId] }),
    index("inbox_access_user").on(t.accountId, t.userId),
  ],
);

export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    actorUserId: text("actor_user_id"),
    actorEmail: text("actor_email"),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    /** JSON; never holds a secret. */
    details: text("details")
      .notNull()
      .default(sql`'{}'`),
    ip: text("ip"),
    userAgent: text("user_agent"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("audit_account_created").on(t.accountId, t.createdAt)],
);

/**
 * Queue messages that exhausted their retries. Kept, never dropped, so the mailbox can report them
 * as skipped items and an operator can replay them. Bodies hold provider ids only, never secrets.
 */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id"),
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull(),
    body: text("body").notNull(),
    attempts: integer("attempts").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("dead_letters_message").on(t.queue, t.messageId), index("dead_letters_account").on(t.accountId)],
);

/**
 * A conversation. Threads belong to the account, not to one mailbox: the same conversation copied
 * to sales@ and support@ is one thread, listed in both inboxes through thread_mailboxes.
 */
export const threads = sqliteTable(
  "threads",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    subject: text("subject").notNull().default(""),
    snippet: text("snippet").notNull().default(""),
    lastMessageAt: integer("last_message_at").notNull(),
    messageCount: integer("message_count").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    /** open, pending, snoozed (until snoozed_until) or closed. A new inbound message reopens it. */
    status: text("status", { enum: ["open", "pending", "snoozed", "closed"] })
      .notNull()
      .default("open"),
    snoozedUntil: integer("snoozed_until"),
    assigneeId: text("assignee_id"),
    /** Hidden from Postroom (never deleted from the mailbox); sync never brings it back. */
    hiddenAt: integer("hidden_at"),
    /** Bumped by every new message and note: a reply composed on an older version is stale. */
    version: integer("version").notNull().default(0),
    /**
     * A small integer key for search, inside its account's block (accounts.search_no << 27): the
     * rowids of the thread's rows in message_search are seq << 16 plus a counter, so a match names
     * its thread without reading any row (see search-table.ts).
     */
    seq: integer("seq"),
  },
  (t) => [
    uniqueIndex("threads_seq").on(t.seq),
    index("threads_account_last").on(t.accountId, t.lastMessageAt),
    index("threads_assignee").on(t.accountId, t.assigneeId, t.lastMessageAt),
  ],
);

/** Free-form labels on a thread, per account. */
export const threadTags = sqliteTable(
  "thread_tags",
  {
    accountId: text("account_id").notNull(),
    threadId: text("thread_id").notNull(),
    tag: text("tag").notNull(),
    createdAt: integer("created_at").notNull(),
    /**
     * The thread's last activity (threads.last_message_at), so a tag's list reads its threads in
     * list order from one index. Kept by triggers (migration 0017) on every insert here and every
     * change of the thread's value; nothing writes it by hand.
     */
    lastMessageAt: integer("last_message_at").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.threadId, t.tag] }),
    index("thread_tags_list").on(t.accountId, t.tag, t.lastMessageAt, t.threadId),
  ],
);

/** Internal notes: the team talking about a thread; never sent. */
export const notes = sqliteTable(
  "notes",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    threadId: text("thread_id").notNull(),
    authorId: text("author_id").notNull(),
    body: text("body").notNull(),
    /** JSON array of the user ids the note mentions. */
    mentions: text("mentions").notNull().default("[]"),
    createdAt: integer("created_at").notNull(),
    /** The thread version this note made (see threads.version). */
    threadVersion: integer("thread_version").notNull(),
    /** A note written in a partner site's embedded inbox (author_id is then empty): partner and its user. */
    viaPartnerId: text("via_partner_id"),
    viaUserId: text("via_user_id"),
    viaUserName: text("via_user_name"),
  },
  (t) => [index("notes_thread").on(t.accountId, t.threadId, t.createdAt)],
);

/** When each user last read each thread: newer activity makes it unread for them. */
export const threadReads = sqliteTable(
  "thread_reads",
  {
    accountId: text("account_id").notNull(),
    userId: text("user_id").notNull(),
    threadId: text("thread_id").notNull(),
    readAt: integer("read_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.userId, t.threadId] })],
);

export const threadMailboxes = sqliteTable(
  "thread_mailboxes",
  {
    accountId: text("account_id").notNull(),
    threadId: text("thread_id").notNull(),
    mailboxId: text("mailbox_id").notNull(),
    lastMessageAt: integer("last_message_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.threadId, t.mailboxId] }),
    index("thread_mailboxes_inbox").on(t.accountId, t.mailboxId, t.lastMessageAt),
  ],
);

/** One row per RFC message per account, however many mailboxes hold a copy of it. */
export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    threadId: text("thread_id").notNull(),
    /** Normalized RFC Message-ID (no angle brackets); synthesized when the message has none. */
    rfcMessageId: text("rfc_message_id").notNull(),
    inReplyTo: text("in_reply_to"),
    /** JSON array of normalized Message-IDs from References (oldest first). */
    references: text("references").notNull().default("[]"),
    subject: text("subject").notNull().default(""),
    fromName: text("from_name").notNull().default(""),
    fromAddress: text("from_address").notNull().default(""),
    /** JSON arrays of {name, address}. */
    to: text("to_list").notNull().default("[]"),
    cc: text("cc_list").notNull().default("[]"),
    replyTo: text("reply_to_list").notNull().default("[]"),
    sentAt: integer("sent_at"),
    receivedAt: integer("received_at").notNull(),
    snippet: text("snippet").notNull().default(""),
    /** Plain text for reading and search, capped; the full message stays in R2. */
    textBody: text("text_body").notNull().default(""),
    hasHtml: integer("has_html", { mode: "boolean" }).notNull().default(false),
    sizeBytes: integer("size_bytes").notNull(),
    rawKey: text("raw_key").notNull(),
    /** RFC 3834 Auto-Submitted other than "no", or a precedence of bulk/junk/list. */
    isAutomated: integer("is_automated", { mode: "boolean" }).notNull().default(false),
    /** A delivery status notification (bounce). */
    isBounce: integer("is_bounce", { mode: "boolean" }).notNull().default(false),
    attachmentCount: integer("attachment_count").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    /** The thread version this message made (see threads.version); null for mail stored before versions. */
    threadVersion: integer("thread_version"),
    /**
     * For a reply written in a partner site's embedded inbox: the partner, and its user's id and
     * display name as the partner's signed embed token named them.
     */
    sentViaPartnerId: text("sent_via_partner_id"),
    sentViaUserId: text("sent_via_user_id"),
    sentViaUserName: text("sent_via_user_name"),
    /** The message's rowid in message_search (see threads.seq); null when it is not indexed. */
    searchRowid: integer("search_rowid"),
  },
  (t) => [
    uniqueIndex("messages_account_rfc_id").on(t.accountId, t.rfcMessageId),
    index("messages_thread").on(t.accountId, t.threadId, t.receivedAt),
  ],
);

/** Which message ids a message refers to, so a parent arriving after its reply finds the thread. */
export const messageRefs = sqliteTable(
  "message_refs",
  {
    accountId: text("account_id").notNull(),
    refId: text("ref_id").notNull(),
    messageId: text("message_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.refId, t.messageId] })],
);

/**
 * A provider's copy of a message in one mailbox: the idempotency key of every write
 * (account, mailbox, provider message id).
 */
export const messageSources = sqliteTable(
  "message_sources",
  {
    accountId: text("account_id").notNull(),
    mailboxId: text("mailbox_id").notNull(),
    providerMessageId: text("provider_message_id").notNull(),
    messageId: text("message_id").notNull(),
    providerThreadId: text("provider_thread_id"),
    /** JSON array of provider labels or the folder name. */
    labels: text("labels").notNull().default("[]"),
    /** Sent from this mailbox (Gmail SENT label, Graph Sent Items). */
    outbound: integer("outbound", { mode: "boolean" }).notNull().default(false),
    receivedAt: integer("received_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.mailboxId, t.providerMessageId] }),
    index("message_sources_message").on(t.accountId, t.messageId),
    index("message_sources_thread").on(t.accountId, t.mailboxId, t.providerThreadId),
  ],
);

export const attachments = sqliteTable(
  "attachments",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    messageId: text("message_id").notNull(),
    filename: text("filename").notNull().default(""),
    mimeType: text("mime_type").notNull().default("application/octet-stream"),
    sizeBytes: integer("size_bytes").notNull(),
    contentId: text("content_id"),
    inline: integer("inline", { mode: "boolean" }).notNull().default(false),
    r2Key: text("r2_key").notNull(),
  },
  (t) => [index("attachments_message").on(t.accountId, t.messageId)],
);

/** Messages a mailbox could not fetch or parse, reported on the mailbox with their reason. */
/**
 * Copies the mailbox no longer has (deleted there, or moved to spam or trash). A fetch that started
 * before the removal must not store the copy again; seeing the message in the mailbox again clears it.
 */
export const removedCopies = sqliteTable(
  "removed_copies",
  {
    accountId: text("account_id").notNull(),
    mailboxId: text("mailbox_id").notNull(),
    providerMessageId: text("provider_message_id").notNull(),
    removedAt: integer("removed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.mailboxId, t.providerMessageId] })],
);
export const skippedItems = sqliteTable(
  "skipped_items",
  {
    accountId: text("account_id").notNull(),
    mailboxId: text("mailbox_id").notNull(),
    providerMessageId: text("provider_message_id").notNull(),
    reason: text("reason").notNull(),
    detail: text("detail").notNull().default(""),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.mailboxId, t.providerMessageId] })],
);

/**
 * Partner sites that embed one inbox (the widget). The partner's id is the `iss` of its embed tokens.
 * Its HS256 secret is stored only sealed (AES-GCM under TOKEN_ENCRYPTION_KEYS, bound to the account
 * and partner); a JWKS partner keeps its keys at its own URL. Rotating bumps key_version, which ends
 * every widget session started under the old key; revoking refuses every token from then on.
 */
export const embedPartners = sqliteTable(
  "embed_partners",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    name: text("name").notNull(),
    /** The one inbox the partner may embed; null when it was removed and none was chosen since. */
    mailboxId: text("mailbox_id"),
    /** JSON array drawn from read, reply, notes: the most a token may grant. */
    permissions: text("permissions").notNull().default('["read"]'),
    keyType: text("key_type", { enum: ["hs256", "jwks"] }).notNull(),
    jwksUrl: text("jwks_url"),
    sealedSecret: text("sealed_secret"),
    keyVersion: integer("key_version").notNull().default(1),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    keyRotatedAt: integer("key_rotated_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("embed_partners_account").on(t.accountId, t.createdAt)],
);

/** The exact origins (scheme://host[:port]) allowed to frame a partner's widget and call its API. */
export const embedPartnerOrigins = sqliteTable(
  "embed_partner_origins",
  {
    accountId: text("account_id").notNull(),
    partnerId: text("partner_id").notNull(),
    origin: text("origin").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.partnerId, t.origin] }),
    // CORS preflights carry no credentials: they are answered by origin alone.
    index("embed_partner_origins_origin").on(t.origin),
  ],
);

/**
 * Widget sessions: a verified embed token exchanged for a random bearer token the widget keeps in
 * memory. Only its SHA-256 is stored; it ends when the embed token would have expired.
 */
export const embedSessions = sqliteTable(
  "embed_sessions",
  {
    tokenHash: text("token_hash").primaryKey(),
    accountId: text("account_id").notNull(),
    partnerId: text("partner_id").notNull(),
    keyVersion: integer("key_version").notNull(),
    mailboxId: text("mailbox_id").notNull(),
    partnerUserId: text("partner_user_id").notNull(),
    partnerUserName: text("partner_user_name").notNull(),
    /** JSON array: what both the partner and its token allow. */
    permissions: text("permissions").notNull(),
    /** Only conversations with this address, when the token named one. */
    contact: text("contact"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("embed_sessions_partner").on(t.accountId, t.partnerId)],
);
