// Shared state between instances. With REDIS_URL the implementations in redis.ts make every
// instance see the same messages; without it, memory.ts gives one process the same behaviour.

export type MessageHandler = (message: string) => void

/** Fire-and-forget broadcast to every instance, this one included. */
export interface PubSub {
  /** True when messages come from other processes (they then arrive on a socket of their own). */
  readonly distributed: boolean
  publish(channel: string, message: string): Promise<void>
  subscribe(channel: string, handler: MessageHandler): Promise<void>
  /** Called after the connection was lost and restored: messages may have been missed. */
  onReconnect(handler: () => void): void
  close(): Promise<void>
}

export { MemoryPubSub } from './memory.ts'
export { connectRedis, RedisPubSub } from './redis.ts'
