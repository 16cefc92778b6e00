ALTER TABLE `article_related` ADD `target_slug` text;--> statement-breakpoint
ALTER TABLE `article_related` ADD `target_headline` text;--> statement-breakpoint
ALTER TABLE `article_related` ADD `target_summary` text;--> statement-breakpoint
ALTER TABLE `article_related` ADD `target_status` text;--> statement-breakpoint
ALTER TABLE `article_related` ADD `target_published_at` integer;