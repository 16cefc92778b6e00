CREATE TABLE "article_search_parts" (
	"doc" integer NOT NULL,
	"part" integer NOT NULL,
	"document" "tsvector" NOT NULL,
	CONSTRAINT "article_search_parts_doc_part_pk" PRIMARY KEY("doc","part")
);
--> statement-breakpoint
ALTER TABLE "article_search" ADD COLUMN "parted" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "article_search_parts" ADD CONSTRAINT "article_search_parts_doc_article_search_doc_fk" FOREIGN KEY ("doc") REFERENCES "public"."article_search"("doc") ON DELETE cascade ON UPDATE no action;