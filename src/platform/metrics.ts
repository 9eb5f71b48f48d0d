// Prometheus metrics, served at /metrics: the process (CPU, memory, event loop, GC) and what
// the modules count. Each module creates its own metrics on the app's registry when it is
// composed (`new Counter({ …, registers: [metrics.registry] })`); the platform names none.
// Per-request latency histograms are left to the proxy in front: labelling every request
// costs a fifth of the throughput of the hot path. Each app has its own registry (tests build
// several in one process).
import { collectDefaultMetrics, Registry } from 'prom-client'

export type Metrics = { readonly registry: Registry }

export function createMetrics(defaults = true): Metrics {
  const registry = new Registry()
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'core_api_' })
  return { registry }
}
