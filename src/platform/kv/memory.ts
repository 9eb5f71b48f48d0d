// In-process implementations for a single instance (no REDIS_URL).
import type { MessageHandler, PubSub } from './index.ts'

export class MemoryPubSub implements PubSub {
  readonly distributed = false
  private readonly handlers = new Map<string, MessageHandler[]>()

  async publish(channel: string, message: string): Promise<void> {
    for (const handler of this.handlers.get(channel) ?? []) handler(message)
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<void> {
    const list = this.handlers.get(channel) ?? []
    list.push(handler)
    this.handlers.set(channel, list)
  }

  onReconnect(): void {}

  async close(): Promise<void> {
    this.handlers.clear()
  }
}
