CREATE TABLE `connect_invites` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`email` text NOT NULL,
	`kind` text NOT NULL,
	`mailbox_id` text,
	`token_hash` text NOT NULL,
	`invited_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connect_invites_token_hash` ON `connect_invites` (`token_hash`);--> statement-breakpoint
CREATE INDEX `connect_invites_account` ON `connect_invites` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `oauth_states` (
	`state_hash` text PRIMARY KEY NOT NULL,
	`purpose` text NOT NULL,
	`provider` text NOT NULL,
	`account_id` text,
	`connect_invite_id` text,
	`acknowledged_shared` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `health` text DEFAULT 'good' NOT NULL;--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `health_reason` text;--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `health_detail` text;--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `health_changed_at` integer;--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `grant_email` text;--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `grant_subject` text;--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `connected_at` integer;