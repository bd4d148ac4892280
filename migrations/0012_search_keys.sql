ALTER TABLE `messages` ADD `search_rowid` integer;--> statement-breakpoint
ALTER TABLE `threads` ADD `seq` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `threads_seq` ON `threads` (`seq`);