import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { FlagError, integerFlag, runStandalone, untilSignalled } from '../../core/program/flags.js';
import { createLogger } from '../../core/telemetry/log.js';
import { createDetailsServer } from './details.js';
import type { ServiceFaults } from './faults.js';
import { createProductpageServer } from './productpage.js';
import { createRatingsServer } from './ratings.js';
import { createReviewsServer } from './reviews.js';
import type { BookinfoOptions, BookinfoServer, ServiceName } from './service.js';

export const USAGE = `usage: bookinfo --service NAME [flags]

One of the four services of Istio's Bookinfo sample. productpage renders /productpage from
details and reviews; reviews v2 and v3 call ratings. Each answers GET /health.

  --service NAME       productpage, details, reviews or ratings (required)
  --port PORT          where to listen (default 9080)
  --host ADDRESS       (default 0.0.0.0)
  --version VERSION    the pod's version label; reviews: v1 (no stars), v2 (black), v3 (red)
  --name NAME          the pod's name, shown as "Reviews served by" (default the host name)
  --details URL        details' host:port or base URL (default http://details:9080)
  --reviews URL        reviews' (default http://reviews:9080)
  --ratings URL        ratings' (default http://ratings:9080)
  --session-secret S   productpage: signs session cookies (replicas must share one)
  --fail-every N       answer every Nth request with --fail-status (default 0: never)
  --fail-status CODE   (default 503)
  --delay-ms MS        wait this long before every answer (default 0)`;

const SERVICES: Readonly<Record<ServiceName, (options: BookinfoOptions) => BookinfoServer>> = {
  productpage: createProductpageServer,
  details: createDetailsServer,
  reviews: createReviewsServer,
  ratings: createRatingsServer,
};

/** The program: parses flags, serves one service, runs until SIGTERM or SIGINT. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      service: { type: 'string' },
      port: { type: 'string', default: '9080' },
      host: { type: 'string', default: '0.0.0.0' },
      version: { type: 'string', default: 'v1' },
      name: { type: 'string' },
      details: { type: 'string' },
      reviews: { type: 'string' },
      ratings: { type: 'string' },
      'session-secret': { type: 'string' },
      'fail-every': { type: 'string', default: '0' },
      'fail-status': { type: 'string', default: '503' },
      'delay-ms': { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const service = values.service;
  if (service === undefined || !Object.hasOwn(SERVICES, service))
    throw new FlagError(
      `--service ${service ?? '(missing)'}: expected ${Object.keys(SERVICES).join(', ')}`,
    );
  const faults: ServiceFaults = {
    failEvery: integerFlag('fail-every', values['fail-every'], 0, 1_000_000),
    failStatus: integerFlag('fail-status', values['fail-status'], 100, 599),
    delayMs: integerFlag('delay-ms', values['delay-ms'], 0, 600_000),
  };
  const given = (['details', 'reviews', 'ratings'] as const).filter((n) => values[n] !== undefined);
  const options = {
    port: integerFlag('port', values.port, 0, 65535),
    version: values.version,
    ...(values.name === undefined ? {} : { name: values.name }),
    upstreams: Object.fromEntries(given.map((n) => [n, values[n]!])),
    ...(values['session-secret'] === undefined ? {} : { sessionSecret: values['session-secret'] }),
    faults,
  };
  const logger = createLogger('bookinfo');
  const server = SERVICES[service as ServiceName](options);
  const bound = await server.listen(values.host);
  logger.info(
    {
      service: server.service,
      version: server.version,
      pod: server.name,
      address: bound.address,
      port: bound.port,
    },
    'bookinfo listening',
  );
  await untilSignalled();
  await server.close();
  logger.flush();
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  runStandalone(
    'bookinfo',
    USAGE,
    main,
    (code) => code === 'AMBIT_BOOKINFO_UPSTREAM_URL' || code === 'AMBIT_BOOKINFO_REVIEWS_VERSION',
  );
