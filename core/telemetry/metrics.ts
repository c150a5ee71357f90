import { Registry, collectDefaultMetrics } from 'prom-client';

export { Registry };
export { Counter, Gauge, Histogram } from 'prom-client';

/**
 * One registry per program (DESIGN.md §3: one metrics registry). Components receive it
 * rather than reaching for prom-client's global, so two components in one test process
 * never collide on a metric name.
 */
export function createRegistry(options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}
