/**
 * What the connect page knew before the browser left for the provider, for the result page: the
 * provider sends the person back with an outcome code, and a refusal's address does not come back
 * with it. Per tab and never the token: the token stays in memory, so "try again" means reopening
 * the emailed link.
 */
import type { ConnectProvider, MailboxKind } from "../../../../worker/contracts";

export interface PendingConnect {
  address: string;
  kind: MailboxKind;
  provider: ConnectProvider;
  accountName: string;
}

const KEY = "postroom.connect";

export function rememberConnect(pending: PendingConnect): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(pending));
  } catch {
    // Storage can be disabled; the result page then speaks of "the invited address" instead.
  }
}

export function recallConnect(): PendingConnect | null {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    if (typeof value !== "object" || value === null) return null;
    const v = value as Partial<PendingConnect>;
    if (typeof v.address !== "string" || (v.provider !== "google" && v.provider !== "microsoft")) return null;
    return {
      address: v.address,
      kind: v.kind === "personal" ? "personal" : "shared",
      provider: v.provider,
      accountName: typeof v.accountName === "string" ? v.accountName : "",
    };
  } catch {
    return null;
  }
}

export function forgetConnect(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Nothing to forget.
  }
}
