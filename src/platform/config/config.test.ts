import { describe, expect, expectTypeOf, it } from 'vitest'
import { type Config, ConfigError, loadConfig } from './index.ts'

const DEFAULTS = {
  port: 3000,
  host: '127.0.0.1',
  dataDir: './data',
  databaseUrl: null,
  databasePoolSize: 10,
  redisUrl: null,
  redisPrefix: 'core-api:',
  publicUrl: 'http://127.0.0.1:3000',
  masterKey: null,
  webhookAllowInsecureUrls: false,
  encryptionKey: null,
  webhookWorker: true,
  webhookTimeoutSeconds: 15,
  webhookRetrySchedule: [0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000],
  webhookClaimSeconds: 120,
  webhookDisableAfterHours: 120,
  webhookConcurrency: 128,
  webhookEndpointConcurrency: 64,
  webhookRetentionDays: 30,
  webhookPollMs: 1000,
  rateLimitEnabled: true,
  rateLimitIpPerHour: 10_000,
  rateLimitAuthFailuresPerMinute: 30,
  trustProxy: false,
  idempotencyTtlHours: 24,
  idempotencyLockSeconds: 60,
  usageRetentionDays: 90,
  plansFile: null,
  logLevel: 'info',
  logFormat: 'json',
  bodyLimitBytes: 1_048_576,
  credentialCacheSeconds: 5,
  lastUsedFlushSeconds: 10,
}

