ALTER TABLE `connect_invites` ADD `sync_scope` text DEFAULT 'all' NOT NULL;--> statement-breakpoint
ALTER TABLE `mailboxes` ADD `sync_scope` text DEFAULT 'all' NOT NULL;