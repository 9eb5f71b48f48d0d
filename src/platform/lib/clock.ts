// Time comes from a Clock so that tests can move it (expiry, grace periods) without sleeping.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private current: number
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start
  }
  now(): number {
    return this.current
  }
  advance(ms: number): void {
    this.current += ms
  }
  set(ms: number): void {
    this.current = ms
  }
}

/** ISO 8601 UTC with second precision, as the API reference shows: `2026-01-15T10:30:00Z`. */
export function isoSeconds(value: Date | number | null | undefined): string | null {
  if (value === null || value === undefined) return null
  const date = typeof value === 'number' ? new Date(value) : value
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}
