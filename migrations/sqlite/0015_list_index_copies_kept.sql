-- When each credit's and tag's article may be seen by readers (its status and publication time), copied into the
-- credit's and tag's rows and kept there by the database, whatever code writes: filled when a row is written,
-- rewritten when the article's status or publication time changes (see articleBylines in src/db/sqlite/schema.ts).
UPDATE `article_bylines` SET (`status`, `published_at`) =
	(SELECT `status`, `published_at` FROM `articles` WHERE `articles`.`id` = `article_bylines`.`article_id`);
--> statement-breakpoint
UPDATE `article_tags` SET (`status`, `published_at`) =
	(SELECT `status`, `published_at` FROM `articles` WHERE `articles`.`id` = `article_tags`.`article_id`);
--> statement-breakpoint
CREATE TRIGGER `article_bylines_copies_insert` AFTER INSERT ON `article_bylines` BEGIN
	UPDATE `article_bylines` SET (`status`, `published_at`) =
		(SELECT `status`, `published_at` FROM `articles` WHERE `articles`.`id` = new.`article_id`)
	WHERE `article_id` = new.`article_id` AND `position` = new.`position`;
END;
--> statement-breakpoint
CREATE TRIGGER `article_bylines_copies_update` AFTER UPDATE OF `article_id` ON `article_bylines` BEGIN
	UPDATE `article_bylines` SET (`status`, `published_at`) =
		(SELECT `status`, `published_at` FROM `articles` WHERE `articles`.`id` = new.`article_id`)
	WHERE `article_id` = new.`article_id` AND `position` = new.`position`;
END;
--> statement-breakpoint
CREATE TRIGGER `article_tags_copies_insert` AFTER INSERT ON `article_tags` BEGIN
	UPDATE `article_tags` SET (`status`, `published_at`) =
		(SELECT `status`, `published_at` FROM `articles` WHERE `articles`.`id` = new.`article_id`)
	WHERE `article_id` = new.`article_id` AND `tag` = new.`tag`;
END;
--> statement-breakpoint
CREATE TRIGGER `article_tags_copies_update` AFTER UPDATE OF `article_id` ON `article_tags` BEGIN
	UPDATE `article_tags` SET (`status`, `published_at`) =
		(SELECT `status`, `published_at` FROM `articles` WHERE `articles`.`id` = new.`article_id`)
	WHERE `article_id` = new.`article_id` AND `tag` = new.`tag`;
END;
--> statement-breakpoint
CREATE TRIGGER `articles_byline_tag_copies` AFTER UPDATE OF `status`, `published_at` ON `articles`
WHEN new.`status` IS NOT old.`status` OR new.`published_at` IS NOT old.`published_at` BEGIN
	UPDATE `article_bylines` SET (`status`, `published_at`) = (new.`status`, new.`published_at`) WHERE `article_id` = new.`id`;
	UPDATE `article_tags` SET (`status`, `published_at`) = (new.`status`, new.`published_at`) WHERE `article_id` = new.`id`;
END;
