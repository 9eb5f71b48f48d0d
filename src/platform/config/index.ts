// Every setting core-api reads, defined once: its environment variable, its default and
// why it exists. `loadConfig()` parses the environment once at start and freezes the result;
// nothing else in the codebase reads `process.env`. The README's configuration table mirrors it.

export type Config = Readonly<{
  /** TCP port of the HTTP server. */
  port: number
  /** Interface the HTTP server binds to. */
  host: string
  /** Folder of the embedded PostgreSQL (PGlite) database; unused when `databaseUrl` is set. */
  dataDir: string
  /** PostgreSQL connection string; wins over `dataDir`. */
  databaseUrl: string | null
  /** Most connections one instance opens to PostgreSQL. */
  databasePoolSize: number
  /** Redis connection string: shared rate limits, idempotency locks and cache invalidation. */
  redisUrl: string | null
  /** Prefix of every Redis key and channel, so several deployments can share one Redis. */
  redisPrefix: string
  /** External base URL, used in pagination links and the OpenAPI document's server. */
  publicUrl: string
  /** Platform admin credential (all scopes, any workspace). Generated at first start when unset. */
  masterKey: string | null
  /** Accept http:// and private-network webhook URLs (development and tests only). */
  webhookAllowInsecureUrls: boolean
  /** Key material (32+ characters) for encrypting secrets at rest; generated and stored in the database when unset. */
  encryptionKey: string | null
  /** Run the webhook delivery worker inside the server (`core-api worker` runs it alone). */
  webhookWorker: boolean
  /** Seconds a webhook receiver has to answer. */
  webhookTimeoutSeconds: number
  /** Delay before each delivery attempt, in seconds: the first attempt, then each retry. */
  webhookRetrySchedule: readonly number[]
  /**
   * Seconds a worker's claim on a delivery lasts (at least twice `webhookTimeoutSeconds`, so a
   * live attempt never loses its claim); after a crash, another worker sends it then.
   */
  webhookClaimSeconds: number
  /** Hours an endpoint may fail without a success before it is disabled. */
  webhookDisableAfterHours: number
  /** Delivery attempts one worker runs at once. */
  webhookConcurrency: number
  /** Deliveries of one endpoint held at once, by all workers together. */
  webhookEndpointConcurrency: number
  /** Days finished webhook deliveries and their events are kept; 0 keeps them forever. */
  webhookRetentionDays: number
  /** How often the worker looks for due deliveries when no notification wakes it, in ms. */
  webhookPollMs: number
  /** Apply rate limits at all (turn off only behind a gateway that limits, or to measure their cost). */
  rateLimitEnabled: boolean
  /** Per-IP request budget per hour; 0 turns the per-IP bucket off. */
  rateLimitIpPerHour: number
  /** Per-IP budget of `POST /api/v1/pixel/track` per minute. */
  rateLimitPixelPerMinute: number
  /** Per-IP budget of the OAuth endpoints (`/oauth2/*`) per 5 minutes. */
  rateLimitOauthPer5Minutes: number
  /** Failed authentications allowed per IP per minute before further ones are 429. */
  rateLimitAuthFailuresPerMinute: number
  /** Trust X-Forwarded-For from proxies: `false`, `true`, a hop count or a list of CIDRs. */
  trustProxy: boolean | number | string
  /** Path of a plans JSON file overriding config/plans.json (limits per tier). */
  plansFile: string | null
  /** How long a response is replayed for a repeated Idempotency-Key, in hours. */
  idempotencyTtlHours: number
  /** How long a running request holds its Idempotency-Key before a retry may take over (crash recovery), in seconds. */
  idempotencyLockSeconds: number
  /**
   * Days recorded usage is kept: the event ids of usage records (which make a retried record
   * count once) and the counters of past monthly periods. The current and the previous billing
   * period are always kept, whatever the setting; counters that never reset are never purged.
   */
  usageRetentionDays: number
  /** pino log level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: string
  /** Log line format: `json` (one JSON object a line), or `pretty` (readable in a terminal). */
  logFormat: string
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number
  /** How long a resolved credential stays in the in-process cache, in seconds: the bound on a revocation missed by pub/sub. */
  credentialCacheSeconds: number
  /** How often buffered `last_used_at` timestamps of API keys are written, in seconds. */
  lastUsedFlushSeconds: number
}>

type Env = Record<string, string | undefined>

function text(env: Env, name: string, fallback: string): string {
  const value = env[name]
  return value === undefined || value === '' ? fallback : value
}

