CREATE TABLE "pixel_daily_stats" (
	"site_id" integer NOT NULL,
	"day" date NOT NULL,
	"dimension" text NOT NULL,
	"value" text NOT NULL,
	"visitors" integer NOT NULL,
	"pageviews" integer NOT NULL,
	"events" integer NOT NULL,
	"visits" integer NOT NULL,
	"bounces" integer NOT NULL,
	"duration" double precision NOT NULL,
	CONSTRAINT "pixel_daily_stats_site_id_day_dimension_value_pk" PRIMARY KEY("site_id","day","dimension","value")
);
--> statement-breakpoint
CREATE TABLE "pixel_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "pixel_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"site_id" integer NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"name" text NOT NULL,
	"visitor_id" bigint NOT NULL,
	"hostname" text NOT NULL,
	"pathname" text NOT NULL,
	"source" text,
	"referrer_host" text,
	"utm_medium" text,
	"utm_campaign" text,
	"utm_content" text,
	"utm_term" text,
	"device" text NOT NULL,
	"browser" text NOT NULL,
	"os" text NOT NULL,
	"properties" jsonb
);
--> statement-breakpoint
CREATE TABLE "pixel_salts" (
	"day" date PRIMARY KEY NOT NULL,
	"salt" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pixel_sites" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "pixel_sites_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"workspace_id" integer NOT NULL,
	"domain" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"sample_rate" real DEFAULT 1 NOT NULL,
	"allowed_hostnames" text[] DEFAULT '{}'::text[] NOT NULL,
	"features" jsonb NOT NULL,
	"rolled_through" date,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "pixel_daily_stats" ADD CONSTRAINT "pixel_daily_stats_site_id_pixel_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."pixel_sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pixel_events" ADD CONSTRAINT "pixel_events_site_id_pixel_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."pixel_sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pixel_sites" ADD CONSTRAINT "pixel_sites_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pixel_events_site_time_idx" ON "pixel_events" USING btree ("site_id","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "pixel_sites_domain_key" ON "pixel_sites" USING btree ("domain");--> statement-breakpoint
CREATE INDEX "pixel_sites_allowed_hostnames_idx" ON "pixel_sites" USING gin ("allowed_hostnames");--> statement-breakpoint
CREATE INDEX "pixel_sites_workspace_created_idx" ON "pixel_sites" USING btree ("workspace_id","created_at");