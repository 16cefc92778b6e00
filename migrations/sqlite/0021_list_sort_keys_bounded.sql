-- The names sections and bylines are sorted by, held to their first 100 characters (see sortKeyOf in the SQLite client):
-- a list's cursor carries the last row's, and a long name in a script NFKD spreads out (Korean, ligatures, four-byte
-- characters) made cursors longer than the API takes, so such a list could not be paged past it.
UPDATE `sections` SET `sort_name` = substr(`sort_name`, 1, 100) WHERE length(`sort_name`) > 100;
--> statement-breakpoint
UPDATE `bylines` SET `sort_name` = substr(`sort_name`, 1, 100) WHERE length(`sort_name`) > 100;
