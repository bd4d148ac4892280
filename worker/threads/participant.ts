/**
 * Whether someone took part in a conversation: wrote one of its messages, or was sent one (To or Cc).
 * Shared by the thread list's participant filter and the embedded inbox's contact check, so the two
 * can never disagree about who is in a conversation.
 */

/**
 * SQL that is true when a message of the thread named by `account` and `thread` (SQL expressions:
 * columns or bound parameters) is from, to or cc `who`, a bound parameter holding a lower-cased address.
 */
export function participantClause(account: string, thread: string, who: string): string {
  const listed = (column: string) =>
    `EXISTS (SELECT 1 FROM json_each(pm.${column}) j WHERE lower(json_extract(j.value, '$.address')) = ${who})`;
  return `EXISTS (SELECT 1 FROM messages pm WHERE pm.account_id = ${account} AND pm.thread_id = ${thread}
     AND (lower(pm.from_address) = ${who} OR ${listed("to_list")} OR ${listed("cc_list")}))`;
}
