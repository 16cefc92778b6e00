CREATE TABLE `article_removals` (
	`article_id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`removed_at` integer NOT NULL,
	`deleted` integer NOT NULL,
	`public` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `article_removals_public_idx` ON `article_removals` (`public`,`removed_at`,`article_id`);--> statement-breakpoint
CREATE INDEX `article_removals_deleted_idx` ON `article_removals` (`deleted`,`removed_at`,`article_id`);--> statement-breakpoint
ALTER TABLE `article_search` ADD `changed_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- an existing article last changed at the latest of its dates that has passed (a story out since its last edit: at
-- its publication), read from its search row's copies of them; one scheduled for later is marked when it goes live,
-- like any other (see goneLive)
UPDATE `article_search` SET `changed_at` = max(`updated_at`,
	CASE WHEN `published_at` <= CAST(unixepoch('subsec') * 1000 AS INTEGER) THEN `published_at` ELSE 0 END);--> statement-breakpoint
CREATE INDEX `article_search_changed_idx` ON `article_search` (`changed_at`,`article_id`);--> statement-breakpoint
CREATE INDEX `article_search_going_live_idx` ON `article_search` (`published_at`) WHERE "article_search"."status" = 'published' and "article_search"."changed_at" < "article_search"."published_at";