// Redis implementations. A subscriber needs a connection of its own (a subscribed Redis
// connection can do nothing else), so RedisPubSub holds two.
import { Redis } from 'ioredis'
import type { MessageHandler, PubSub } from './index.ts'

export function connectRedis(url: string): Redis {
  return new Redis(url, {
    // Fail commands fast while Redis is down instead of queueing them without bound.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
  })
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
    this.publisher.on('error', () => {})
    this.subscriber.on('error', () => {})
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
