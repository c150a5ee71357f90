import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FlagError, integerFlag, runStandalone } from '../../core/program/flags.js';

export const USAGE = `usage: curl URL [flags]

A small curl for pods of the local mesh (which has no curl image): HTTP/1.1 requests, one or
many, over kept-alive connections.

  -X, --request METHOD   (default GET, or POST with --data)
  -H, --header 'K: V'    a request header; repeat for more (Host overrides the URL's)
  -d, --data BODY        the request body
  -n, --count N          send N requests (default 1)
  -c, --concurrency C    at most C at a time (default 1)
  -m, --timeout MS       per request (default 10000)
  --json                 one JSON line per reply: {status, ms, headers, body} or {error}
  -s, --summary          only the count of replies per status (and errors)
without --json or --summary: the status line, then each reply's body`;

export interface Reply {
  status?: number;
  ms: number;
  headers?: http.IncomingHttpHeaders;
  body?: string;
  error?: string;
}

export interface CurlRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** One request; a transport failure or timeout is a reply with `error`, never a throw. */
export function send(request: CurlRequest, agent: http.Agent): Promise<Reply> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const outgoing = http.request(
      request.url,
      {
        method: request.method,
        headers: {
          ...request.headers,
          ...(request.body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(request.body)) }),
        },
        agent,
        timeout: request.timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', (err) => resolve({ ms: ms(), error: err.message }));
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            ms: ms(),
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    outgoing.setTimeout(request.timeoutMs, () =>
      outgoing.destroy(new Error(`no reply in ${request.timeoutMs} ms`)),
    );
    outgoing.once('error', (err) => resolve({ ms: ms(), error: err.message }));
    outgoing.end(request.body);
  });
}

/** The program: exit 0 when every reply came (whatever its status), 1 when one failed. */
export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      request: { type: 'string', short: 'X' },
      header: { type: 'string', short: 'H', multiple: true },
      data: { type: 'string', short: 'd' },
      count: { type: 'string', short: 'n', default: '1' },
      concurrency: { type: 'string', short: 'c', default: '1' },
      timeout: { type: 'string', short: 'm', default: '10000' },
      json: { type: 'boolean' },
      summary: { type: 'boolean', short: 's' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new FlagError('give one URL');
  let url: URL;
  try {
    url = new URL(positionals[0]!);
  } catch {
    throw new FlagError(`${positionals[0]} is not a URL`);
  }
  if (url.protocol !== 'http:') throw new FlagError(`${url.href}: only http:// URLs`);
  const headers: Record<string, string> = {};
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new FlagError(`--header wants 'Name: value', not ${header}`);
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  const count = integerFlag('count', values.count, 1, 1_000_000);
  const concurrency = integerFlag('concurrency', values.concurrency, 1, 1000);
  const request: CurlRequest = {
    url,
    method: values.request ?? (values.data === undefined ? 'GET' : 'POST'),
    headers,
    ...(values.data === undefined ? {} : { body: values.data }),
    timeoutMs: integerFlag('timeout', values.timeout, 1, 3_600_000),
  };
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: Record<string, number> = {};
  let failed = false;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const reply = await send(request, agent);
      const key = reply.error === undefined ? String(reply.status) : 'error';
      statuses[key] = (statuses[key] ?? 0) + 1;
      failed ||= reply.error !== undefined;
      if (values.json) console.log(JSON.stringify(reply));
      else if (!values.summary) {
        if (reply.error !== undefined) console.log(`error: ${reply.error}`);
        else console.log(`HTTP ${reply.status} (${reply.ms} ms)\n${reply.body ?? ''}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  agent.destroy();
  if (values.summary)
    console.log(
      Object.entries(statuses)
        .map(([status, n]) => `${status}: ${n}`)
        .join(', '),
    );
  return failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  runStandalone('curl', USAGE, main);