function optional(env: Env, name: string): string | null {
  const value = env[name]
  return value === undefined || value === '' ? null : value
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`)
  }
  return value
}

function flag(env: Env, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase()
  if (raw === '' || raw === '0' || raw === 'false' || raw === 'no') return false
  if (raw === '1' || raw === 'true' || raw === 'yes') return true
  throw new ConfigError(`${name} must be 1 or 0, got "${env[name]}"`)
}

/** Default: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
const DEFAULT_SCHEDULE = [0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000]

function schedule(raw: string | undefined): readonly number[] {
  if (raw === undefined || raw === '') return Object.freeze([...DEFAULT_SCHEDULE])
  const parts = raw.split(',').map((s) => Number(s.trim()))
  if (
    parts.length < 1 ||
    parts.length > 50 ||
    parts.some((n) => !Number.isFinite(n) || n < 0 || n > 7 * 86_400)
  ) {
    throw new ConfigError(
      'WEBHOOK_RETRY_SCHEDULE must be 1 to 50 comma-separated delays in seconds, such as 0,5,300',
    )
  }
  return Object.freeze(parts)
}

function encryptionKey(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null
  if (raw.length < 32) throw new ConfigError('ENCRYPTION_KEY must be at least 32 characters')
  return raw
}

function proxySetting(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false
  if (raw === 'true') return true
  if (/^[1-9][0-9]?$/.test(raw)) return Number(raw)
  return raw // a comma-separated list of addresses or CIDRs
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0, 65535)
  const host = text(env, 'HOST', '127.0.0.1')
  const publicUrl = text(env, 'PUBLIC_URL', `http://${host.includes(':') ? `[${host}]` : host}:${port}`)
  try {
    new URL(publicUrl)
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an absolute URL, got "${publicUrl}"`)
  }
  const masterKey = optional(env, 'CORE_API_MASTER_KEY')
  if (masterKey !== null && !/^[A-Za-z0-9_\-.~+/]{32,256}$/.test(masterKey)) {
    throw new ConfigError('CORE_API_MASTER_KEY must be 32 to 256 characters of A-Z, a-z, 0-9 and _-.~+/')
  }
  return Object.freeze({
    port,
    host,
    dataDir: text(env, 'DATA_DIR', './data'),
    databaseUrl: optional(env, 'DATABASE_URL'),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    redisUrl: optional(env, 'REDIS_URL'),
    redisPrefix: text(env, 'REDIS_PREFIX', 'core-api:'),
    publicUrl: publicUrl.replace(/\/+$/, ''),
    masterKey,
    webhookAllowInsecureUrls: flag(env, 'WEBHOOK_ALLOW_INSECURE_URLS'),
    encryptionKey: encryptionKey(env.ENCRYPTION_KEY),
    webhookWorker:
      env.WEBHOOK_WORKER === undefined || env.WEBHOOK_WORKER === '' ? true : flag(env, 'WEBHOOK_WORKER'),
    webhookTimeoutSeconds: integer(env, 'WEBHOOK_TIMEOUT_SECONDS', 15, 1, 300),
    webhookRetrySchedule: schedule(env.WEBHOOK_RETRY_SCHEDULE),
    webhookClaimSeconds: integer(env, 'WEBHOOK_CLAIM_SECONDS', 120, 2, 3600),
    webhookDisableAfterHours: integer(env, 'WEBHOOK_DISABLE_AFTER_HOURS', 120, 1, 24 * 365),
    webhookConcurrency: integer(env, 'WEBHOOK_CONCURRENCY', 128, 1, 10_000),
    webhookEndpointConcurrency: integer(env, 'WEBHOOK_ENDPOINT_CONCURRENCY', 64, 1, 10_000),
    webhookRetentionDays: integer(env, 'WEBHOOK_RETENTION_DAYS', 30, 0, 3650),
    webhookPollMs: integer(env, 'WEBHOOK_POLL_MS', 1000, 10, 60_000),
    rateLimitEnabled:
      env.RATE_LIMIT_ENABLED === undefined || env.RATE_LIMIT_ENABLED === ''
        ? true
        : flag(env, 'RATE_LIMIT_ENABLED'),
    rateLimitIpPerHour: integer(env, 'RATE_LIMIT_IP_PER_HOUR', 10_000, 0, 1_000_000_000),
    rateLimitPixelPerMinute: integer(env, 'RATE_LIMIT_PIXEL_PER_MINUTE', 300, 0, 1_000_000_000),
    rateLimitOauthPer5Minutes: integer(env, 'RATE_LIMIT_OAUTH_PER_5_MINUTES', 100, 0, 1_000_000_000),
    rateLimitAuthFailuresPerMinute: integer(env, 'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE', 30, 0, 1_000_000_000),
    trustProxy: proxySetting(env.TRUST_PROXY),
    plansFile: optional(env, 'PLANS_FILE'),
    idempotencyTtlHours: integer(env, 'IDEMPOTENCY_TTL_HOURS', 24, 1, 24 * 30),
    idempotencyLockSeconds: integer(env, 'IDEMPOTENCY_LOCK_SECONDS', 60, 1, 3600),
    usageRetentionDays: integer(env, 'USAGE_RETENTION_DAYS', 90, 1, 36_500),
    logLevel: text(env, 'LOG_LEVEL', 'info'),
    logFormat: text(env, 'LOG_FORMAT', 'json'),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    credentialCacheSeconds: integer(env, 'CREDENTIAL_CACHE_SECONDS', 5, 0, 86_400),
    lastUsedFlushSeconds: integer(env, 'LAST_USED_FLUSH_SECONDS', 10, 1, 3600),
  })
}
