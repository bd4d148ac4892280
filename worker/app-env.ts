import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Role } from "./contracts";
import type { Config } from "./config";
import type * as schema from "./db/schema";
import type { InboxRef } from "./threads/access";

/** The signed-in person, resolved once per request by the session middleware. */
export interface Principal {
  sessionIdHash: string;
  userId: string;
  accountId: string;
  email: string;
  name: string;
  role: Role;
}

/** A partner site's user in the embedded inbox, resolved from the widget's bearer token. */
export interface EmbedCaller {
  accountId: string;
  partnerId: string;
  partnerName: string;
  /** The exact origins the partner registered (CORS and postMessage allow-list). */
  origins: string[];
  mailboxId: string;
  userId: string;
  userName: string;
  permissions: ("read" | "reply" | "notes")[];
  contact: string | null;
}

/** What every route can rely on: the generated bindings and the per-request values middleware sets. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    db: DrizzleD1Database<typeof schema>;
    principal: Principal;
    /** The inbox of an `:inboxId` route, once requireInboxAccess has allowed it. */
    inbox: InboxRef;
    /** Set on the widget's API (/api/embed) instead of a principal. */
    embed: EmbedCaller;
    clientIp: string | null;
    userAgent: string | null;
  };
}
