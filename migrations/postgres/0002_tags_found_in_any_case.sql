-- A tag is one tag however it is cased or written: the rows that `tag=` finds articles by hold its key (the
-- service's tagKey: NFKC, trimmed, case folded, ß as ss, İ as i, a final sigma as one), written here as closely
-- as SQL can (lower() folds every script under a UTF-8 locale). An article given both China and china keeps one
-- row; it still shows its tags as they were typed.
CREATE FUNCTION pg_temp.tag_key(tag text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT normalize(regexp_replace(replace(replace(lower(normalize(tag, NFKC)), 'ß', 'ss'), 'i' || chr(775), 'i'), 'σ\M', 'ς', 'g'), NFC)
$$;--> statement-breakpoint
DELETE FROM "article_tags" a USING "article_tags" b
	WHERE a."article_id" = b."article_id" AND pg_temp.tag_key(a."tag") = pg_temp.tag_key(b."tag") AND a."tag" > b."tag";--> statement-breakpoint
UPDATE "article_tags" SET "tag" = pg_temp.tag_key("tag") WHERE "tag" <> pg_temp.tag_key("tag");
