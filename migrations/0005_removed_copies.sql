CREATE TABLE `removed_copies` (
	`account_id` text NOT NULL,
	`mailbox_id` text NOT NULL,
	`provider_message_id` text NOT NULL,
	`removed_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `mailbox_id`, `provider_message_id`)
);
