ALTER TABLE `accounts` ADD `search_no` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `accounts_search_no` ON `accounts` (`search_no`);