CREATE TABLE "pixel_monthly_stats" (
	"site_id" integer NOT NULL,
	"month" date NOT NULL,
	"dimension" text NOT NULL,
	"value" text NOT NULL,
	"visitors" integer NOT NULL,
	"pageviews" integer NOT NULL,
	"events" integer NOT NULL,
	"visits" integer NOT NULL,
	"bounces" integer NOT NULL,
	"duration" double precision NOT NULL,
	CONSTRAINT "pixel_monthly_stats_site_id_month_dimension_value_pk" PRIMARY KEY("site_id","month","dimension","value")
);
--> statement-breakpoint
ALTER TABLE "pixel_monthly_stats" ADD CONSTRAINT "pixel_monthly_stats_site_id_pixel_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."pixel_sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Months of the days already rolled up.
INSERT INTO "pixel_monthly_stats" ("site_id", "month", "dimension", "value", "visitors", "pageviews", "events", "visits", "bounces", "duration")
SELECT "site_id", date_trunc('month', "day")::date, "dimension", "value", sum("visitors"), sum("pageviews"), sum("events"), sum("visits"), sum("bounces"), sum("duration")
FROM "pixel_daily_stats" GROUP BY 1, 2, 3, 4;
