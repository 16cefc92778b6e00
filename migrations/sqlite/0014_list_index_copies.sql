DROP INDEX `article_bylines_byline_idx`;--> statement-breakpoint
ALTER TABLE `article_bylines` ADD `status` text;--> statement-breakpoint
ALTER TABLE `article_bylines` ADD `published_at` integer;--> statement-breakpoint
CREATE INDEX `article_bylines_byline_published_idx` ON `article_bylines` (`byline_id`,`status`,`published_at`,`article_id`);--> statement-breakpoint
DROP INDEX `article_search_section_idx`;--> statement-breakpoint
CREATE INDEX `article_search_section_published_idx` ON `article_search` (`section_id`,`status`,`published_at`,`article_id`);--> statement-breakpoint
DROP INDEX `article_tags_tag_idx`;--> statement-breakpoint
ALTER TABLE `article_tags` ADD `status` text;--> statement-breakpoint
ALTER TABLE `article_tags` ADD `published_at` integer;--> statement-breakpoint
CREATE INDEX `article_tags_tag_published_idx` ON `article_tags` (`tag`,`status`,`published_at`,`article_id`);