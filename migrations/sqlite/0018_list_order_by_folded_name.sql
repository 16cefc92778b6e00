DROP INDEX `bylines_name_idx`;--> statement-breakpoint
DROP INDEX `bylines_kind_name_idx`;--> statement-breakpoint
ALTER TABLE `bylines` ADD `sort_name` text DEFAULT '' NOT NULL;--> statement-breakpoint
-- the names as lists sort them, folded by the service's fold() (registered on every connection it opens)
UPDATE `bylines` SET `sort_name` = fold(`name`);--> statement-breakpoint
CREATE INDEX `bylines_name_idx` ON `bylines` (`sort_name`,`id`);--> statement-breakpoint
CREATE INDEX `bylines_kind_name_idx` ON `bylines` (`kind`,`sort_name`,`id`);--> statement-breakpoint
DROP INDEX `sections_parent_position_idx`;--> statement-breakpoint
ALTER TABLE `sections` ADD `sort_name` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `sections` SET `sort_name` = fold(`name`);--> statement-breakpoint
CREATE INDEX `sections_parent_position_idx` ON `sections` (`parent_id`,`position`,`sort_name`,`id`);