/**
 * Tells each inbox's live channel (its MailboxDO) that a thread changed, so open views refresh. A
 * channel that cannot be told loses nothing: views also refresh on their own.
 */
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { log } from "../lib/log";

export async function notifyThread(
  c: Context<AppEnv>,
  inboxIds: string[],
  threadId: string,
  change: "message" | "updated" | "note",
): Promise<void> {
  await Promise.all(
    inboxIds.map((id) =>
      c.env.MAILBOX.getByName(id)
        .threadsChanged([threadId], change)
        .catch((err: unknown) =>
          log.warn("live_notify_failed", { inboxId: id, error: err instanceof Error ? err.name : "unknown" }),
        ),
    ),
  );
}
