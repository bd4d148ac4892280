/**
 * Everything a test may tune. Where providers.md marks a fact as unsettled, the behaviour is a
 * setting here with the documented value as the default, and the tests cover both settings.
 */

export type GmailQuotaModel = "current" | "previous";

export interface Tunables {
  google: {
    accessTokenTtlSeconds: number;
    authCodeTtlSeconds: number;
    /** Google normally keeps refresh tokens; some deployments see rotation. */
    rotateRefreshTokens: boolean;
    /** When set, refresh tokens expire and responses carry `refresh_token_expires_in` (time-based access). */
    refreshTokenExpiresInSeconds: number | null;
    /** "testing" = external app in Testing status: refresh tokens die after 7 days unless only name/email/profile. */
    publishingStatus: "production" | "testing";
    /** Live refresh tokens per client and user; going over silently kills the oldest. */
    refreshTokenLimit: number;
    refreshTokenIdleDays: number;
  };
  gmail: {
    quotaModel: GmailQuotaModel;
    /** Overrides the model's per-user units per minute. */
    userUnitsPerMinute: number | null;
    /** Overrides individual method costs, keyed by discovery method id (e.g. "gmail.users.messages.get"). */
    methodCosts: Record<string, number>;
    /** Status used when the per-user budget is spent: 429 RESOURCE_EXHAUSTED or the documented 403 userRateLimitExceeded. */
    rateLimitStatus: 429 | 403;
    concurrencyPerUser: number;
    historyRetentionMs: number;
    watchTtlMs: number;
    /** Observed: format=minimal also returns snippet, historyId, internalDate, sizeEstimate. */
    minimalIncludesExtras: boolean;
  };
  push: {
    /** Pub/Sub sends standard base64; the Gmail guide calls it base64url. */
    dataEncoding: "base64" | "base64url";
    /** Documented as a string, observed as a JSON number. */
    historyIdType: "string" | "number";
    /** Gmail drops notifications above 1 event/s per watched user; 0 disables the cap. */
    maxPerSecondPerUser: number;
    /** Present only when the subscription has a dead-letter policy. */
    includeDeliveryAttempt: boolean;
    ackTimeoutMs: number;
    initialBackoffMs: number;
    maxBackoffMs: number;
    maxAttempts: number;
    subscription: string;
  };
  microsoft: {
    accessTokenTtlSeconds: number;
    authCodeTtlSeconds: number;
    /** Every refresh returns a new refresh token; the old one keeps working unless this is set. */
    revokeRotatedRefreshTokens: boolean;
    refreshTokenInactivityDays: number;
    includeExtExpiresIn: boolean;
  };
  graph: {
    requestsPerWindow: number;
    windowMs: number;
    concurrencyPerMailbox: number;
    /** Sources disagree: 4,230 min (docs include) vs 10,080 min (current page). */
    subscriptionMaxMinutes: number;
    subscriptionMaxMinutesWithResourceData: number;
    validationTimeoutMs: number;
    notificationTimeoutMs: number;
    notificationInitialBackoffMs: number;
    notificationMaxBackoffMs: number;
    notificationRetryWindowMs: number;
    /** What an expired delta token answers: seen as 410 and as other 4xx, with varying code casing. */
    deltaExpiredStatus: number;
    deltaExpiredCode: "syncStateNotFound" | "SyncStateNotFound" | "resyncRequired";
    deltaTokenTtlMs: number | null;
    deltaDefaultPageSize: number;
    listDefaultPageSize: number;
    filteredDeltaCap: number;
  };
}

const MINUTE = 60_000;
const DAY = 86_400_000;

