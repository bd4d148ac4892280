/**
 * Tombstones (the removed_copies table) keep copies a mailbox no longer has out of storage: a fetch
 * can overtake a removal (the message was read just before the owner trashed it, and stored just
 * after the removal ran). purge.ts writes them, storeMessage honours them, and seeing an id present
 * in the mailbox again (a listing, a history "added", a delta item) clears them here, so mail taken
 * out of the trash comes back.
 */

/** D1 allows 100 bound parameters per statement. */
const CHUNK = 90;

export async function clearRemoved(
  db: D1Database,
  who: { accountId: string; mailboxId: string },
  ids: string[],
): Promise<void> {
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const part = unique.slice(i, i + CHUNK);
    await db
      .prepare(
        `DELETE FROM removed_copies WHERE account_id = ? AND mailbox_id = ? AND provider_message_id IN (${part.map(() => "?").join(",")})`,
      )
      .bind(who.accountId, who.mailboxId, ...part)
      .run();
  }
}
