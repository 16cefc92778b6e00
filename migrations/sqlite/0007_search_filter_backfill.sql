-- Fills the search index's filter columns (added in 0006) from the articles they describe.
UPDATE `article_search` SET
	`status` = (SELECT `status` FROM `articles` WHERE `articles`.`id` = `article_search`.`article_id`),
	`published_at` = (SELECT `published_at` FROM `articles` WHERE `articles`.`id` = `article_search`.`article_id`),
	`updated_at` = (SELECT `updated_at` FROM `articles` WHERE `articles`.`id` = `article_search`.`article_id`),
	`section_id` = (SELECT `section_id` FROM `articles` WHERE `articles`.`id` = `article_search`.`article_id`);
