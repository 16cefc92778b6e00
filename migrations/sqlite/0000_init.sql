CREATE TABLE `article_bylines` (
	`article_id` text NOT NULL,
	`position` integer NOT NULL,
	`byline_id` text NOT NULL,
	`role` text NOT NULL,
	PRIMARY KEY(`article_id`, `position`),
	FOREIGN KEY (`article_id`) REFERENCES `articles`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`byline_id`) REFERENCES `bylines`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `article_bylines_byline_idx` ON `article_bylines` (`byline_id`,`article_id`);--> statement-breakpoint
CREATE TABLE `article_photos` (
	`article_id` text NOT NULL,
	`photo_id` text NOT NULL,
	PRIMARY KEY(`article_id`, `photo_id`),
	FOREIGN KEY (`article_id`) REFERENCES `articles`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`photo_id`) REFERENCES `photos`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE INDEX `article_photos_photo_idx` ON `article_photos` (`photo_id`);--> statement-breakpoint
CREATE TABLE `article_related` (
	`id` text PRIMARY KEY NOT NULL,
	`article_id` text NOT NULL,
	`position` integer NOT NULL,
	`target_id` text,
	`url` text,
	`headline` text,
	`summary` text,
	FOREIGN KEY (`article_id`) REFERENCES `articles`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`target_id`) REFERENCES `articles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `article_related_position_uq` ON `article_related` (`article_id`,`position`);--> statement-breakpoint
CREATE INDEX `article_related_target_idx` ON `article_related` (`target_id`);--> statement-breakpoint
CREATE TABLE `article_tags` (
	`article_id` text NOT NULL,
	`tag` text NOT NULL,
	PRIMARY KEY(`article_id`, `tag`),
	FOREIGN KEY (`article_id`) REFERENCES `articles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `article_tags_tag_idx` ON `article_tags` (`tag`,`article_id`);--> statement-breakpoint
CREATE TABLE `articles` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`headline` text NOT NULL,
	`summary` text,
	`body` text NOT NULL,
	`status` text NOT NULL,
	`published_at` integer,
	`updated_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`revision` integer NOT NULL,
	`section_id` text,
	`lead_photo_id` text,
	`tags` text NOT NULL,
	`source` text,
	`canonical_url` text,
	`language` text,
	FOREIGN KEY (`section_id`) REFERENCES `sections`(`id`) ON UPDATE no action ON DELETE restrict,
	FOREIGN KEY (`lead_photo_id`) REFERENCES `photos`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `articles_slug_uq` ON `articles` (`slug`);--> statement-breakpoint
CREATE INDEX `articles_published_idx` ON `articles` (`published_at`,`id`);--> statement-breakpoint
CREATE INDEX `articles_status_published_idx` ON `articles` (`status`,`published_at`,`id`);--> statement-breakpoint
CREATE INDEX `articles_section_published_idx` ON `articles` (`section_id`,`published_at`,`id`);--> statement-breakpoint
CREATE INDEX `articles_updated_idx` ON `articles` (`updated_at`,`id`);--> statement-breakpoint
CREATE TABLE `bylines` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`title` text,
	`bio` text,
	`url` text,
	`photo_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`photo_id`) REFERENCES `photos`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `bylines_slug_uq` ON `bylines` (`slug`);--> statement-breakpoint
CREATE INDEX `bylines_name_idx` ON `bylines` (`name`,`id`);--> statement-breakpoint
CREATE INDEX `bylines_kind_name_idx` ON `bylines` (`kind`,`name`,`id`);--> statement-breakpoint
CREATE INDEX `bylines_photo_idx` ON `bylines` (`photo_id`);--> statement-breakpoint
CREATE TABLE `photos` (
	`id` text PRIMARY KEY NOT NULL,
	`caption` text,
	`credit` text,
	`alt_text` text,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`mime_type` text NOT NULL,
	`bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`storage_key` text NOT NULL,
	`focal_x` real,
	`focal_y` real,
	`original_filename` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `photos_created_idx` ON `photos` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `photos_storage_key_idx` ON `photos` (`storage_key`);--> statement-breakpoint
CREATE TABLE `sections` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`parent_id` text,
	`position` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`parent_id`) REFERENCES `sections`(`id`) ON UPDATE no action ON DELETE restrict
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sections_slug_uq` ON `sections` (`slug`);--> statement-breakpoint
CREATE INDEX `sections_parent_position_idx` ON `sections` (`parent_id`,`position`,`name`);