-- Search rows keyed by their thread: message_search's rowid becomes (threads.seq << 20) + a counter
-- within the thread, so a match names its thread straight from the full-text index (no row is read
-- to find it), and one thread can be probed with a rowid range. `scope` carries the account id as a
-- token, so a match is narrowed to one account inside the index.
UPDATE `threads` SET `seq` = `rowid` WHERE `seq` IS NULL;
--> statement-breakpoint
UPDATE `messages` SET `search_rowid` = `keyed`.`search_rowid`
FROM (
	SELECT `m`.`id` AS `id`,
		(`t`.`seq` << 20) + row_number() OVER (PARTITION BY `m`.`thread_id` ORDER BY `m`.`received_at`, `m`.`id`) AS `search_rowid`,
		row_number() OVER (PARTITION BY `m`.`thread_id` ORDER BY `m`.`received_at`, `m`.`id`) AS `n`
	FROM `messages` `m` JOIN `threads` `t` ON `t`.`account_id` = `m`.`account_id` AND `t`.`id` = `m`.`thread_id`
) AS `keyed`
WHERE `messages`.`id` = `keyed`.`id` AND `keyed`.`n` < 1048576;
--> statement-breakpoint
DROP TABLE `message_search`;
--> statement-breakpoint
CREATE VIRTUAL TABLE `message_search` USING fts5(
	`subject`,
	`participants`,
	`body`,
	`scope`,
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
INSERT INTO `message_search` (`rowid`, `subject`, `participants`, `body`, `scope`)
SELECT `search_rowid`, `subject`, `from_name` || ' <' || `from_address` || '> ' || `to_list` || ' ' || `cc_list`, `text_body`, `account_id`
FROM `messages` WHERE `search_rowid` IS NOT NULL;
--> statement-breakpoint
-- The index's vocabulary, read to spell out what a typed prefix stands for.
CREATE VIRTUAL TABLE `message_search_terms` USING fts5vocab(`message_search`, 'row');
