ALTER TABLE `mailboxes` ADD `graph_subscription_id` text;--> statement-breakpoint
CREATE INDEX `mailboxes_graph_subscription` ON `mailboxes` (`graph_subscription_id`);