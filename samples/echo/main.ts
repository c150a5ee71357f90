import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { integerFlag, runStandalone, untilSignalled } from '../../core/program/flags.js';
import { createLogger } from '../../core/telemetry/log.js';
import type { EchoBehaviour } from './behaviour.js';
import { createEchoServer } from './echo.js';

export const USAGE = `usage: echo [flags]

An HTTP/1.1 and h2c backend that answers every request with what it received, as JSON:
version, pod, protocol, method, path, host, headers, bodyLength, sourceAddress, served.
GET /health always answers 200. Request headers steer one request: x-echo-status: 503,
x-echo-delay-ms: 3000, x-echo-reset: 1 (reset instead of an answer).

  --port PORT         where to listen (default 8080)
  --host ADDRESS      (default 0.0.0.0)
  --version VERSION   reported as version (default v1)
  --name NAME         reported as pod (default the host name)
  --status CODE       answer every request with this status (default 200)
  --fail-every N      answer every Nth request with --fail-status (default 0: never)
  --fail-status CODE  (default 503)
  --delay-ms MS       wait this long before every answer (default 0)
  --httpbin           also answer httpbin's /status/{code}, /delay/{s}, /headers and /get,
                      as Istio's docs use httpbin`;

/** The echo program: parses flags, listens, runs until SIGTERM or SIGINT. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '0.0.0.0' },
      version: { type: 'string', default: 'v1' },
      name: { type: 'string' },
      status: { type: 'string', default: '200' },
      'fail-every': { type: 'string', default: '0' },
      'fail-status': { type: 'string', default: '503' },
      'delay-ms': { type: 'string', default: '0' },
      httpbin: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const behaviour: EchoBehaviour = {
    status: integerFlag('status', values.status, 100, 599),
    failEvery: integerFlag('fail-every', values['fail-every'], 0, 1_000_000),
    failStatus: integerFlag('fail-status', values['fail-status'], 100, 599),
    delayMs: integerFlag('delay-ms', values['delay-ms'], 0, 600_000),
  };
  const logger = createLogger('echo');
  const echo = createEchoServer({
    version: values.version,
    ...(values.name === undefined ? {} : { name: values.name }),
    behaviour,
    httpbin: values.httpbin === true,
  });
  const bound = await echo.listen({
    host: values.host,
    port: integerFlag('port', values.port, 0, 65535),
  });
  logger.info(
    { address: bound.address, port: bound.port, version: echo.version, pod: echo.name },
    'echo listening',
  );
  await untilSignalled();
  await echo.close();
  logger.flush();
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  runStandalone('echo', USAGE, main);
