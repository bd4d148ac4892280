import { and, eq, isNull, ne } from "drizzle-orm";
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import type { Me } from "../contracts";
import { accounts, users } from "../db/schema";
import { requireSession } from "../middleware/session";

export const meRoutes = new Hono<AppEnv>().use(requireSession).get("/", async (c) => {
  const p = c.var.principal;
  const account = await c.var.db
    .select({ id: accounts.id, name: accounts.name })
    .from(accounts)
    .where(eq(accounts.id, p.accountId))
    .get();
  const others = await c.var.db
    .select({ id: accounts.id, name: accounts.name })
    .from(users)
    .innerJoin(accounts, eq(accounts.id, users.accountId))
    .where(
      and(
        eq(users.email, p.email),
        ne(users.accountId, p.accountId),
        isNull(users.removedAt),
        ne(users.role, "contributor"),
      ),
    )
    .all();
  const me: Me = {
    user: { id: p.userId, email: p.email, name: p.name, role: p.role },
    account: account ?? { id: p.accountId, name: "" },
    otherAccounts: others,
  };
  return c.json(me);
});
