CREATE TABLE "entitlement_counters" (
	"workspace_id" integer NOT NULL,
	"feature" text NOT NULL,
	"used" bigint NOT NULL,
	CONSTRAINT "entitlement_counters_workspace_id_feature_pk" PRIMARY KEY("workspace_id","feature")
);
--> statement-breakpoint
ALTER TABLE "entitlement_counters" ADD CONSTRAINT "entitlement_counters_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;