import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Role } from "./contracts";
import type { Config } from "./config";
import type * as schema from "./db/schema";

/** The signed-in person, resolved once per request by the session middleware. */
export interface Principal {
  sessionIdHash: string;
  userId: string;
  accountId: string;
  email: string;
  name: string;
  role: Role;
}

/** What every route can rely on: the generated bindings and the per-request values middleware sets. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    db: DrizzleD1Database<typeof schema>;
    principal: Principal;
    clientIp: string | null;
    userAgent: string | null;
  };
}
