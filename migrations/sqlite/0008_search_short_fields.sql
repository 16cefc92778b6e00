-- The short fields of each article's search document (headline, summary, tags, byline names) indexed again on their
-- own, under the same rowid: relevance for phrases and prefixes marks the matches in these fields without loading
-- each candidate's whole text (the body is most of it). Filled from the full index; dropped with the article.
CREATE VIRTUAL TABLE `articles_fts_short` USING fts5(
	headline, summary, tags, bylines,
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
INSERT INTO `articles_fts_short` (rowid, headline, summary, tags, bylines)
	SELECT rowid, headline, summary, tags, bylines FROM `articles_fts`;
--> statement-breakpoint
INSERT INTO `articles_fts_short` (`articles_fts_short`) VALUES ('optimize');
--> statement-breakpoint
DROP TRIGGER `article_search_delete`;
--> statement-breakpoint
CREATE TRIGGER `article_search_delete` AFTER DELETE ON `article_search` BEGIN
	DELETE FROM `articles_fts` WHERE rowid = old.doc;
	DELETE FROM `articles_fts_short` WHERE rowid = old.doc;
END;
