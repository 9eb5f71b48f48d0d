// Every setting the platform reads, defined once: its environment variable, its default, how
// it is parsed and why it exists. `loadConfig()` parses the environment once at start and
// freezes the result; nothing else in the codebase reads `process.env`. A module's own
// settings are defined beside it with `defineSettings()` (./settings.ts). The README's
// configuration table is generated from these tables (`npm run docs:config`).
import {
  absoluteUrl,
  atLeast,
  defineSettings,
  delays,
  type Env,
  flag,
  integer,
  matching,
  oneOf,
  PLATFORM,
  parseSettings,
  rememberEnvironment,
  type SettingValues,
  text,
} from './settings.ts'

export {
  absoluteUrl,
  atLeast,
  ConfigError,
  defineSettings,
  delays,
  type Env,
  flag,
  integer,
  type ModuleSettings,
  matching,
  oneOf,
  registeredSettings,
  type Setting,
  type SettingsTable,
  type SettingValues,
  text,
} from './settings.ts'

const MAX_BUDGET = 1_000_000_000

const platform = defineSettings(PLATFORM, {
  port: { env: 'PORT', default: 3000, parse: integer(0, 65_535), doc: 'TCP port' },
  host: {
    env: 'HOST',
    default: '127.0.0.1',
    parse: text,
    doc: 'interface to bind (`0.0.0.0` for all)',
  },
  dataDir: {
    env: 'DATA_DIR',
    default: './data',
    parse: text,
    doc: 'folder of the embedded PostgreSQL (PGlite); one process at a time; unused when `DATABASE_URL` is set',
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    default: null,
    parse: text,
    doc: 'PostgreSQL connection string; wins over `DATA_DIR`',
  },
  databasePoolSize: {
    env: 'DATABASE_POOL_SIZE',
    default: 10,
    parse: integer(1, 1000),
    doc: 'most connections one instance opens to PostgreSQL',
  },
  redisUrl: {
    env: 'REDIS_URL',
    default: null,
    parse: text,
    doc: 'Redis: shared rate limits, idempotency locks, cache invalidation across instances',
  },
  redisPrefix: {
    env: 'REDIS_PREFIX',
    default: 'core-api:',
    parse: text,
    doc: 'prefix of every Redis key and channel, so several deployments can share one Redis',
  },
  // Unset, it follows HOST and PORT: loadConfig() derives it below.
  publicUrl: {
    env: 'PUBLIC_URL',
    default: null,
    shown: '`http://HOST:PORT`',
    parse: absoluteUrl,
    doc: "external base URL, used in pagination links and the OpenAPI document's server",
  },
  masterKey: {
    env: 'CORE_API_MASTER_KEY',
    default: null,
    shown: 'generated',
    parse: matching(/^[A-Za-z0-9_\-.~+/]{32,256}$/, '32 to 256 characters of A-Z, a-z, 0-9 and _-.~+/'),
    doc: 'platform admin credential: all scopes, any workspace (32–256 chars of `A-Za-z0-9_-.~+/`); printed once when generated',
  },
  webhookAllowInsecureUrls: {
    env: 'WEBHOOK_ALLOW_INSECURE_URLS',
    default: false,
    parse: flag,
    doc: '`1` lets user-supplied URLs (webhooks, SEO audits, MCP servers) use http:// and reach private addresses (development and tests only)',
  },
  encryptionKey: {
    env: 'ENCRYPTION_KEY',
    default: null,
    shown: 'generated',
    parse: atLeast(32),
    doc: '32+ characters keying the encryption of webhook secrets at rest; set it in production (the generated one lives in the database)',
  },
  webhookWorker: {
    env: 'WEBHOOK_WORKER',
    default: true,
    parse: flag,
    doc: 'run the background work on this server — webhook deliveries and SEO audits (`0`: HTTP only; `core-api worker`: background work only)',
  },
  webhookTimeoutSeconds: {
    env: 'WEBHOOK_TIMEOUT_SECONDS',
    default: 15,
    parse: integer(1, 300),
    doc: 'time a receiver has to answer',
  },
  webhookRetrySchedule: {
    env: 'WEBHOOK_RETRY_SCHEDULE',
    // At once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about a day and a half in all.
    default: Object.freeze([0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000]),
    parse: delays,
    doc: 'delay before each attempt, in seconds: the first attempt, then each retry',
  },
  webhookClaimSeconds: {
    env: 'WEBHOOK_CLAIM_SECONDS',
    default: 120,
    parse: integer(2, 3600),
    doc: "a worker's claim on a delivery, at least 2 × `WEBHOOK_TIMEOUT_SECONDS` (so a live attempt never loses it); after a crash another worker sends it then",
  },
  webhookDisableAfterHours: {
    env: 'WEBHOOK_DISABLE_AFTER_HOURS',
    default: 120,
    parse: integer(1, 24 * 365),
    doc: 'an endpoint failing this long without a success is disabled',
  },
  webhookConcurrency: {
    env: 'WEBHOOK_CONCURRENCY',
    default: 128,
    parse: integer(1, 10_000),
    doc: 'delivery attempts one worker runs at once',
  },
  webhookEndpointConcurrency: {
    env: 'WEBHOOK_ENDPOINT_CONCURRENCY',
    default: 64,
    parse: integer(1, 10_000),
    doc: 'deliveries of one endpoint in flight at once, all workers together (lower it for fragile receivers)',
  },
  webhookRetentionDays: {
    env: 'WEBHOOK_RETENTION_DAYS',
    default: 30,
    parse: integer(0, 3650),
    doc: 'days finished deliveries and their events are kept, then purged (`0` keeps them forever)',
  },
  webhookPollMs: {
    env: 'WEBHOOK_POLL_MS',
    default: 1000,
    parse: integer(10, 60_000),
    doc: 'how often a worker looks for due deliveries without a notification, in milliseconds',
  },
  rateLimitEnabled: {
    env: 'RATE_LIMIT_ENABLED',
    default: true,
    parse: flag,
    doc: '`0` turns every rate limit off (only behind a gateway that limits, or to measure their cost)',
  },
  rateLimitIpPerHour: {
    env: 'RATE_LIMIT_IP_PER_HOUR',
    default: 10_000,
    parse: integer(0, MAX_BUDGET),
    doc: 'per-IP request budget; `0` turns the per-IP bucket off',
  },
  rateLimitAuthFailuresPerMinute: {
    env: 'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE',
    default: 30,
    parse: integer(0, MAX_BUDGET),
    doc: 'failed authentications per IP before further ones are 429',
  },
  trustProxy: {
    env: 'TRUST_PROXY',
    default: false,
    shown: '`false`',
    parse: proxies,
    doc: 'trust `X-Forwarded-For`: `true`, a hop count, or a list of proxy addresses/CIDRs',
  },
  idempotencyTtlHours: {
    env: 'IDEMPOTENCY_TTL_HOURS',
    default: 24,
    parse: integer(1, 24 * 30),
    doc: 'how long a response is replayed for a repeated `Idempotency-Key`',
  },
  idempotencyLockSeconds: {
    env: 'IDEMPOTENCY_LOCK_SECONDS',
    default: 60,
    parse: integer(1, 3600),
    doc: 'how long a running request holds its key before a retry may take over (crash recovery)',
  },
  // Usage-record event ids make a retried record count once; counters that never reset are
  // never purged.
  usageRetentionDays: {
    env: 'USAGE_RETENTION_DAYS',
    default: 90,
    parse: integer(1, 36_500),
    doc: 'days usage-record event ids and past monthly usage are kept (the current and previous month always are)',
  },
  plansFile: {
    env: 'PLANS_FILE',
    default: null,
    parse: text,
    doc: 'plans JSON overriding `config/plans.json` (limits per tier)',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    default: 'info',
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace`, or `silent`',
  },
  logFormat: {
    env: 'LOG_FORMAT',
    default: 'json',
    parse: oneOf(['json', 'pretty']),
    doc: '`json`, or `pretty` for a terminal: one short readable line a request ([logging](docs/logging.md))',
  },
  bodyLimitBytes: {
    env: 'BODY_LIMIT_BYTES',
    default: 1_048_576,
    parse: integer(1024, 100 * 1_048_576),
    doc: 'largest accepted request body (413 above)',
  },
  credentialCacheSeconds: {
    env: 'CREDENTIAL_CACHE_SECONDS',
    default: 5,
    parse: integer(0, 86_400),
    doc: 'how long a resolved key stays cached; the upper bound on a revocation missed by pub/sub',
  },
  lastUsedFlushSeconds: {
    env: 'LAST_USED_FLUSH_SECONDS',
    default: 10,
    parse: integer(1, 3600),
    doc: 'how often buffered `last_used_at` times are written',
  },
})

/** TRUST_PROXY: `false`/`0`, `true`, a hop count (1–99), or a comma-separated list of addresses or CIDRs. */
function proxies(raw: string): boolean | number | string {
  if (raw === 'false' || raw === '0') return false
  if (raw === 'true') return true
  if (/^[1-9][0-9]?$/.test(raw)) return Number(raw)
  return raw
}

/** The platform's settings, parsed and frozen; PUBLIC_URL is always set (it follows HOST and PORT). */
export type Config = Readonly<
  Omit<SettingValues<typeof platform.table>, 'publicUrl'> & {
    publicUrl: string
  }
>

export function loadConfig(env: Env = process.env): Config {
  const values = parseSettings(platform.table, env)
  const host = values.host.includes(':') ? `[${values.host}]` : values.host
  const config: Config = Object.freeze({
    ...values,
    publicUrl: values.publicUrl ?? absoluteUrl(`http://${host}:${values.port}`, 'PUBLIC_URL'),
  })
  rememberEnvironment(config, env)
  return config
}
