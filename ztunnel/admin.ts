import type { IncomingMessage } from 'node:http';
import { AdminServer, json, type AdminResponse } from '../core/admin/server.js';
import type { SecretManager } from '../core/identity/secret-manager.js';
import type { Logger } from '../core/telemetry/log.js';
import type { Registry } from '../core/telemetry/metrics.js';
import type { DeltaXdsClient } from '../core/xds/client.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../api/xds/type-urls.js';
import type { ConnectionTracker } from './connections.js';
import type { PodManager } from './inpod/manager.js';
import type { ProxyState } from './state/state.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export interface AdminSources {
  node: string;
  admin: { host: string; port: number };
  metrics: { host: string; port: number };
  readiness: { host: string; port: number };
  logger: Logger;
  registry: Registry;
  state: ProxyState;
  secrets: SecretManager;
  pods: PodManager;
  connections: ConnectionTracker;
  xds: DeltaXdsClient;
  ready: () => boolean;
  quit: () => void;
}

export interface AdminEndpoints {
  readonly addresses: Record<'admin' | 'metrics' | 'readiness', string>;
  close(): Promise<void>;
}

/**
 * Istio's ztunnel ports: admin on loopback (15000: `/config_dump`, `/logging`,
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
          : { status: 503, body: 'not ready: waiting for xDS sync and the node agent\n' },
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

function configDump(sources: AdminSources): unknown {
  return {
    node: sources.node,
    ready: sources.ready(),
    ...(sources.state.dump() as Record<string, unknown>),
    pods: sources.pods.pods().map((pod) => ({
      uid: pod.uid,
      name: pod.name,
      namespace: pod.namespace,
      serviceAccount: pod.serviceAccount,
      identity: pod.identity,
    })),
    certificates: sources.secrets.certificates(),
    connections: sources.connections.list(),
    xds: {
      [ADDRESS_TYPE_URL]: sources.xds.versions(ADDRESS_TYPE_URL).size,
      [AUTHORIZATION_TYPE_URL]: sources.xds.versions(AUTHORIZATION_TYPE_URL).size,
    },
  };
}

/** GET shows the level; POST `?level=debug` changes it at runtime, as Istio's ztunnel does. */
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
