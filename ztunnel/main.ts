import { setDefaultHighWaterMark } from 'node:stream';
import { parseArgs } from 'node:util';
import { requireFlags, untilSignalled } from '../core/program/flags.js';
import {
  PROXY_FLAG_OPTIONS,
  PROXY_FLAG_USAGE,
  readProxyFlags,
} from '../core/program/proxy-flags.js';
import { createLogger } from '../core/telemetry/log.js';
import { createRegistry } from '../core/telemetry/metrics.js';
import { Ztunnel } from './ztunnel.js';

export const USAGE = `--node NAME --zds-socket PATH --xds-address HOST:PORT --ca-root FILE --token-file FILE [flags]
  --node NAME              the node this tunnel serves (its token must name the same node)
  --zds-socket PATH        the node agent's enrollment socket
${PROXY_FLAG_USAGE}`;

/** `ambit ztunnel`: parses flags, wires the node tunnel, drains on SIGTERM. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      node: { type: 'string' },
      'zds-socket': { type: 'string' },
      ...PROXY_FLAG_OPTIONS,
    },
  });
  requireFlags(values, ['node', 'zds-socket']);
  const settings = await readProxyFlags(values);

  // Node's 16 KiB default makes every write into an HTTP/2 stream report backpressure, so
  // each 64 KiB read pauses and resumes the source socket. HTTP/2 streams take no option for
  // it; the process default is the only handle. At most this much is buffered per direction.
  setDefaultHighWaterMark(false, 1024 * 1024);
  const logger = createLogger('ztunnel').child({ node: values.node });
  const ztunnel = new Ztunnel({
    ...settings,
    node: values.node!,
    zdsSocket: values['zds-socket']!,
    logger,
    registry: createRegistry({ processMetrics: true }),
  });
  await ztunnel.start();
  await untilSignalled();
  await ztunnel.stop();
  logger.flush();
  return 0;
}
