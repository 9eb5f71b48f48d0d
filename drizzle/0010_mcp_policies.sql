CREATE TABLE "mcp_policies" (
	"workspace_id" integer PRIMARY KEY NOT NULL,
	"allowed" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mcp_policies" ADD CONSTRAINT "mcp_policies_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;