/**
 * Queue message shapes. Queue bodies are a trust boundary like any request: the consumer parses
 * them with these schemas, and a message that does not parse is dead-lettered, never half-processed.
 */
import { z } from "zod";
import { idSchema } from "../contracts";

export const backfillBatchMessage = z
  .object({
    kind: z.literal("backfill.batch"),
    accountId: idSchema,
    mailboxId: idSchema,
    /** Provider message ids to fetch, at most one queue batch's worth. */
    providerIds: z.array(z.string().min(1).max(256)).min(1).max(100),
  })
  .strict();

export const queueMessage = z.discriminatedUnion("kind", [backfillBatchMessage]);
export type QueueMessage = z.infer<typeof queueMessage>;
