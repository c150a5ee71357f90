import { setDefaultHighWaterMark } from 'node:stream';
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
import { Ztunnel } from './ztunnel.js';

export const USAGE = `--node NAME --xds-address HOST:PORT --ca-root FILE --token-file FILE --zds-socket PATH [flags]
  --node NAME              the node this tunnel serves (its token must name the same node)
  --xds-address HOST:PORT  the control plane's xDS endpoint (gRPC over TLS)
  --ca-address HOST:PORT   the CA endpoint (default: the xDS address)
  --ca-root FILE           PEM root that signed the control plane's serving certificate
  --servername NAME        name to verify in that certificate (default istiod.istio-system.svc)
  --token-file FILE        bearer token, read again on every reconnect
  --zds-socket PATH        the node agent's enrollment socket
  --admin HOST:PORT        /config_dump, /logging, /quitquitquit (default 127.0.0.1:15000)
  --metrics HOST:PORT      /metrics, /stats/prometheus (default 0.0.0.0:15020)
  --readiness HOST:PORT    /healthz/ready (default 0.0.0.0:15021)
  --trust-domain TD        SPIFFE trust domain (default cluster.local)
  --drain-timeout DUR      how long open tunnels may finish on SIGTERM (default 5s)`;

/** `ambit ztunnel`: parses flags, wires the node tunnel, drains on SIGTERM. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      node: { type: 'string' },
      'xds-address': { type: 'string' },
      'ca-address': { type: 'string' },
      'ca-root': { type: 'string' },
      servername: { type: 'string', default: 'istiod.istio-system.svc' },
      'token-file': { type: 'string' },
      'zds-socket': { type: 'string' },
      admin: { type: 'string', default: '127.0.0.1:15000' },
      metrics: { type: 'string', default: '0.0.0.0:15020' },
      readiness: { type: 'string', default: '0.0.0.0:15021' },
      'trust-domain': { type: 'string', default: 'cluster.local' },
      'drain-timeout': { type: 'string', default: '5s' },
    },
  });
  requireFlags(values, ['node', 'xds-address', 'ca-root', 'token-file', 'zds-socket']);
  const xdsAddress = values['xds-address']!;
  hostPortFlag('xds-address', xdsAddress);
  const drainMs = durationFlag('drain-timeout', values['drain-timeout']);
  const token = await tokenFileFlag('token-file', values['token-file']!);
  const controlPlaneRoot = await readFlagFile('ca-root', values['ca-root']!);

  // Node's 16 KiB default makes every write into an HTTP/2 stream report backpressure, so
  // each 64 KiB read pauses and resumes the source socket. HTTP/2 streams take no option for
  // it; the process default is the only handle. At most this much is buffered per direction.
  setDefaultHighWaterMark(false, 1024 * 1024);
  const logger = createLogger('ztunnel').child({ node: values.node });
  const registry = createRegistry({ processMetrics: true });
  const ztunnel = new Ztunnel({
    node: values.node!,
    trustDomain: parseTrustDomain(values['trust-domain']),
    xdsAddress,
    caAddress: values['ca-address'] ?? xdsAddress,
    controlPlaneRoot,
    servername: values.servername,
    token,
    zdsSocket: values['zds-socket']!,
    admin: hostPortFlag('admin', values.admin),
    metrics: hostPortFlag('metrics', values.metrics),
    readiness: hostPortFlag('readiness', values.readiness),
    drainMs,
    logger,
    registry,
  });
  await ztunnel.start();
  await untilSignalled();
  await ztunnel.stop();
  logger.flush();
  return 0;
}
