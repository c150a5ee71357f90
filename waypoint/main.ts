import { parseArgs } from 'node:util';
import { hostPortFlag, requireFlags, untilSignalled } from '../core/program/flags.js';
import {
  PROXY_FLAG_OPTIONS,
  PROXY_FLAG_USAGE,
  readProxyFlags,
} from '../core/program/proxy-flags.js';
import { createLogger } from '../core/telemetry/log.js';
import { createRegistry } from '../core/telemetry/metrics.js';
import { Waypoint } from './waypoint.js';

export const USAGE = `--name NAME --namespace NS --xds-address HOST:PORT --ca-root FILE --token-file FILE [flags]
  --name NAME              the waypoint (its Gateway's name); services bound to it are served
  --namespace NS           the waypoint's namespace
  --service-account SA     whose identity it has (default: the waypoint's name, as Istio deploys it)
  --listen HOST:PORT       the HBONE listener (default 0.0.0.0:15008)
${PROXY_FLAG_USAGE}`;

/** `ambit waypoint`: parses flags, wires the waypoint, drains on SIGTERM. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      namespace: { type: 'string' },
      'service-account': { type: 'string' },
      listen: { type: 'string', default: '0.0.0.0:15008' },
      ...PROXY_FLAG_OPTIONS,
    },
  });
  requireFlags(values, ['name', 'namespace']);
  const settings = await readProxyFlags(values);
  const name = values.name!;
  const namespace = values.namespace!;
  const logger = createLogger('waypoint').child({ waypoint: `${namespace}/${name}` });
  const waypoint = new Waypoint({
    ...settings,
    name,
    namespace,
    serviceAccount: values['service-account'] ?? name,
    listen: hostPortFlag('listen', values.listen),
    logger,
    registry: createRegistry({ processMetrics: true }),
  });
  await waypoint.start();
  await untilSignalled();
  await waypoint.stop();
  logger.flush();
  return 0;
}
