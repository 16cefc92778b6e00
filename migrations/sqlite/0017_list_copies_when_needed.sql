-- A credit or tag written with its article's status and publication time already (as the service writes them) is
-- left as it is: the triggers of 0015 rewrote every new row, moving its entry in the (byline|tag, status,
-- published_at) index for nothing. Rows written without them (by other code) are still filled in.
DROP TRIGGER `article_bylines_copies_insert`;
--> statement-breakpoint
CREATE TRIGGER `article_bylines_copies_insert` AFTER INSERT ON `article_bylines`
WHEN NOT EXISTS (SELECT 1 FROM `articles` WHERE `articles`.`id` = new.`article_id`
	AND `articles`.`status` IS new.`status` AND `articles`.`published_at` IS new.`published_at`) BEGIN
	UPDATE `article_bylines` SET (`status`, `published_at`) =
		(SELECT `status`, `published_at` FROM `articles` WHERE `articles`.`id` = new.`article_id`)
	WHERE `article_id` = new.`article_id` AND `position` = new.`position`;
END;
--> statement-breakpoint
DROP TRIGGER `article_tags_copies_insert`;
--> statement-breakpoint
CREATE TRIGGER `article_tags_copies_insert` AFTER INSERT ON `article_tags`
WHEN NOT EXISTS (SELECT 1 FROM `articles` WHERE `articles`.`id` = new.`article_id`
	AND `articles`.`status` IS new.`status` AND `articles`.`published_at` IS new.`published_at`) BEGIN
	UPDATE `article_tags` SET (`status`, `published_at`) =
		(SELECT `status`, `published_at` FROM `articles` WHERE `articles`.`id` = new.`article_id`)
	WHERE `article_id` = new.`article_id` AND `tag` = new.`tag`;
END;
