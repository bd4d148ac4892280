CREATE TABLE `notes` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`author_id` text NOT NULL,
	`body` text NOT NULL,
	`mentions` text DEFAULT '[]' NOT NULL,
	`created_at` integer NOT NULL,
	`thread_version` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notes_thread` ON `notes` (`account_id`,`thread_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `thread_reads` (
	`account_id` text NOT NULL,
	`user_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`read_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `user_id`, `thread_id`)
);
--> statement-breakpoint
CREATE TABLE `thread_tags` (
	`account_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`tag` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `thread_id`, `tag`)
);
--> statement-breakpoint
CREATE INDEX `thread_tags_tag` ON `thread_tags` (`account_id`,`tag`);--> statement-breakpoint
ALTER TABLE `messages` ADD `thread_version` integer;--> statement-breakpoint
ALTER TABLE `threads` ADD `status` text DEFAULT 'open' NOT NULL;--> statement-breakpoint
ALTER TABLE `threads` ADD `snoozed_until` integer;--> statement-breakpoint
ALTER TABLE `threads` ADD `assignee_id` text;--> statement-breakpoint
ALTER TABLE `threads` ADD `hidden_at` integer;--> statement-breakpoint
ALTER TABLE `threads` ADD `version` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `threads_assignee` ON `threads` (`account_id`,`assignee_id`,`last_message_at`);