import type { IncomingMessage } from 'node:http';
import { AdminServer, json, type AdminResponse } from '../core/admin/server.js';
import type { SecretManager } from '../core/identity/secret-manager.js';
import type { Logger } from '../core/telemetry/log.js';
import type { Registry } from '../core/telemetry/metrics.js';
import type { DeltaXdsClient } from '../core/xds/client.js';
import { WAYPOINT_SERVICE_TYPE_URL } from '../api/waypoint/config.js';
import type { ClusterState } from './cluster/cluster-state.js';
import type { WaypointState } from './state.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export interface AdminSources {
  /** `namespace/name` of the waypoint. */
  waypoint: string;
  admin: { host: string; port: number };
  metrics: { host: string; port: number };
  readiness: { host: string; port: number };
  logger: Logger;
  registry: Registry;
  state: WaypointState;
  secrets: Pick<SecretManager, 'certificates'>;
  xds: Pick<DeltaXdsClient, 'versions'>;
  ready: () => boolean;
  quit: () => void;
}

export interface AdminEndpoints {
  readonly addresses: Record<'admin' | 'metrics' | 'readiness', string>;
  close(): Promise<void>;
}

/**
 * The ports every Istio proxy has: admin on loopback (15000: `/config_dump`, `/logging`,
 * `/quitquitquit`), metrics for scraping (15020), readiness for the kubelet (15021).
 */
export async function createAdmin(sources: AdminSources): Promise<AdminEndpoints> {
  const admin = new AdminServer({
    ...sources.admin,
    routes: {
      '/config_dump': () => json(configDump(sources)),
      '/logging': (req, url) => logging(sources.logger, req, url),
      '/quitquitquit': (req) => {
        if (req.method !== 'POST') return { status: 405, body: 'use POST\n' };
        setImmediate(sources.quit);
        return { status: 200, body: 'draining\n' };
      },
    },
  });
  const metrics = new AdminServer({
    ...sources.metrics,
    routes: {},
    registry: sources.registry,
    allowRemote: true,
  });
  const readiness = new AdminServer({
    ...sources.readiness,
    routes: {
      '/healthz/ready': () =>
        sources.ready()
          ? { status: 200, body: 'ready\n' }
          : { status: 503, body: 'not ready: waiting for xDS sync and a certificate\n' },
    },
    allowRemote: true,
  });
  const servers = [admin, metrics, readiness];
  const [a, m, r] = await Promise.all(servers.map((server) => server.listen()));
  const text = (info: { address: string; port: number }) => `${info.address}:${info.port}`;
  return {
    addresses: { admin: text(a!), metrics: text(m!), readiness: text(r!) },
    close: async () => {
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

/** Services as pushed, clusters as running (endpoint states, ejections, breakers), certificate. */
export function configDump(
  sources: Pick<AdminSources, 'waypoint' | 'state' | 'secrets' | 'xds' | 'ready'>,
): unknown {
  return {
    waypoint: sources.waypoint,
    ready: sources.ready(),
    services: sources.state.services(),
    clusters: [...sources.state.clusters().values()].map(dumpCluster),
    certificates: sources.secrets.certificates(),
    xds: {
      [WAYPOINT_SERVICE_TYPE_URL]: Object.fromEntries(
        sources.xds.versions(WAYPOINT_SERVICE_TYPE_URL),
      ),
    },
  };
}

function dumpCluster(state: ClusterState): unknown {
  const { name, policy, problem } = state.cluster;
  return {
    name,
    ...(problem === undefined ? {} : { problem }),
    policy,
    circuitBreakers: state.breaker.counts(),
    endpoints: state.hosts().map((host) => ({
      endpoint: host.key,
      identity: host.endpoint.identity,
      healthy: host.endpoint.healthy,
      ejected: host.ejected,
      activeRequests: host.active,
    })),
  };
}

/** GET shows the level; POST `?level=debug` changes it at runtime, as Istio's proxies do. */
function logging(logger: Logger, req: IncomingMessage, url: URL): AdminResponse {
  const level = url.searchParams.get('level');
  if (req.method === 'POST' && level !== null) {
    if (!LEVELS.has(level))
      return {
        status: 400,
        body: `unknown level ${level}; use one of ${[...LEVELS].join(', ')}\n`,
      };
    logger.level = level;
  }
  return json({ level: logger.level });
}
