export const GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/";
export const GMAIL_FULL = "https://mail.google.com/";
export const GMAIL = {
  readonly: `${GOOGLE_SCOPE_PREFIX}gmail.readonly`,
  modify: `${GOOGLE_SCOPE_PREFIX}gmail.modify`,
  send: `${GOOGLE_SCOPE_PREFIX}gmail.send`,
  compose: `${GOOGLE_SCOPE_PREFIX}gmail.compose`,
  metadata: `${GOOGLE_SCOPE_PREFIX}gmail.metadata`,
  labels: `${GOOGLE_SCOPE_PREFIX}gmail.labels`,
} as const;
export const USERINFO_EMAIL = `${GOOGLE_SCOPE_PREFIX}userinfo.email`;
export const USERINFO_PROFILE = `${GOOGLE_SCOPE_PREFIX}userinfo.profile`;

/** Google answers with the long form of the sign-in shorthands. */
export function normalizeGoogleScope(scope: string): string {
  if (scope === "email") return USERINFO_EMAIL;
  if (scope === "profile") return USERINFO_PROFILE;
  return scope;
}

export const SIGN_IN_SCOPES = new Set(["openid", USERINFO_EMAIL, USERINFO_PROFILE]);

export function isKnownGoogleScope(scope: string): boolean {
  return scope === "openid" || scope === GMAIL_FULL || scope.startsWith(GOOGLE_SCOPE_PREFIX);
}

export const hasGmailScope = (scopes: string[]): boolean =>
  scopes.some((s) => s === GMAIL_FULL || s.startsWith(`${GOOGLE_SCOPE_PREFIX}gmail.`));

export function scopeLabel(scope: string): string {
  const labels: Record<string, string> = {
    openid: "Associate you with your personal info on Google",
    [USERINFO_EMAIL]: "See your primary Google Account email address",
    [USERINFO_PROFILE]: "See your personal info, including any personal info you've made publicly available",
    [GMAIL_FULL]: "Read, compose, send and permanently delete all your email from Gmail",
    [GMAIL.readonly]: "View your email messages and settings",
    [GMAIL.modify]: "Read, compose and send emails from your Gmail account",
    [GMAIL.send]: "Send email on your behalf",
    [GMAIL.compose]: "Manage drafts and send emails",
    [GMAIL.metadata]: "View your email message metadata such as labels and headers, but not the email body",
    [GMAIL.labels]: "See and edit your email labels",
  };
  return labels[scope] ?? scope;
}