export function defaultTunables(): Tunables {
  return {
    google: {
      accessTokenTtlSeconds: 3599,
      authCodeTtlSeconds: 600,
      rotateRefreshTokens: false,
      refreshTokenExpiresInSeconds: null,
      publishingStatus: "production",
      refreshTokenLimit: 100,
      refreshTokenIdleDays: 183,
    },
    gmail: {
      quotaModel: "current",
      userUnitsPerMinute: null,
      methodCosts: {},
      rateLimitStatus: 429,
      concurrencyPerUser: 10,
      historyRetentionMs: 7 * DAY,
      watchTtlMs: 7 * DAY,
      minimalIncludesExtras: true,
    },
    push: {
      dataEncoding: "base64",
      historyIdType: "string",
      maxPerSecondPerUser: 1,
      includeDeliveryAttempt: false,
      ackTimeoutMs: 10_000,
      initialBackoffMs: 10_000,
      maxBackoffMs: 600_000,
      maxAttempts: 20,
      subscription: "projects/postroom-demo/subscriptions/gmail-push",
    },
    microsoft: {
      accessTokenTtlSeconds: 3599,
      authCodeTtlSeconds: 600,
      revokeRotatedRefreshTokens: false,
      refreshTokenInactivityDays: 90,
      includeExtExpiresIn: false,
    },
    graph: {
      requestsPerWindow: 10_000,
      windowMs: 10 * MINUTE,
      concurrencyPerMailbox: 4,
      subscriptionMaxMinutes: 4230,
      subscriptionMaxMinutesWithResourceData: 1440,
      validationTimeoutMs: 10_000,
      notificationTimeoutMs: 3_000,
      notificationInitialBackoffMs: 10_000,
      notificationMaxBackoffMs: 600_000,
      notificationRetryWindowMs: 4 * 60 * MINUTE,
      deltaExpiredStatus: 410,
      deltaExpiredCode: "syncStateNotFound",
      deltaTokenTtlMs: null,
      deltaDefaultPageSize: 10,
      listDefaultPageSize: 10,
      filteredDeltaCap: 5000,
    },
  };
}

export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends Record<string, unknown> ? DeepPartial<T[K]> : T[K];
};

/** Merges a partial override into the live settings (used by options and the admin API). */
export function mergeTunables(target: Tunables, patch: DeepPartial<Tunables> | undefined): Tunables {
  if (!patch) return target;
  for (const section of Object.keys(patch) as Array<keyof Tunables>) {
    const values = patch[section];
    if (!values || typeof values !== "object") continue;
    if (!(section in target)) throw new Error(`unknown settings section: ${section}`);
    const dest = target[section] as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(values)) {
      if (!(key in dest)) throw new Error(`unknown setting: ${section}.${key}`);
      if (value !== undefined) dest[key] = value;
    }
  }
  return target;
}

/** Per-method costs in quota units, from Google's quota table (current model) and its previous version. */
export const GMAIL_COSTS: Record<GmailQuotaModel, { perUserPerMinute: number; costs: Record<string, number> }> = {
  previous: {
    perUserPerMinute: 15_000,
    costs: {
      "gmail.users.getProfile": 1,
      "gmail.users.labels.list": 1,
      "gmail.users.history.list": 2,
      "gmail.users.messages.list": 5,
      "gmail.users.messages.get": 5,
      "gmail.users.messages.attachments.get": 5,
      "gmail.users.messages.modify": 5,
      "gmail.users.messages.trash": 5,
      "gmail.users.messages.untrash": 5,
      "gmail.users.messages.delete": 10,
      "gmail.users.messages.send": 100,
      "gmail.users.threads.get": 10,
      "gmail.users.threads.list": 10,
      "gmail.users.watch": 100,
      "gmail.users.stop": 50,
    },
  },
  current: {
    perUserPerMinute: 6_000,
    costs: {
      "gmail.users.getProfile": 1,
      "gmail.users.labels.list": 1,
      "gmail.users.history.list": 2,
      "gmail.users.messages.list": 5,
      "gmail.users.messages.get": 20,
      "gmail.users.messages.attachments.get": 20,
      "gmail.users.messages.modify": 5,
      "gmail.users.messages.trash": 20,
      // Not seen in the current table; the previous figures are kept.
      "gmail.users.messages.untrash": 5,
      "gmail.users.messages.delete": 10,
      "gmail.users.messages.send": 100,
      // Not seen in the current table; the previous figure is kept.
      "gmail.users.threads.get": 10,
      "gmail.users.threads.list": 10,
      "gmail.users.watch": 100,
      "gmail.users.stop": 50,
    },
  },
};
