CREATE TABLE `attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`message_id` text NOT NULL,
	`filename` text DEFAULT '' NOT NULL,
	`mime_type` text DEFAULT 'application/octet-stream' NOT NULL,
	`size_bytes` integer NOT NULL,
	`content_id` text,
	`inline` integer DEFAULT false NOT NULL,
	`r2_key` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `attachments_message` ON `attachments` (`account_id`,`message_id`);--> statement-breakpoint
CREATE TABLE `message_refs` (
	`account_id` text NOT NULL,
	`ref_id` text NOT NULL,
	`message_id` text NOT NULL,
	PRIMARY KEY(`account_id`, `ref_id`, `message_id`)
);
--> statement-breakpoint
CREATE TABLE `message_sources` (
	`account_id` text NOT NULL,
	`mailbox_id` text NOT NULL,
	`provider_message_id` text NOT NULL,
	`message_id` text NOT NULL,
	`provider_thread_id` text,
	`labels` text DEFAULT '[]' NOT NULL,
	`outbound` integer DEFAULT false NOT NULL,
	`received_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `mailbox_id`, `provider_message_id`)
);
--> statement-breakpoint
CREATE INDEX `message_sources_message` ON `message_sources` (`account_id`,`message_id`);--> statement-breakpoint
CREATE INDEX `message_sources_thread` ON `message_sources` (`account_id`,`mailbox_id`,`provider_thread_id`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`rfc_message_id` text NOT NULL,
	`in_reply_to` text,
	`references` text DEFAULT '[]' NOT NULL,
	`subject` text DEFAULT '' NOT NULL,
	`from_name` text DEFAULT '' NOT NULL,
	`from_address` text DEFAULT '' NOT NULL,
	`to_list` text DEFAULT '[]' NOT NULL,
	`cc_list` text DEFAULT '[]' NOT NULL,
	`reply_to_list` text DEFAULT '[]' NOT NULL,
	`sent_at` integer,
	`received_at` integer NOT NULL,
	`snippet` text DEFAULT '' NOT NULL,
	`text_body` text DEFAULT '' NOT NULL,
	`has_html` integer DEFAULT false NOT NULL,
	`size_bytes` integer NOT NULL,
	`raw_key` text NOT NULL,
	`is_automated` integer DEFAULT false NOT NULL,
	`is_bounce` integer DEFAULT false NOT NULL,
	`attachment_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_account_rfc_id` ON `messages` (`account_id`,`rfc_message_id`);--> statement-breakpoint
CREATE INDEX `messages_thread` ON `messages` (`account_id`,`thread_id`,`received_at`);--> statement-breakpoint
CREATE TABLE `skipped_items` (
	`account_id` text NOT NULL,
	`mailbox_id` text NOT NULL,
	`provider_message_id` text NOT NULL,
	`reason` text NOT NULL,
	`detail` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `mailbox_id`, `provider_message_id`)
);
--> statement-breakpoint
CREATE TABLE `thread_mailboxes` (
	`account_id` text NOT NULL,
	`thread_id` text NOT NULL,
	`mailbox_id` text NOT NULL,
	`last_message_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `thread_id`, `mailbox_id`)
);
--> statement-breakpoint
CREATE INDEX `thread_mailboxes_inbox` ON `thread_mailboxes` (`account_id`,`mailbox_id`,`last_message_at`);--> statement-breakpoint
CREATE TABLE `threads` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`subject` text DEFAULT '' NOT NULL,
	`snippet` text DEFAULT '' NOT NULL,
	`last_message_at` integer NOT NULL,
	`message_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `threads_account_last` ON `threads` (`account_id`,`last_message_at`);