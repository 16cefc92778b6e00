ALTER TABLE `article_search` ADD `status` text DEFAULT 'draft' NOT NULL;--> statement-breakpoint
ALTER TABLE `article_search` ADD `published_at` integer;--> statement-breakpoint
ALTER TABLE `article_search` ADD `updated_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `article_search` ADD `section_id` text;