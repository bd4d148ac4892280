/**
 * Settings › Inbox connections › Request a shared address: a new inbox at <local part>@<hosted
 * domain>, there at once and empty (a hosted address has no history before it exists). The
 * address row and the inbox row land together or not at all; the address is unique across every
 * account, and one that was released stays taken.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { hostedAddresses, mailboxes } from "../db/schema";
import { ApiError } from "../errors";
import { auditInsert } from "../lib/audit";
import { newId } from "../lib/ids";
import { log } from "../lib/log";
import { checkLocalPart, hostedDomain } from "./address";

type MailboxRow = typeof mailboxes.$inferSelect;

const fieldError = (message: string) =>
  new ApiError(400, "invalid_request", "The request json is not valid", [{ path: "localPart", message }]);

export async function requestHostedAddress(c: Context<AppEnv>, localPartInput: string): Promise<MailboxRow> {
  const domain = hostedDomain(c.env);
  if (!domain) {
    throw new ApiError(
      409,
      "hosted_disabled",
      "Hosted addresses are not enabled on this server (HOSTED_DOMAIN is not set)",
    );
  }
  const checked = checkLocalPart(localPartInput);
  if (!checked.ok) {
    if (checked.code === "reserved") {
      throw new ApiError(409, "address_reserved", checked.reason, [{ path: "localPart", message: checked.reason }]);
    }
    throw fieldError(checked.reason);
  }
  const address = `${checked.localPart}@${domain}`;
  const taken = () =>
    new ApiError(409, "address_taken", `${address} is already taken; choose another name`, [
      { path: "localPart", message: `${address} is already taken; choose another name` },
    ]);
  if (
    await c.var.db
      .select({ a: hostedAddresses.address })
      .from(hostedAddresses)
      .where(eq(hostedAddresses.address, address))
      .get()
  ) {
    throw taken();
  }
  const p = c.var.principal;
  const now = Date.now();
  const id = newId();
  try {
    await c.var.db.batch([
      c.var.db.insert(hostedAddresses).values({
        address,
        accountId: p.accountId,
        mailboxId: id,
        createdBy: p.userId,
        createdAt: now,
      }),
      c.var.db.insert(mailboxes).values({
        id,
        accountId: p.accountId,
        address,
        provider: "hosted",
        kind: "shared",
        createdAt: now,
        connectedAt: now,
        // Everything the address ever receives is in Postroom.
        windowDays: 0,
      }),
      auditInsert(c, {
        accountId: p.accountId,
        action: "connection.hosted_created",
        actor: { userId: p.userId, email: p.email },
        target: { type: "inbox", id },
        details: { address },
      }),
    ]);
  } catch (err) {
    // Someone took the same address a moment earlier: the primary key refused ours.
    if (
      /UNIQUE|PRIMARY KEY|constraint/i.test(err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : "")
    ) {
      throw taken();
    }
    throw err;
  }
  const attached = await c.env.MAILBOX.getByName(id).attachHosted({ accountId: p.accountId, mailboxId: id, address });
  if (!attached.ok) log.error("hosted_attach_failed", { inboxId: id, error: attached.error });
  return (await c.var.db
    .select()
    .from(mailboxes)
    .where(and(eq(mailboxes.accountId, p.accountId), eq(mailboxes.id, id)))
    .get())!;
}

/** The address stops receiving (its inbox was disconnected or removed) but stays reserved. */
export function releaseHostedAddress(c: Context<AppEnv>, mailbox: Pick<MailboxRow, "id" | "accountId">) {
  return c.var.db
    .update(hostedAddresses)
    .set({ releasedAt: Date.now() })
    .where(
      and(
        eq(hostedAddresses.accountId, mailbox.accountId),
        eq(hostedAddresses.mailboxId, mailbox.id),
        isNull(hostedAddresses.releasedAt),
      ),
    );
}