function error(env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`)
}

const MASTER = 'sk_master_0123456789abcdefghijklmnopqrstuv'

describe('loadConfig: defaults', () => {
  it('gives every setting its default in an empty environment, frozen', () => {
    const config = loadConfig({})
    expect(config).toEqual(DEFAULTS)
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.webhookRetrySchedule)).toBe(true)
  })

  it('treats an empty variable as unset', () => {
    const empty = Object.fromEntries(
      ['PORT', 'HOST', 'DATABASE_URL', 'WEBHOOK_WORKER', 'RATE_LIMIT_ENABLED', 'WEBHOOK_RETRY_SCHEDULE'].map(
        (name) => [name, ''],
      ),
    )
    expect(loadConfig(empty)).toEqual(DEFAULTS)
  })

  it('has the field names and types the rest of the code reads', () => {
    expectTypeOf<Config>().toEqualTypeOf<
      Readonly<{
        port: number
        host: string
        dataDir: string
        databaseUrl: string | null
        databasePoolSize: number
        redisUrl: string | null
        redisPrefix: string
        publicUrl: string
        masterKey: string | null
        webhookAllowInsecureUrls: boolean
        encryptionKey: string | null
        webhookWorker: boolean
        webhookTimeoutSeconds: number
        webhookRetrySchedule: readonly number[]
        webhookClaimSeconds: number
        webhookDisableAfterHours: number
        webhookConcurrency: number
        webhookEndpointConcurrency: number
        webhookRetentionDays: number
        webhookPollMs: number
        rateLimitEnabled: boolean
        rateLimitIpPerHour: number
        rateLimitAuthFailuresPerMinute: number
        trustProxy: boolean | number | string
        idempotencyTtlHours: number
        idempotencyLockSeconds: number
        usageRetentionDays: number
        plansFile: string | null
        logLevel: string
        logFormat: string
        bodyLimitBytes: number
        credentialCacheSeconds: number
        lastUsedFlushSeconds: number
      }>
    >()
  })
})

describe('loadConfig: values', () => {
  it('reads each kind of value', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://db/core',
      CORE_API_MASTER_KEY: MASTER,
      ENCRYPTION_KEY: 'k'.repeat(32),
      WEBHOOK_RETRY_SCHEDULE: '1, 2 ,3',
      WEBHOOK_ALLOW_INSECURE_URLS: 'yes',
      WEBHOOK_WORKER: 'FALSE',
      RATE_LIMIT_ENABLED: '0',
      LOG_LEVEL: 'silent',
      PLANS_FILE: './plans.json',
    })
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'http://0.0.0.0:8080',
      databaseUrl: 'postgres://db/core',
      masterKey: MASTER,
      encryptionKey: 'k'.repeat(32),
      webhookRetrySchedule: [1, 2, 3],
      webhookAllowInsecureUrls: true,
      webhookWorker: false,
      rateLimitEnabled: false,
      logLevel: 'silent',
      plansFile: './plans.json',
    })
  })

  it('takes PUBLIC_URL as given without trailing slashes, else builds it from HOST and PORT', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://api.example.com/v//' }).publicUrl).toBe(
      'https://api.example.com/v',
    )
    expect(loadConfig({ HOST: '::1', PORT: '4000' }).publicUrl).toBe('http://[::1]:4000')
  })

  it('reads TRUST_PROXY as off, on, a hop count or a list of addresses', () => {
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true)
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2)
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).trustProxy).toBe('10.0.0.0/8,127.0.0.1')
  })

  it('accepts the bounds of an integer range', () => {
    expect(loadConfig({ PORT: '0', WEBHOOK_RETENTION_DAYS: '0' })).toMatchObject({
      port: 0,
      webhookRetentionDays: 0,
    })
    expect(loadConfig({ PORT: '65535' }).port).toBe(65_535)
  })
})

describe('loadConfig: errors', () => {
  it('refuses an integer that is not one or is out of range', () => {
    expect(error({ PORT: 'abc' })).toBe('PORT must be an integer from 0 to 65535, got "abc"')
    expect(error({ PORT: '65536' })).toBe('PORT must be an integer from 0 to 65535, got "65536"')
    expect(error({ WEBHOOK_TIMEOUT_SECONDS: '1.5' })).toBe(
      'WEBHOOK_TIMEOUT_SECONDS must be an integer from 1 to 300, got "1.5"',
    )
    expect(error({ DATABASE_POOL_SIZE: '0' })).toBe(
      'DATABASE_POOL_SIZE must be an integer from 1 to 1000, got "0"',
    )
  })

  it('refuses a flag that is neither on nor off', () => {
    expect(error({ WEBHOOK_WORKER: 'maybe' })).toBe('WEBHOOK_WORKER must be 1 or 0, got "maybe"')
    expect(error({ RATE_LIMIT_ENABLED: '2' })).toBe('RATE_LIMIT_ENABLED must be 1 or 0, got "2"')
  })

  it('refuses a retry schedule that is not a list of delays', () => {
    const message =
      'WEBHOOK_RETRY_SCHEDULE must be 1 to 50 comma-separated delays in seconds, such as 0,5,300'
    expect(error({ WEBHOOK_RETRY_SCHEDULE: '5,soon' })).toBe(message)
    expect(error({ WEBHOOK_RETRY_SCHEDULE: '-1' })).toBe(message)
    expect(error({ WEBHOOK_RETRY_SCHEDULE: String(7 * 86_400 + 1) })).toBe(message)
    expect(error({ WEBHOOK_RETRY_SCHEDULE: Array(51).fill('1').join(',') })).toBe(message)
    expect(
      loadConfig({ WEBHOOK_RETRY_SCHEDULE: Array(50).fill('1').join(',') }).webhookRetrySchedule,
    ).toHaveLength(50)
  })

  it('refuses short key material and a malformed master key without echoing them', () => {
    expect(error({ ENCRYPTION_KEY: 'short-secret' })).toBe('ENCRYPTION_KEY must be at least 32 characters')
    const shape = 'CORE_API_MASTER_KEY must be 32 to 256 characters of A-Z, a-z, 0-9 and _-.~+/'
    expect(error({ CORE_API_MASTER_KEY: 'short-secret' })).toBe(shape)
    expect(error({ CORE_API_MASTER_KEY: `${MASTER}!` })).toBe(shape)
    expect(error({ CORE_API_MASTER_KEY: 'a'.repeat(257) })).toBe(shape)
  })

  it('refuses a PUBLIC_URL that is not absolute, given or built from HOST', () => {
    expect(error({ PUBLIC_URL: 'api.example.com' })).toBe(
      'PUBLIC_URL must be an absolute URL, got "api.example.com"',
    )
    expect(error({ HOST: 'a b' })).toBe('PUBLIC_URL must be an absolute URL, got "http://a b:3000"')
  })

  it('refuses an unknown log level', () => {
    expect(error({ LOG_LEVEL: 'verbose' })).toBe(
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    )
  })
})
