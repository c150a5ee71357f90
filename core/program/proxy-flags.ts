import { parseTrustDomain, type TrustDomain } from '../identity/spiffe.js';
import {
  durationFlag,
  hostPortFlag,
  readFlagFile,
  requireFlags,
  tokenFileFlag,
  type HostPort,
} from './flags.js';

/** The flags every data-plane proxy (ztunnel, waypoint) takes, for `parseArgs`. */
export const PROXY_FLAG_OPTIONS = {
  'xds-address': { type: 'string' },
  'ca-address': { type: 'string' },
  'ca-root': { type: 'string' },
  servername: { type: 'string', default: 'istiod.istio-system.svc' },
  'token-file': { type: 'string' },
  admin: { type: 'string', default: '127.0.0.1:15000' },
  metrics: { type: 'string', default: '0.0.0.0:15020' },
  readiness: { type: 'string', default: '0.0.0.0:15021' },
  'trust-domain': { type: 'string', default: 'cluster.local' },
  'drain-timeout': { type: 'string', default: '5s' },
} as const;

export const PROXY_FLAG_USAGE = `  --xds-address HOST:PORT  the control plane's xDS endpoint (gRPC over TLS)
  --ca-address HOST:PORT   the CA endpoint (default: the xDS address)
  --ca-root FILE           PEM root that signed the control plane's serving certificate
  --servername NAME        name to verify in that certificate (default istiod.istio-system.svc)
  --token-file FILE        bearer token, read again on every reconnect
  --admin HOST:PORT        /config_dump, /logging, /quitquitquit (default 127.0.0.1:15000)
  --metrics HOST:PORT      /metrics, /stats/prometheus (default 0.0.0.0:15020)
  --readiness HOST:PORT    /healthz/ready (default 0.0.0.0:15021)
  --trust-domain TD        SPIFFE trust domain (default cluster.local)
  --drain-timeout DUR      how long open connections may finish on SIGTERM (default 5s)`;

type ProxyFlagValues = {
  [K in keyof typeof PROXY_FLAG_OPTIONS]?: string;
};

/** What the proxy flags mean, checked: the control plane, credentials, ports, drain. */
export interface ProxySettings {
  /** The control plane: xDS and the CA, over gRPC with TLS. */
  readonly xdsAddress: string;
  readonly caAddress: string;
  /** PEM of the control plane's root, to verify its serving certificate. */
  readonly controlPlaneRoot: string;
  /** The name in the control plane's serving certificate. */
  readonly servername: string;
  /** The bearer token naming the proxy's identity; asked again on every (re)connect. */
  readonly token: () => Promise<string>;
  readonly admin: HostPort;
  readonly metrics: HostPort;
  readonly readiness: HostPort;
  readonly trustDomain: TrustDomain;
  readonly drainMs: number;
}

export async function readProxyFlags(values: ProxyFlagValues): Promise<ProxySettings> {
  requireFlags(values, ['xds-address', 'ca-root', 'token-file']);
  const xdsAddress = values['xds-address']!;
  hostPortFlag('xds-address', xdsAddress);
  return {
    xdsAddress,
    caAddress: values['ca-address'] ?? xdsAddress,
    controlPlaneRoot: await readFlagFile('ca-root', values['ca-root']!),
    servername: values.servername ?? PROXY_FLAG_OPTIONS.servername.default,
    token: await tokenFileFlag('token-file', values['token-file']!),
    admin: hostPortFlag('admin', values.admin ?? PROXY_FLAG_OPTIONS.admin.default),
    metrics: hostPortFlag('metrics', values.metrics ?? PROXY_FLAG_OPTIONS.metrics.default),
    readiness: hostPortFlag('readiness', values.readiness ?? PROXY_FLAG_OPTIONS.readiness.default),
    trustDomain: parseTrustDomain(values['trust-domain'] ?? 'cluster.local'),
    drainMs: durationFlag('drain-timeout', values['drain-timeout'] ?? '5s'),
  };
}
