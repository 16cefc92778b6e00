-- A tag is one tag however it is cased or written: the rows that `tag=` finds articles by hold its key, tag_key()
-- (the service's tagKey: NFKC, trimmed, case folded; registered on every connection it opens). An article given
-- both China and china keeps one row, the first written; it still shows its tags as they were typed.
DELETE FROM `article_tags` WHERE rowid NOT IN (SELECT min(rowid) FROM `article_tags` GROUP BY `article_id`, tag_key(`tag`));--> statement-breakpoint
UPDATE `article_tags` SET `tag` = tag_key(`tag`) WHERE `tag` <> tag_key(`tag`);
