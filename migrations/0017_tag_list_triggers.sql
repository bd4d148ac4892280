-- thread_tags carries its thread's last activity so a tag's list reads in list order from the
-- thread_tags_list index. Triggers keep the copy exact whatever writes it: a tag added takes the
-- thread's value, and a thread whose last activity changes passes it to all of its tags.
UPDATE `thread_tags` SET `last_message_at` = `t`.`last_message_at`
FROM `threads` `t`
WHERE `t`.`account_id` = `thread_tags`.`account_id` AND `t`.`id` = `thread_tags`.`thread_id`;
--> statement-breakpoint
CREATE TRIGGER `thread_tags_take_last_message_at` AFTER INSERT ON `thread_tags`
BEGIN
	UPDATE `thread_tags` SET `last_message_at` = coalesce((
		SELECT `last_message_at` FROM `threads` WHERE `account_id` = NEW.`account_id` AND `id` = NEW.`thread_id`
	), 0)
	WHERE `rowid` = NEW.`rowid`;
END;
--> statement-breakpoint
CREATE TRIGGER `threads_last_message_at_to_tags` AFTER UPDATE OF `last_message_at` ON `threads`
WHEN NEW.`last_message_at` IS NOT OLD.`last_message_at`
BEGIN
	UPDATE `thread_tags` SET `last_message_at` = NEW.`last_message_at`
	WHERE `account_id` = NEW.`account_id` AND `thread_id` = NEW.`id`;
END;
