import type {
  Cluster,
  ClusterPolicy,
  Endpoint,
  OutlierDetection,
} from '../../../api/waypoint/config.js';
import type { Clock } from '../clock.js';
import { newEndpointState, type EndpointState } from '../endpoint-state.js';

/** Endpoint `10.0.0.<n>:8080`. */
export function endpoint(n: number, healthy = true): Endpoint {
  return {
    address: `10.0.0.${n}`,
    port: 8080,
    identity: `spiffe://cluster.local/ns/demo/sa/sa${n}`,
    healthy,
  };
}

/** Fresh states for endpoints 1..count. */
export function hosts(count: number): EndpointState[] {
  return Array.from({ length: count }, (_, i) => newEndpointState(endpoint(i + 1)));
}

/** A `random` that returns `values` in order and fails the test if asked once too often. */
export function draws(...values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error(`random() called more than ${values.length} times`);
    return values[i++] as number;
  };
}

/** A `random` that counts its calls and always returns `value`. */
export function counting(value: number): { random: () => number; calls: () => number } {
  let calls = 0;
  return {
    random: () => {
      calls++;
      return value;
    },
    calls: () => calls,
  };
}

export interface ManualClock extends Clock {
  advance(ms: number): void;
}

export function manualClock(start = 1_000_000): ManualClock {
  let now = start;
  return { now: () => now, advance: (ms) => void (now += ms) };
}

export const OUTLIER: OutlierDetection = {
  consecutive5xxErrors: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionPercent: 100,
  minHealthPercent: 0,
};

export const POLICY: ClusterPolicy = {
  loadBalancer: { kind: 'LEAST_REQUEST' },
  connectionPool: {
    maxConnections: 0,
    http1MaxPendingRequests: 0,
    http2MaxRequests: 0,
    maxRequestsPerConnection: 0,
    maxRetries: 0,
    connectTimeoutMs: 10_000,
  },
  outlierDetection: OUTLIER,
};

export function cluster(endpoints: Endpoint[], policy: Partial<ClusterPolicy> = {}): Cluster {
  return {
    name: 'outbound|9080||reviews.demo.svc.cluster.local',
    host: 'reviews.demo.svc.cluster.local',
    port: 9080,
    policy: { ...POLICY, ...policy },
    endpoints,
  };
}
