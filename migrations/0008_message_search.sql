-- Full-text search over every stored message: subject, participants ("Name <address>" of from, to
-- and cc) and the plain-text body. Maintained by the message store and the purge; the account and
-- message ids ride along unindexed so a match maps straight back to its message.
CREATE VIRTUAL TABLE `message_search` USING fts5(
	`subject`,
	`participants`,
	`body`,
	`account_id` UNINDEXED,
	`message_id` UNINDEXED,
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
INSERT INTO `message_search` (`subject`, `participants`, `body`, `account_id`, `message_id`)
SELECT `subject`, `from_name` || ' <' || `from_address` || '> ' || `to_list` || ' ' || `cc_list`, `text_body`, `account_id`, `id`
FROM `messages`;
