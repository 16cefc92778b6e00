-- The full-text index keeps no copy of the text it indexes (FTS5 contentless, with deletes). Nothing read it: ranking
-- (bm25) reads the index and each document's column sizes, snippets are made from the article row, and highlighting
-- uses the short fields' own index, which keeps its text. The copy was a third of the database at 100,000 articles
-- (544 MiB of 1.66 GiB), written again on every article write. The index is copied as it stands (every document under
-- its own rowid, its text from the old table's copy; ~20 s at 100,000 articles), then merged into one segment.
DROP TRIGGER `article_search_delete`;
--> statement-breakpoint
CREATE VIRTUAL TABLE `articles_fts_contentless` USING fts5(
	headline, summary, body, tags, bylines,
	content = '', contentless_delete = 1,
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
INSERT INTO `articles_fts_contentless` (rowid, headline, summary, body, tags, bylines)
	SELECT rowid, headline, summary, body, tags, bylines FROM `articles_fts`;
--> statement-breakpoint
INSERT INTO `articles_fts_contentless` (`articles_fts_contentless`) VALUES ('optimize');
--> statement-breakpoint
DROP TABLE `articles_fts`;
--> statement-breakpoint
ALTER TABLE `articles_fts_contentless` RENAME TO `articles_fts`;
--> statement-breakpoint
CREATE TRIGGER `article_search_delete` AFTER DELETE ON `article_search` BEGIN
	DELETE FROM `articles_fts` WHERE rowid = old.doc;
	DELETE FROM `articles_fts_short` WHERE rowid = old.doc;
END;
