/** A conversation's messages as the API shows them, with their attachments. */
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { MessageView } from "../contracts";
import { attachments, messages } from "../db/schema";
import { partnerNames, sentVia } from "../embed/attribution";

const parseList = (json: string) => JSON.parse(json) as { name: string; address: string }[];

/** Every message of the thread, oldest first; or only those newer than a thread version. */
export async function threadMessages(
  c: Context<AppEnv>,
  threadId: string,
  options: { afterVersion?: number; accountId?: string } = {},
): Promise<MessageView[]> {
  // The widget's API has no principal: it names the partner's account.
  const accountId = options.accountId ?? c.var.principal.accountId;
  const rows = await c.var.db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.accountId, accountId),
        eq(messages.threadId, threadId),
        ...(options.afterVersion !== undefined ? [gt(messages.threadVersion, options.afterVersion)] : []),
      ),
    )
    .orderBy(asc(messages.receivedAt), asc(messages.id))
    .all();
  const files: (typeof attachments.$inferSelect)[] = [];
  for (let i = 0; i < rows.length; i += 90) {
    files.push(
      ...(await c.var.db
        .select()
        .from(attachments)
        .where(
          and(
            eq(attachments.accountId, accountId),
            inArray(
              attachments.messageId,
              rows.slice(i, i + 90).map((r) => r.id),
            ),
          ),
        )
        .all()),
    );
  }
  const partners = await partnerNames(
    c.var.db,
    accountId,
    rows.map((r) => r.sentViaPartnerId),
  );
  return rows.map((m) => ({
    id: m.id,
    from: m.fromAddress ? { name: m.fromName, address: m.fromAddress } : null,
    to: parseList(m.to),
    cc: parseList(m.cc),
    subject: m.subject,
    sentAt: m.sentAt,
    receivedAt: m.receivedAt,
    text: m.textBody,
    hasHtml: m.hasHtml,
    isAutomated: m.isAutomated,
    isBounce: m.isBounce,
    attachments: files
      .filter((f) => f.messageId === m.id)
      .map((f) => ({ id: f.id, filename: f.filename, mimeType: f.mimeType, sizeBytes: f.sizeBytes, inline: f.inline })),
    sentVia: sentVia(partners, m.sentViaPartnerId, m.sentViaUserName),
  }));
}
