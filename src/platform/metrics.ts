// Prometheus metrics, served at /metrics: the process (CPU, memory, event loop, GC) and what
// the modules count. Per-request latency histograms are left to the proxy in front: labelling
// every request costs a fifth of the throughput of the hot path. Each app has its own registry
// (tests build several in one process).
import { Counter, collectDefaultMetrics, Registry } from 'prom-client'

export type Metrics = ReturnType<typeof createMetrics>

export function createMetrics(defaults = true) {
  const registry = new Registry()
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'core_api_' })
  return {
    registry,
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
