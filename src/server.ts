// Wires infrastructure from the config: database (migrated), shared state, master key. Used
// by `core-api serve` and by the test harness, so tests run the same assembly as production.
import { type AppDeps, buildApp } from './app.ts'
import { ensureEncryptionKey, ensureMasterKey } from './platform/auth/master-key.ts'
import type { Config } from './platform/config/index.ts'
import { type DatabaseHandle, openDatabase } from './platform/db/index.ts'
import { connectRedis, MemoryPubSub, type PubSub, RedisPubSub } from './platform/kv/index.ts'
import { type Clock, systemClock } from './platform/lib/clock.ts'
import { loggerOptions } from './platform/logging.ts'

export async function openConfiguredDatabase(config: Config): Promise<DatabaseHandle> {
  return config.databaseUrl
    ? openDatabase({ databaseUrl: config.databaseUrl, poolSize: config.databasePoolSize })
    : openDatabase({ dataDir: config.dataDir })
}

export function connectPubSub(config: Config): PubSub {
  return config.redisUrl ? new RedisPubSub(config.redisUrl, config.redisPrefix) : new MemoryPubSub()
}

export type Server = Awaited<ReturnType<typeof buildApp>> & { generatedMasterKey: string | null }

/** A ready (migrated, not listening) app that owns its database and pub/sub connections. */
export async function createServer(
  config: Config,
  options: { clock?: Clock; database?: DatabaseHandle; logger?: AppDeps['logger'] } = {},
): Promise<Server> {
  // First, so a bad LOG_FORMAT is refused before the database is opened.
  const logger =
    options.logger === undefined ? loggerOptions(config.logLevel, config.logFormat) : options.logger
  const database = options.database ?? (await openConfiguredDatabase(config))
  let pubsub: PubSub | null = null
  let redis: ReturnType<typeof connectRedis> | null = null
  try {
    await database.migrate()
    const master = await ensureMasterKey(database.db, config.masterKey)
    pubsub = connectPubSub(config)
    redis = config.redisUrl ? connectRedis(config.redisUrl, { failFast: true }) : null
    const ownedPubsub = pubsub
    const ownedRedis = redis
    const app = await buildApp({
      config,
      database,
      pubsub,
      redis,
      clock: options.clock ?? systemClock,
      masterKeyHash: master.hash,
      encryptionKey: await ensureEncryptionKey(database.db, config.encryptionKey),
      logger,
      closeInfrastructure: async () => {
        await ownedPubsub.close()
        ownedRedis?.disconnect()
        await database.close()
      },
    })
    return Object.assign(app, { generatedMasterKey: master.generated })
  } catch (error) {
    redis?.disconnect()
    await pubsub?.close()
    await database.close()
    throw error
  }
}
