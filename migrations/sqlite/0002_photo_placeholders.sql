ALTER TABLE `photos` ADD `placeholder` text;--> statement-breakpoint
ALTER TABLE `photos` ADD `dominant_color` text;