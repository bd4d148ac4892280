ALTER TABLE `connect_invites` ADD `window_days` integer DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `window_days` integer DEFAULT 30 NOT NULL;