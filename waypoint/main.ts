import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { MeshError } from '../core/errors.js';
import { parseTrustDomain } from '../core/identity/spiffe.js';
import { createLogger } from '../core/telemetry/log.js';
import { createRegistry } from '../core/telemetry/metrics.js';
import { parseDurationMs } from '../api/schema/duration.js';
import { Waypoint } from './waypoint.js';

export class FlagError extends MeshError {
  readonly code = 'AMBIT_FLAG';
}

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

function endpoint(flag: string, value: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new FlagError(`--${flag} ${value}: expected HOST:PORT with a port from 0 to 65535`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

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
  for (const flag of ['name', 'namespace', 'xds-address', 'ca-root', 'token-file'] as const)
    if (!values[flag]) throw new FlagError(`--${flag} is required`);
  const xdsAddress = values['xds-address']!;
  endpoint('xds-address', xdsAddress);
  const drainMs = parseDurationMs(values['drain-timeout']);
  if (drainMs === undefined)
    throw new FlagError(
      `--drain-timeout ${values['drain-timeout']}: expected a duration such as 5s`,
    );
  const tokenFile = values['token-file']!;
  const token = async () => (await readFile(tokenFile, 'utf8')).trim();
  await token().catch((cause: unknown) => {
    throw new FlagError(`--token-file ${tokenFile}: cannot be read`, { cause });
  });
  const caRoot = values['ca-root']!;
  const controlPlaneRoot = await readFile(caRoot, 'utf8').catch((cause: unknown) => {
    throw new FlagError(`--ca-root ${caRoot}: cannot be read`, { cause });
  });

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
    listen: endpoint('listen', values.listen),
    admin: endpoint('admin', values.admin),
    metrics: endpoint('metrics', values.metrics),
    readiness: endpoint('readiness', values.readiness),
    drainMs,
    logger,
    registry,
  });
  await waypoint.start();
  await new Promise<void>((resolveSignal) => {
    process.once('SIGTERM', resolveSignal);
    process.once('SIGINT', resolveSignal);
  });
  await waypoint.stop();
  logger.flush();
  return 0;
}
