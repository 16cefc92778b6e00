-- What a related link shows of its target article (slug, headline, summary) and when readers may see it (status,
-- publication time), copied into the link's row and kept there by the database, whatever code writes: filled when
-- a link is written, rewritten when the target changes any of them (see articleRelated in src/db/sqlite/schema.ts).
UPDATE `article_related` SET
	(`target_slug`, `target_headline`, `target_summary`, `target_status`, `target_published_at`) =
	(SELECT `slug`, `headline`, `summary`, `status`, `published_at` FROM `articles` WHERE `articles`.`id` = `article_related`.`target_id`)
WHERE `target_id` IS NOT NULL;
--> statement-breakpoint
CREATE TRIGGER `article_related_target_insert` AFTER INSERT ON `article_related` WHEN new.`target_id` IS NOT NULL BEGIN
	UPDATE `article_related` SET
		(`target_slug`, `target_headline`, `target_summary`, `target_status`, `target_published_at`) =
		(SELECT `slug`, `headline`, `summary`, `status`, `published_at` FROM `articles` WHERE `articles`.`id` = new.`target_id`)
	WHERE `id` = new.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `article_related_target_update` AFTER UPDATE OF `target_id` ON `article_related` BEGIN
	UPDATE `article_related` SET
		(`target_slug`, `target_headline`, `target_summary`, `target_status`, `target_published_at`) =
		(SELECT `slug`, `headline`, `summary`, `status`, `published_at` FROM `articles` WHERE `articles`.`id` = new.`target_id`)
	WHERE `id` = new.`id`;
END;
--> statement-breakpoint
CREATE TRIGGER `articles_related_copies` AFTER UPDATE OF `slug`, `headline`, `summary`, `status`, `published_at` ON `articles`
WHEN new.`slug` IS NOT old.`slug` OR new.`headline` IS NOT old.`headline` OR new.`summary` IS NOT old.`summary`
	OR new.`status` IS NOT old.`status` OR new.`published_at` IS NOT old.`published_at` BEGIN
	UPDATE `article_related` SET
		(`target_slug`, `target_headline`, `target_summary`, `target_status`, `target_published_at`) =
		(new.`slug`, new.`headline`, new.`summary`, new.`status`, new.`published_at`)
	WHERE `target_id` = new.`id`;
END;
