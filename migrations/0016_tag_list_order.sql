DROP INDEX `thread_tags_tag`;--> statement-breakpoint
ALTER TABLE `thread_tags` ADD `last_message_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `thread_tags_list` ON `thread_tags` (`account_id`,`tag`,`last_message_at`,`thread_id`);