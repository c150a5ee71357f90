import type { IncomingMessage } from 'node:http';
import type { Logger } from '../telemetry/log.js';
import type { Registry } from '../telemetry/metrics.js';
import { AdminServer, json, type AdminResponse } from './server.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export interface ProxyPortsOptions {
  admin: { host: string; port: number };
  metrics: { host: string; port: number };
  readiness: { host: string; port: number };
  logger: Logger;
  registry: Registry;
  configDump: () => unknown;
  ready: () => boolean;
  /** What `/healthz/ready` says while not ready: what the proxy still waits for. */
  notReady: string;
  quit: () => void;
}

export interface ProxyPorts {
  readonly addresses: Record<'admin' | 'metrics' | 'readiness', string>;
  close(): Promise<void>;
}

/**
 * The ports every Istio proxy has: admin on loopback (15000: `/config_dump`, `/logging`,
 * `/quitquitquit`), metrics for scraping (15020), readiness for the kubelet (15021).
 */
export async function startProxyPorts(options: ProxyPortsOptions): Promise<ProxyPorts> {
  const admin = new AdminServer({
    ...options.admin,
    routes: {
      '/config_dump': () => json(options.configDump()),
      '/logging': (req, url) => logging(options.logger, req, url),
      '/quitquitquit': (req) => {
        if (req.method !== 'POST') return { status: 405, body: 'use POST\n' };
        setImmediate(options.quit);
        return { status: 200, body: 'draining\n' };
      },
    },
  });
  const metrics = new AdminServer({
    ...options.metrics,
    routes: {},
    registry: options.registry,
    allowRemote: true,
  });
  const readiness = new AdminServer({
    ...options.readiness,
    routes: {
      '/healthz/ready': () =>
        options.ready()
          ? { status: 200, body: 'ready\n' }
          : { status: 503, body: `not ready: ${options.notReady}\n` },
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

/** GET shows the level; POST `?level=debug` changes it at runtime, as Istio's proxies do. */
export function logging(logger: Logger, req: IncomingMessage, url: URL): AdminResponse {
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
