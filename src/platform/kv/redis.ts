// Redis implementations. A subscriber needs a connection of its own (a subscribed Redis
// connection can do nothing else), so RedisPubSub holds two.
import { Redis } from 'ioredis'
import type { MessageHandler, PubSub } from './index.ts'

/**
 * A Redis connection that reconnects forever. `failFast` makes commands fail at once while
 * the connection is down and after `commandTimeoutMs` when Redis hangs, for callers that have
 * a fallback (rate limits) and must never make a request wait on Redis.
 */
export function connectRedis(
  url: string,
  options: { failFast?: boolean; commandTimeoutMs?: number } = {},
): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: options.failFast ? 0 : 1,
    // Commands issued in the same tick share one write: many requests, few round trips.
    enableAutoPipelining: true,
    enableOfflineQueue: !options.failFast,
    connectTimeout: 2000,
    ...(options.commandTimeoutMs !== undefined && { commandTimeout: options.commandTimeoutMs }),
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  })
  redis.on('error', () => {}) // reported by the callers' own failures; never crash the process
  return redis
}

export class RedisPubSub implements PubSub {
  private readonly publisher: Redis
  private readonly subscriber: Redis
  private readonly handlers = new Map<string, MessageHandler[]>()
  private readonly reconnectHandlers: Array<() => void> = []
  private connectedOnce = false

  private readonly prefix: string

  constructor(url: string, prefix: string) {
    this.prefix = prefix
    this.publisher = connectRedis(url)
    this.subscriber = connectRedis(url)
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message)
    })
    this.subscriber.on('ready', () => {
      if (this.connectedOnce) for (const handler of this.reconnectHandlers) handler()
      this.connectedOnce = true
    })
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.publisher.publish(this.prefix + channel, message)
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<void> {
    const full = this.prefix + channel
    const list = this.handlers.get(full) ?? []
    list.push(handler)
    this.handlers.set(full, list)
    // ioredis re-subscribes by itself after a reconnect.
    await this.subscriber.subscribe(full)
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler)
  }

  async close(): Promise<void> {
    this.subscriber.disconnect()
    await this.publisher.quit().catch(() => this.publisher.disconnect())
  }
}
