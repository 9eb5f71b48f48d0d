// Redis implementations. A subscriber needs a connection of its own (a subscribed Redis
// connection can do nothing else), so RedisPubSub holds two.
import { Redis } from 'ioredis'
import type { MessageHandler, PubSub } from './index.ts'

/**
 * A Redis connection that reconnects forever. `failFast` makes commands fail at once while
 * the connection is down, for callers that have a fallback (rate limits) and must never make a
 * request wait on Redis; they bound the wait for a Redis that hangs themselves.
 */
export function connectRedis(url: string, options: { failFast?: boolean } = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: options.failFast ? 0 : 1,
    // Commands issued in the same tick share one write: many requests, few round trips.
    enableAutoPipelining: options.failFast === true,
    enableOfflineQueue: !options.failFast,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  })
  redis.on('error', () => {}) // reported by the callers' own failures; never crash the process
  return redis
}

export class RedisPubSub implements PubSub {
  readonly distributed = true
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
      // Channels whose SUBSCRIBE failed while Redis was down are subscribed now.
      for (const channel of this.handlers.keys()) this.subscriber.subscribe(channel).catch(() => {})
      if (this.connectedOnce) for (const handler of this.reconnectHandlers) handler()
      this.connectedOnce = true
    })
  }

  /** Best effort: while Redis is down the message is lost, and every subscriber clears its state on reconnect. */
  async publish(channel: string, message: string): Promise<void> {
    await this.publisher.publish(this.prefix + channel, message).catch(() => {})
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<void> {
    const full = this.prefix + channel
    const list = this.handlers.get(full) ?? []
    list.push(handler)
    this.handlers.set(full, list)
    // Never blocks start-up on Redis: a failed SUBSCRIBE is repeated when the connection is ready.
    await this.subscriber.subscribe(full).catch(() => {})
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler)
  }

  async close(): Promise<void> {
    this.subscriber.disconnect()
    await this.publisher.quit().catch(() => this.publisher.disconnect())
  }
}
