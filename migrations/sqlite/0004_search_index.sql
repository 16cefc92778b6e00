-- Full-text index of articles (SQLite FTS5), kept in step with every article write in the same transaction.
-- Columns are weighted at query time: headline most, then byline names, tags, summary, body.
CREATE VIRTUAL TABLE `articles_fts` USING fts5(
	headline, summary, body, tags, bylines,
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `article_search_delete` AFTER DELETE ON `article_search` BEGIN
	DELETE FROM `articles_fts` WHERE rowid = old.doc;
END;
