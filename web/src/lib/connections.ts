/**
 * The words the connection screens use for providers, mailbox kinds, health and OAuth scopes, kept
 * in one place so the admin's screen and the invitee's pages describe things the same way.
 */
import type { ConnectProvider, ConnectionView, HealthReason, MailboxKind, SyncScope } from "../../../worker/contracts";

export const PROVIDER_LABELS: Record<ConnectionView["provider"], string> = {
  gmail: "Gmail",
  graph: "Microsoft 365",
  hosted: "Hosted by Postroom",
};

/** The company whose sign-in page the invitee sees. */
export const BRAND_LABELS: Record<ConnectProvider, string> = { google: "Google", microsoft: "Microsoft" };

export const KIND_LABELS: Record<MailboxKind, string> = { shared: "Shared", personal: "Personal" };

export const KIND_HINTS: Record<MailboxKind, string> = {
  shared: "Everyone with access on the account reads it and replies as this address",
  personal: "A person’s own mailbox; only people you give access see it",
};

export const HEALTH_LABELS: Record<ConnectionView["health"], string> = {
  good: "Good",
  degraded: "Degraded",
  failing: "Failing",
};

export const HEALTH_REASON_LABELS: Record<HealthReason, string> = {
  invalid_grant: "Access expired or was withdrawn",
  mfa_required: "The provider asks for sign-in again",
  consent_revoked: "Permission was removed at the provider",
  missing_scope: "A permission is missing",
  provider_unavailable: "The provider is not answering",
  push_lapsed: "New-mail notifications stopped",
  rate_limited: "The provider is slowing requests down",
  send_failed: "Sending failed",
};

/** What each OAuth scope lets Postroom do, in the words of the consent page's checkboxes. */
const SCOPE_WORDS: Record<string, string> = {
  "https://www.googleapis.com/auth/gmail.modify": "Read and organise mail",
  "https://www.googleapis.com/auth/gmail.send": "Send mail",
  "https://mail.google.com/": "Read, send and organise mail",
  "mail.readwrite": "Read and organise mail",
  "mail.readwrite.shared": "Read and organise mail in mailboxes shared with you",
  "mail.send": "Send mail",
  "mail.send.shared": "Send mail as mailboxes shared with you",
  "user.read": "Sign you in and read your profile",
  offline_access: "Keep working when you are not signed in",
  openid: "Confirm who you are and your email address",
  email: "Confirm who you are and your email address",
  profile: "Confirm who you are and your email address",
  "https://www.googleapis.com/auth/userinfo.email": "Confirm who you are and your email address",
  "https://www.googleapis.com/auth/userinfo.profile": "Confirm who you are and your email address",
};

/**
 * Human words for the space-separated scopes of a `missing_scope` outcome, without repeats.
 * Microsoft scopes arrive with or without the Graph prefix; one that has no words is shown as is.
 */
export function scopeWords(detail: string): string[] {
  const out = new Set<string>();
  for (const raw of detail.split(/\s+/).filter(Boolean)) {
    const key = raw.replace(/^https:\/\/graph\.microsoft\.com\//i, "").toLowerCase();
    out.add(SCOPE_WORDS[raw] ?? SCOPE_WORDS[key] ?? raw);
  }
  return [...out];
}

/** The history windows an inbox can cover, as the server accepts them (0 = all of it). */
export const SYNC_WINDOW_OPTIONS: { days: number; label: string }[] = [
  { days: 7, label: "Last 7 days" },
  { days: 30, label: "Last 30 days" },
  { days: 90, label: "Last 90 days" },
  { days: 0, label: "All mail" },
];

/** Which folders an inbox syncs, as the server accepts them. */
export const SYNC_SCOPE_OPTIONS: { scope: SyncScope; label: string }[] = [
  { scope: "all", label: "Every folder except spam and trash" },
  { scope: "inbox_sent", label: "Inbox and sent mail only" },
];
