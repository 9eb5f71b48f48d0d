// The dashboard's routes (TanStack Router, under /dashboard). Signing in is in the first
// download; every screen behind it is its own chunk, loaded when first opened.
import type { QueryClient } from '@tanstack/react-query'
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  lazyRouteComponent,
  redirect,
} from '@tanstack/react-router'
import {
  validateDeliverySearch,
  validateIssueSearch,
  validateKeySearch,
  validateMcpServerSearch,
  validatePixelSearch,
  validateSeoSearch,
} from './search.ts'
import { sessionQuery } from './session.ts'
import { NotFound, NoWorkspace, Root, WorkspaceShell } from './shell.tsx'
import { SignIn } from './sign-in.tsx'

type Context = { queryClient: QueryClient }

const rootRoute = createRootRouteWithContext<Context>()({
  component: Root,
  notFoundComponent: NotFound,
})

/** A local path to come back to after signing in; anything else is ignored. */
function safeRedirect(value: unknown): string | undefined {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : undefined
}

const indexRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/',
  beforeLoad: async ({ context }) => {
    const session = await context.queryClient.ensureQueryData(sessionQuery)
    if (!session) throw redirect({ to: '/sign-in' })
    if (session.workspace) {
      throw redirect({
        to: '/w/$workspaceId/overview',
        params: { workspaceId: session.workspace.id },
      })
    }
  },
  component: NoWorkspace,
})

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-in',
  validateSearch: (search: Record<string, unknown>): { redirect?: string } => ({
    redirect: safeRedirect(search.redirect),
  }),
  component: SignIn,
})

const acceptInvitationRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/invitations/accept',
  validateSearch: (search: Record<string, unknown>): { token?: string } => ({
    token: typeof search.token === 'string' ? search.token : undefined,
  }),
  component: lazyRouteComponent(() => import('./screens/accept-invitation.tsx'), 'AcceptInvitation'),
})

const workspaceRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/w/$workspaceId',
  params: {
    parse: ({ workspaceId }) => ({ workspaceId: Number(workspaceId) }),
    stringify: ({ workspaceId }) => ({ workspaceId: String(workspaceId) }),
  },
  beforeLoad: async ({ context, location }) => {
    const session = await context.queryClient.ensureQueryData(sessionQuery)
    if (!session) throw redirect({ to: '/sign-in', search: { redirect: location.href } })
  },
  component: WorkspaceShell,
})

const workspaceIndexRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/',
  beforeLoad: ({ params }) => {
    throw redirect({ to: '/w/$workspaceId/overview', params })
  },
})

const overviewRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/overview',
  component: lazyRouteComponent(() => import('./screens/overview.tsx'), 'Overview'),
})

const keysRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/keys',
  // The filters live in the URL, so a filtered table can be bookmarked, shared and gone back to.
  validateSearch: validateKeySearch,
  component: lazyRouteComponent(() => import('./screens/api-keys.tsx'), 'ApiKeys'),
})

const usageRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/usage',
  component: lazyRouteComponent(() => import('./screens/usage.tsx'), 'Usage'),
})

const pixelRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/pixel',
  // Site, period, interval and filters in the URL: a view of the stats can be bookmarked and shared.
  validateSearch: validatePixelSearch,
  component: lazyRouteComponent(() => import('./screens/pixel.tsx'), 'Pixel'),
})

const webhooksRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/webhooks',
  component: lazyRouteComponent(() => import('./screens/webhooks.tsx'), 'Webhooks'),
})

const eventTypesRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/webhooks/event-types',
  component: lazyRouteComponent(() => import('./screens/event-types.tsx'), 'EventTypes'),
})

const webhookRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/webhooks/$webhookId',
  params: {
    parse: ({ webhookId }) => ({ webhookId: Number(webhookId) }),
    stringify: ({ webhookId }) => ({ webhookId: String(webhookId) }),
  },
  validateSearch: validateDeliverySearch,
  component: lazyRouteComponent(() => import('./screens/webhook-endpoint.tsx'), 'WebhookEndpoint'),
})

const membersRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/members',
  component: lazyRouteComponent(() => import('./screens/members.tsx'), 'Members'),
})

const oauthAppsRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/oauth-apps',
  component: lazyRouteComponent(() => import('./screens/oauth-apps.tsx'), 'OAuthApps'),
})

const seoRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/seo',
  validateSearch: validateSeoSearch,
  component: lazyRouteComponent(() => import('./screens/seo.tsx'), 'Seo'),
})

const seoReportRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/seo/reports/$reportId',
  params: {
    parse: ({ reportId }) => ({ reportId: Number(reportId) }),
    stringify: ({ reportId }) => ({ reportId: String(reportId) }),
  },
  validateSearch: validateIssueSearch,
  component: lazyRouteComponent(() => import('./screens/seo.tsx'), 'SeoReport'),
})

const seoAuditRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/seo/audits/$auditId',
  params: {
    parse: ({ auditId }) => ({ auditId: Number(auditId) }),
    stringify: ({ auditId }) => ({ auditId: String(auditId) }),
  },
  component: lazyRouteComponent(() => import('./screens/seo.tsx'), 'SeoAudit'),
})

const mcpRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/mcp',
  component: lazyRouteComponent(() => import('./screens/mcp.tsx'), 'Mcp'),
})

const mcpServerRoute = createRoute({
  getParentRoute: () => workspaceRoute,
  path: '/mcp/servers/$serverId',
  validateSearch: validateMcpServerSearch,
  component: lazyRouteComponent(() => import('./screens/mcp.tsx'), 'McpServer'),
})

const routeTree = rootRoute.addChildren([
  indexRoute,
  signInRoute,
  acceptInvitationRoute,
  workspaceRoute.addChildren([
    workspaceIndexRoute,
    overviewRoute,
    keysRoute,
    webhooksRoute,
    eventTypesRoute,
    webhookRoute,
    usageRoute,
    membersRoute,
    oauthAppsRoute,
    seoRoute,
    seoReportRoute,
    seoAuditRoute,
    mcpRoute,
    mcpServerRoute,
    pixelRoute,
  ]),
])

export function createDashboardRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    basepath: '/dashboard',
    context: { queryClient },
    defaultPreload: 'intent',
  })
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createDashboardRouter>
  }
}
