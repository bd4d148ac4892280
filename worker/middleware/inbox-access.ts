import { and, eq, sql } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { idSchema } from "../contracts";
import { inboxAccess, mailboxes } from "../db/schema";
import { notFound } from "../errors";
import { grantOf } from "../threads/access";

/**
 * The one place per-inbox access is decided, for every route with an `:inboxId` parameter. Owners and
 * admins reach every inbox of their account; others need an inbox_access row. An inbox the caller
 * may not use answers exactly like one that does not exist, so ids cannot be probed.
 */
export const requireInboxAccess = createMiddleware<AppEnv>(async (c, next) => {
  const parsed = idSchema.safeParse(c.req.param("inboxId"));
  if (!parsed.success) throw notFound("Inbox");
  const { accountId, userId, role } = c.var.principal;
  // One query: the inbox, and whether the caller holds a grant to it.
  const mailbox = await c.var.db
    .select({
      id: mailboxes.id,
      address: mailboxes.address,
      kind: mailboxes.kind,
      granted: sql<number | null>`${inboxAccess.userId} is not null`,
    })
    .from(mailboxes)
    .leftJoin(inboxAccess, grantOf(userId))
    .where(and(eq(mailboxes.accountId, accountId), eq(mailboxes.id, parsed.data)))
    .get();
  if (!mailbox) throw notFound("Inbox");
  if (role !== "owner" && role !== "admin" && !mailbox.granted) throw notFound("Inbox");
  c.set("inbox", { id: mailbox.id, address: mailbox.address, kind: mailbox.kind });
  await next();
});
