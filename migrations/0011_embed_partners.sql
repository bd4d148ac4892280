CREATE TABLE `embed_partner_origins` (
	`account_id` text NOT NULL,
	`partner_id` text NOT NULL,
	`origin` text NOT NULL,
	PRIMARY KEY(`account_id`, `partner_id`, `origin`)
);
--> statement-breakpoint
CREATE INDEX `embed_partner_origins_origin` ON `embed_partner_origins` (`origin`);--> statement-breakpoint
CREATE TABLE `embed_partners` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`name` text NOT NULL,
	`mailbox_id` text,
	`permissions` text DEFAULT '["read"]' NOT NULL,
	`key_type` text NOT NULL,
	`jwks_url` text,
	`sealed_secret` text,
	`key_version` integer DEFAULT 1 NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`key_rotated_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `embed_partners_account` ON `embed_partners` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `embed_sessions` (
	`token_hash` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`partner_id` text NOT NULL,
	`key_version` integer NOT NULL,
	`mailbox_id` text NOT NULL,
	`partner_user_id` text NOT NULL,
	`partner_user_name` text NOT NULL,
	`permissions` text NOT NULL,
	`contact` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `embed_sessions_partner` ON `embed_sessions` (`account_id`,`partner_id`);--> statement-breakpoint
ALTER TABLE `messages` ADD `sent_via_partner_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `sent_via_user_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `sent_via_user_name` text;--> statement-breakpoint
ALTER TABLE `notes` ADD `via_partner_id` text;--> statement-breakpoint
ALTER TABLE `notes` ADD `via_user_id` text;--> statement-breakpoint
ALTER TABLE `notes` ADD `via_user_name` text;