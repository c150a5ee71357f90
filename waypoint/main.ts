import { parseArgs } from 'node:util';
import {
  durationFlag,
  hostPortFlag,
  readFlagFile,
  requireFlags,
  tokenFileFlag,
  untilSignalled,
} from '../core/program/flags.js';
import { parseTrustDomain } from '../core/identity/spiffe.js';
import { createLogger } from '../core/telemetry/log.js';
import { createRegistry } from '../core/telemetry/metrics.js';
import { Waypoint } from './waypoint.js';

export const USAGE = `--name NAME --namespace NS --xds-address HOST:PORT --ca-root FILE --token-file FILE [flags]
  --name NAME              the waypoint (its Gateway's name); services bound to it are served
  --namespace NS           the waypoint's namespace
  --service-account SA     whose identity it has (default: the waypoint's name, as Istio deploys it)
  --xds-address HOST:PORT  the control plane's xDS endpoint (gRPC over TLS)
  --ca-address HOST:PORT   the CA endpoint (default: the xDS address)
  --ca-root FILE           PEM root that signed the control plane's serving certificate
  --servername NAME        name to verify in that certificate (default istiod.istio-system.svc)
  --token-file FILE        bearer token naming the namespace and service account, read on every reconnect
  --listen HOST:PORT       the HBONE listener (default 0.0.0.0:15008)
  --admin HOST:PORT        /config_dump, /logging, /quitquitquit (default 127.0.0.1:15000)
  --metrics HOST:PORT      /metrics, /stats/prometheus (default 0.0.0.0:15020)
  --readiness HOST:PORT    /healthz/ready (default 0.0.0.0:15021)
  --trust-domain TD        SPIFFE trust domain (default cluster.local)
  --drain-timeout DUR      how long open requests and tunnels may finish on SIGTERM (default 5s)`;

/** `ambit waypoint`: parses flags, wires the waypoint, drains on SIGTERM. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      namespace: { type: 'string' },
      'service-account': { type: 'string' },
      'xds-address': { type: 'string' },
      'ca-address': { type: 'string' },
      'ca-root': { type: 'string' },
      servername: { type: 'string', default: 'istiod.istio-system.svc' },
      'token-file': { type: 'string' },
      listen: { type: 'string', default: '0.0.0.0:15008' },
      admin: { type: 'string', default: '127.0.0.1:15000' },
      metrics: { type: 'string', default: '0.0.0.0:15020' },
      readiness: { type: 'string', default: '0.0.0.0:15021' },
      'trust-domain': { type: 'string', default: 'cluster.local' },
      'drain-timeout': { type: 'string', default: '5s' },
    },
  });
  requireFlags(values, ['name', 'namespace', 'xds-address', 'ca-root', 'token-file']);
  const xdsAddress = values['xds-address']!;
  hostPortFlag('xds-address', xdsAddress);
  const drainMs = durationFlag('drain-timeout', values['drain-timeout']);
  const token = await tokenFileFlag('token-file', values['token-file']!);
  const controlPlaneRoot = await readFlagFile('ca-root', values['ca-root']!);

  const name = values.name!;
  const namespace = values.namespace!;
  const logger = createLogger('waypoint').child({ waypoint: `${namespace}/${name}` });
  const registry = createRegistry({ processMetrics: true });
  const waypoint = new Waypoint({
    name,
    namespace,
    serviceAccount: values['service-account'] ?? name,
    trustDomain: parseTrustDomain(values['trust-domain']),
    xdsAddress,
    caAddress: values['ca-address'] ?? xdsAddress,
    controlPlaneRoot,
    servername: values.servername,
    token,
    listen: hostPortFlag('listen', values.listen),
    admin: hostPortFlag('admin', values.admin),
    metrics: hostPortFlag('metrics', values.metrics),
    readiness: hostPortFlag('readiness', values.readiness),
    drainMs,
    logger,
    registry,
  });
  await waypoint.start();
  await untilSignalled();
  await waypoint.stop();
  logger.flush();
  return 0;
}
