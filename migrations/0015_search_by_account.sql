-- Search rows grouped by account: each account gets a number (accounts.search_no), its threads'
-- seq values become (search_no << 27) + a counter within the account, and message_search's rowid
-- becomes (seq << 16) + a counter within the thread. One account's rows are then one rowid range,
-- which FTS5 reads without touching any other account's, so the index no longer needs the account
-- as a token (the `scope` column is gone).
UPDATE `accounts` SET `search_no` = `numbered`.`n`
FROM (SELECT `id`, row_number() OVER (ORDER BY `created_at`, `id`) AS `n` FROM `accounts`) AS `numbered`
WHERE `accounts`.`id` = `numbered`.`id`;
--> statement-breakpoint
-- New values start at 1 << 27, above every old seq (one per thread), so the unique index never sees two alike.
UPDATE `threads` SET `seq` = `keyed`.`seq`
FROM (
	SELECT `t`.`id` AS `id`,
		(`a`.`search_no` << 27) + row_number() OVER (PARTITION BY `t`.`account_id` ORDER BY `t`.`seq`, `t`.`id`) AS `seq`
	FROM `threads` `t` JOIN `accounts` `a` ON `a`.`id` = `t`.`account_id`
) AS `keyed`
WHERE `threads`.`id` = `keyed`.`id`;
--> statement-breakpoint
UPDATE `messages` SET `search_rowid` = CASE WHEN `keyed`.`n` < 65536 THEN `keyed`.`search_rowid` END
FROM (
	SELECT `m`.`id` AS `id`,
		(`t`.`seq` << 16) + row_number() OVER (PARTITION BY `m`.`thread_id` ORDER BY `m`.`received_at`, `m`.`id`) AS `search_rowid`,
		row_number() OVER (PARTITION BY `m`.`thread_id` ORDER BY `m`.`received_at`, `m`.`id`) AS `n`
	FROM `messages` `m` JOIN `threads` `t` ON `t`.`account_id` = `m`.`account_id` AND `t`.`id` = `m`.`thread_id`
) AS `keyed`
WHERE `messages`.`id` = `keyed`.`id`;
--> statement-breakpoint
DROP TABLE `message_search_terms`;
--> statement-breakpoint
DROP TABLE `message_search`;
--> statement-breakpoint
CREATE VIRTUAL TABLE `message_search` USING fts5(
	`subject`,
	`participants`,
	`body`,
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
INSERT INTO `message_search` (`rowid`, `subject`, `participants`, `body`)
SELECT `search_rowid`, `subject`, `from_name` || ' <' || `from_address` || '> ' || `to_list` || ' ' || `cc_list`, `text_body`
FROM `messages` WHERE `search_rowid` IS NOT NULL;
--> statement-breakpoint
-- The index's vocabulary, read to spell out what a typed prefix stands for.
CREATE VIRTUAL TABLE `message_search_terms` USING fts5vocab(`message_search`, 'row');
--> statement-breakpoint
-- Every new account takes the next number, whichever statement inserts it.
CREATE TRIGGER `accounts_search_no_assign` AFTER INSERT ON `accounts` WHEN NEW.`search_no` IS NULL
BEGIN
	UPDATE `accounts` SET `search_no` = (SELECT coalesce(max(`search_no`), 0) + 1 FROM `accounts`) WHERE `id` = NEW.`id`;
END;
