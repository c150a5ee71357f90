import { parseArgs } from 'node:util';
import { requireFlags, untilSignalled } from '../../core/program/flags.js';
import {
  PROXY_FLAG_OPTIONS,
  PROXY_FLAG_USAGE,
  readProxyFlags,
} from '../../core/program/proxy-flags.js';
import { createLogger } from '../../core/telemetry/log.js';
import { createRegistry } from '../../core/telemetry/metrics.js';
import { Gateway } from './gateway.js';

export const USAGE = `--name NAME --namespace NS --service-account SA --xds-address HOST:PORT --ca-root FILE --token-file FILE [flags]
  --name NAME              the gateway pod's name; the Gateways selecting it are served
  --namespace NS           the gateway pod's namespace (its credential Secrets live there)
  --service-account SA     the pod's service account: the gateway's identity
  --listen-host ADDRESS    where every Gateway port listens (default 0.0.0.0)
${PROXY_FLAG_USAGE}`;

/** `ambit gateway`: parses flags, wires the ingress gateway, drains on SIGTERM. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      namespace: { type: 'string' },
      'service-account': { type: 'string' },
      'listen-host': { type: 'string', default: '0.0.0.0' },
      ...PROXY_FLAG_OPTIONS,
    },
  });
  requireFlags(values, ['name', 'namespace', 'service-account']);
  const settings = await readProxyFlags(values);
  const name = values.name!;
  const namespace = values.namespace!;
  const logger = createLogger('gateway').child({ gateway: `${namespace}/${name}` });
  const gateway = new Gateway({
    ...settings,
    name,
    namespace,
    serviceAccount: values['service-account']!,
    listenHost: values['listen-host'] ?? '0.0.0.0',
    logger,
    registry: createRegistry({ processMetrics: true }),
  });
  await gateway.start();
  await untilSignalled();
  await gateway.stop();
  logger.flush();
  return 0;
}
