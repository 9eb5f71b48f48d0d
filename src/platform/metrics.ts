// Prometheus metrics, served at /metrics. Each instance has its own registry (so tests that
// build several apps in one process do not collide); modules add their counters to it.
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

export type Metrics = ReturnType<typeof createMetrics>

export function createMetrics(defaults = true) {
  const registry = new Registry()
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'core_api_' })
  return {
    registry,
    httpRequests: new Histogram({
      name: 'core_api_http_request_duration_seconds',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    rateLimitFallbacks: new Counter({
      name: 'core_api_rate_limit_fallbacks_total',
      help: 'Requests rate-limited in memory because Redis did not answer',
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'core_api_rate_limited_total',
      help: 'Requests refused with 429, by policy',
      labelNames: ['policy'],
      registers: [registry],
    }),
  }
}
