-- Copies the database keeps whatever code writes (see articleRelated, articleBylines and articleTags in
-- src/db/sqlite/schema.ts): what a related link shows of its target article, and each credit's and tag's article
-- status and publication time. SQLite's triggers are in migrations/sqlite/0010, 0015 and 0017.
CREATE FUNCTION article_related_target_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	SELECT slug, headline, summary, status, published_at
		INTO NEW.target_slug, NEW.target_headline, NEW.target_summary, NEW.target_status, NEW.target_published_at
		FROM articles WHERE id = NEW.target_id;
	RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER article_related_target_copy BEFORE INSERT OR UPDATE OF target_id ON article_related
	FOR EACH ROW EXECUTE FUNCTION article_related_target_copy();
--> statement-breakpoint
CREATE FUNCTION article_copies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.slug IS DISTINCT FROM OLD.slug OR NEW.headline IS DISTINCT FROM OLD.headline OR NEW.summary IS DISTINCT FROM OLD.summary
		OR NEW.status IS DISTINCT FROM OLD.status OR NEW.published_at IS DISTINCT FROM OLD.published_at THEN
		UPDATE article_related SET target_slug = NEW.slug, target_headline = NEW.headline, target_summary = NEW.summary,
			target_status = NEW.status, target_published_at = NEW.published_at
			WHERE target_id = NEW.id;
	END IF;
	IF NEW.status IS DISTINCT FROM OLD.status OR NEW.published_at IS DISTINCT FROM OLD.published_at THEN
		UPDATE article_bylines SET status = NEW.status, published_at = NEW.published_at WHERE article_id = NEW.id;
		UPDATE article_tags SET status = NEW.status, published_at = NEW.published_at WHERE article_id = NEW.id;
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER article_copies AFTER UPDATE OF slug, headline, summary, status, published_at ON articles
	FOR EACH ROW EXECUTE FUNCTION article_copies();
--> statement-breakpoint
CREATE FUNCTION article_link_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	SELECT status, published_at INTO NEW.status, NEW.published_at FROM articles WHERE id = NEW.article_id;
	RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER article_bylines_copy BEFORE INSERT OR UPDATE OF article_id ON article_bylines
	FOR EACH ROW EXECUTE FUNCTION article_link_copy();
--> statement-breakpoint
CREATE TRIGGER article_tags_copy BEFORE INSERT OR UPDATE OF article_id ON article_tags
	FOR EACH ROW EXECUTE FUNCTION article_link_copy();
--> statement-breakpoint
-- Lists of sections and bylines sort by their folded names character by character, as SQLite does, whatever the
-- database's default collation (one like en_US ignores spaces and punctuation at first).
ALTER TABLE sections ALTER COLUMN sort_name TYPE text COLLATE "C";
--> statement-breakpoint
ALTER TABLE bylines ALTER COLUMN sort_name TYPE text COLLATE "C";
