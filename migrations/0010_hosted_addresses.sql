CREATE TABLE `hosted_addresses` (
	`address` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`mailbox_id` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`released_at` integer,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `hosted_addresses_mailbox` ON `hosted_addresses` (`account_id`,`mailbox_id`);