import type http from 'node:http';
import type net from 'node:net';
import t from 'tap';
import { stringify } from 'yaml';
import type { EchoServer } from '../../samples/echo/echo.js';
import { startMesh, type MeshPod } from '../support/mesh.js';
import { connectIn, httpGetIn, netnsAgent } from '../support/netns.js';
import {
  addWaypoint,
  askEcho,
  scrapeWaypoint,
  serveEcho,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
  WAYPOINT_ADMIN,
  type EchoAnswer,
} from '../support/waypoint.js';
import { metricSum, waitEnrolled } from '../support/ztunnel.js';

// Faults and bad input at a namespace waypoint, with Istio's (Envoy's) answers: a malformed
// request, upstream resets, slow upstreams, endpoints leaving under load, config pushes under
// an open connection, and the response flags of the replies the waypoint makes itself.

const NAMESPACE = 'faults';
const PORT = 9080;
const TARGET_PORT = 8080;
const HOST = `echo:${PORT}`;
const ECHO_PODS = ['echo-a', 'echo-b', 'echo-c', 'echo-d'] as const;
type EchoPod = (typeof ECHO_PODS)[number];
const REQUESTS = 'ambit_waypoint_requests_total';

/** A VirtualService for `echo` with these HTTP routes. */
function virtualService(name: string, http: Record<string, unknown>[]): string {
  return stringify({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: NAMESPACE },
    spec: { hosts: ['echo'], http },
  });
}

const toEcho = { route: [{ destination: { host: 'echo' } }] };

t.test('faults and bad input at the waypoint', async (t) => {
  const mesh = await startMesh(t, { nodes: 1, extraTokens: [waypointToken(NAMESPACE)] });
  await mesh.addNamespace(NAMESPACE, { 'istio.io/dataplane-mode': 'ambient' });
  const client = await mesh.addPod({ node: 'node-1', namespace: NAMESPACE, name: 'client' });
  const addBackend = (name: string, labels: Record<string, string>): Promise<MeshPod> =>
    mesh.addPod({ node: 'node-1', namespace: NAMESPACE, name, labels, ports: [TARGET_PORT] });
  const echoPods = await Promise.all(
    ECHO_PODS.map((name) => addBackend(name, { app: 'echo', pod: name })),
  );
  const gonePod = await addBackend('gone-0', { app: 'gone' });
  // Enrolled, but nothing listens on its port.
  const refuserPod = await addBackend('refuser-0', { app: 'refuser' });
  const ports = [{ name: 'http', port: PORT, targetPort: TARGET_PORT }];
  const service = (name: string, selector: Record<string, string>) =>
    mesh.addService({ namespace: NAMESPACE, name, selector, ports });
  const echo = await service('echo', { app: 'echo' });
  await service('echo-a', { pod: 'echo-a' });
  const gone = await service('gone', { app: 'gone' });
  const refuser = await service('refuser', { app: 'refuser' });
  const echoes = {} as Record<EchoPod, EchoServer>;
  for (const [i, name] of ECHO_PODS.entries())
    echoes[name] = await serveEcho(t, echoPods[i]!, { port: TARGET_PORT, version: name });
  await serveEcho(t, gonePod, { port: TARGET_PORT, version: 'gone' });
  const waypoint = await addWaypoint(mesh, { namespace: NAMESPACE, node: 'node-1' });
  await useWaypoint(mesh, NAMESPACE, waypoint.name);
  await mesh.waitReady();
  await waitEnrolled(
    mesh,
    [client, ...echoPods, gonePod, refuserPod],
    [echo.hostname, gone.hostname, refuser.hostname],
  );
  for (const bound of [echo, gone, refuser]) await waitWaypointBound(mesh, bound, waypoint);

  const vipOf = (s: { clusterIP: string }) => ({ address: s.clusterIP, port: PORT });
  const ask = (
    path: string,
    request: { headers?: Record<string, string>; agent?: http.Agent; timeoutMs?: number } = {},
    to = vipOf(echo),
  ): Promise<EchoAnswer> =>
    askEcho(client, to, { path, ...request, headers: { host: HOST, ...request.headers } });
  const servedBy = () => ECHO_PODS.map((name) => echoes[name].served);
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

  interface DumpedService {
    hostname: string;
    http: { origin: string }[];
  }
  interface DumpedCluster {
    name: string;
    endpoints: unknown[];
  }
  const dump = async (): Promise<{ services: DumpedService[]; clusters: DumpedCluster[] }> =>
    JSON.parse(
      (await httpGetIn(waypoint.pod.netnsPath, `${WAYPOINT_ADMIN}/config_dump`, 2000)).body,
    ) as { services: DumpedService[]; clusters: DumpedCluster[] };
  const until = async (what: string, check: () => Promise<boolean>): Promise<void> => {
    const deadline = performance.now() + 10_000;
    while (!(await check().catch(() => false))) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  /** Writes echo's VirtualService and waits until every route the waypoint holds for echo is its. */
  const applyVirtualService = async (name: string, routes: Record<string, unknown>[]) => {
    await mesh.apply('vs-echo.yaml', virtualService(name, routes));
    await until(`VirtualService ${name} at the waypoint`, async () => {
      const held = (await dump()).services.find((s) => s.hostname === echo.hostname)?.http ?? [];
      return (
        held.length > 0 &&
        held.every((r) => r.origin.startsWith(`VirtualService ${NAMESPACE}/${name} `))
      );
    });
  };
  /** How many finished requests the waypoint counted with this code and these flags. */
  const counted = async (code: number, flags: string): Promise<number> =>
    metricSum(await scrapeWaypoint(waypoint), REQUESTS, {
      response_code: String(code),
      response_flags: flags,
    });

  // Envoy sends its 400 and closes the connection cleanly; so must the waypoint, or the
  // reset behind the reply loses it on the way back.
  t.test('a malformed HTTP request gets 400 from the waypoint', async (t) => {
    await applyVirtualService('plain', [toEcho]);
    const served = sum(servedBy());
    const badHeader = await rawExchange(
      await connectIn(client.netnsPath, vipOf(echo)),
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nthis is not a header\r\n\r\n`,
    );
    t.match(badHeader, /^HTTP\/1\.1 400 Bad Request\r\n/, 'a header line without a colon');
    const garbage = await rawExchange(
      await connectIn(client.netnsPath, vipOf(echo)),
      '\x16\x03\x01 not http at all\r\n\r\n',
    );
    t.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/, 'bytes that are not HTTP on an HTTP port');
    t.equal(sum(servedBy()), served, 'nothing reached a backend');
    t.equal((await ask('/')).status, 200, 'the next client is served');
  });

  t.test('an upstream reset is not retried by the default policy', async (t) => {
    // Istio's default retryOn (connect-failure,refused-stream,unavailable,cancelled,
    // retriable-status-codes) has none of reset, 5xx, gateway-error: Envoy retries a reset
    // after the request went out only under those (RetryStateImpl::wouldRetryFromReset).
    await applyVirtualService('plain', [toEcho]);
    const served = sum(servedBy());
    const before = await counted(503, 'UC');
    const answer = await ask('/', { headers: { 'x-echo-reset': '1' } });
    t.equal(answer.status, 503);
    t.equal(
      answer.body,
      'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
    );
    t.equal(sum(servedBy()) - served, 1, 'one attempt');
    t.equal((await counted(503, 'UC')) - before, 1, 'counted as 503 UC');
  });

  t.test('an upstream reset is retried when retryOn says reset', async (t) => {
    await applyVirtualService('retry-reset', [
      { ...toEcho, retries: { attempts: 2, retryOn: 'reset' } },
    ]);
    const served = servedBy();
    const before = await counted(503, 'UC,URX');
    const answer = await ask('/', { headers: { 'x-echo-reset': '1' } });
    t.equal(answer.status, 503);
    const delta = servedBy().map((n, i) => n - served[i]!);
    t.equal(sum(delta), 3, 'the first try and 2 retries');
    // Envoy's previous_hosts predicate: other endpoints are preferred, not guaranteed.
    t.ok(delta.filter((n) => n > 0).length >= 2, `retried elsewhere (${delta.join(', ')})`);
    t.equal((await counted(503, 'UC,URX')) - before, 1, 'counted as 503 UC,URX');
  });

  t.test('a slow endpoint: perTryTimeout with retries recovers', async (t) => {
    // Envoy retries a per-try timeout only when retryOn has 5xx, gateway-error or reset: the
    // route to echo-a alone keeps Istio's default retryOn, and times out.
    await applyVirtualService('slow', [
      {
        match: [{ uri: { prefix: '/default-retry-on' } }],
        route: [{ destination: { host: 'echo-a' } }],
        retries: { attempts: 2, perTryTimeout: '300ms' },
      },
      { ...toEcho, retries: { attempts: 2, perTryTimeout: '300ms', retryOn: 'gateway-error' } },
    ]);
    echoes['echo-a'].behaviour.delayMs = 5000;
    t.teardown(() => void (echoes['echo-a'].behaviour.delayMs = 0));
    // Until the balancer has sent 3 first tries to the slow endpoint (at most 200 requests).
    const slowServed = echoes['echo-a'].served;
    const answers: EchoAnswer[] = [];
    while (echoes['echo-a'].served - slowServed < 3 && answers.length < 200)
      answers.push(await ask('/', { timeoutMs: 3000 }));
    t.ok(echoes['echo-a'].served - slowServed >= 3, 'the slow endpoint was tried');
    t.same(
      [...new Set(answers.map((a) => a.status))],
      [200],
      `all ${answers.length} answered 200 (${answers.map((a) => a.reply?.version ?? a.status).join(' ')})`,
    );
    t.notOk(
      answers.some((a) => a.reply?.version === 'echo-a'),
      'none by the slow endpoint: each was retried elsewhere at the per-try timeout',
    );

    const served = echoes['echo-a'].served;
    const before = await counted(504, 'UT');
    const started = performance.now();
    const stuck = await ask('/default-retry-on', { timeoutMs: 3000 });
    const took = performance.now() - started;
    t.equal(stuck.status, 504);
    t.equal(stuck.body, 'upstream request timeout');
    t.equal(echoes['echo-a'].served - served, 1, 'not retried');
    t.ok(took < 2000, `answered after ${Math.round(took)} ms`);
    t.equal((await counted(504, 'UT')) - before, 1, 'counted as 504 UT');
  });

  t.test('a config push never drops an open connection', async (t) => {
    const agent = netnsAgent(t, client.netnsPath, { maxSockets: 1 });
    let opened = 0;
    let closed = 0;
    const dial = agent.createConnection.bind(agent);
    agent.createConnection = (options, callback) => {
      opened++;
      const socket = dial(options, callback) as net.Socket;
      socket.once('close', () => closed++);
      return socket;
    };
    const statuses: Record<number, number> = {};
    for (let generation = 1; generation <= 5; generation++) {
      await mesh.apply(
        'vs-echo.yaml',
        virtualService('generations', [
          { ...toEcho, headers: { response: { set: { 'x-generation': String(generation) } } } },
        ]),
      );
      const deadline = performance.now() + 10_000;
      let answer: EchoAnswer;
      do {
        answer = await ask('/', { agent });
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (performance.now() > deadline) throw new Error(`generation ${generation} never seen`);
      } while (answer.headers['x-generation'] !== String(generation));
    }
    t.same(
      Object.keys(statuses),
      ['200'],
      `every request answered 200: ${JSON.stringify(statuses)}`,
    );
    t.equal(opened, 1, 'every request went over one connection');
    t.equal(closed, 0, 'which is still open');
  });

  t.test('response flags of the replies the waypoint makes', async (t) => {
    t.test('NR: no route matched → 404', async (t) => {
      await applyVirtualService('only-api', [{ match: [{ uri: { prefix: '/api' } }], ...toEcho }]);
      const before = await counted(404, 'NR');
      t.equal((await ask('/api/x')).status, 200);
      t.equal((await ask('/elsewhere')).status, 404);
      t.equal((await counted(404, 'NR')) - before, 1);
    });

    t.test('UH: a service whose pods are all gone → 503', async (t) => {
      await mesh.removePod(gonePod);
      await until('gone to have no endpoints at the waypoint', async () => {
        const cluster = (await dump()).clusters.find((c) => c.name.endsWith(`|${gone.hostname}`));
        return cluster !== undefined && cluster.endpoints.length === 0;
      });
      const before = await counted(503, 'UH');
      const answer = await ask('/', {}, vipOf(gone));
      t.equal(answer.status, 503);
      t.equal(answer.body, 'no healthy upstream');
      t.equal((await counted(503, 'UH')) - before, 1);
    });

    t.test('UF: the endpoint refuses the connection → 503 after the default retries', async (t) => {
      // connect-failure is in Istio's default retryOn: two retries, then the retry limit (URX).
      const before = await counted(503, 'UF,URX');
      const answer = await ask('/', {}, vipOf(refuser));
      t.equal(answer.status, 503);
      t.match(answer.body, /^upstream connect error or disconnect\/reset before headers\. retried/);
      t.equal((await counted(503, 'UF,URX')) - before, 1);
    });

    t.test('UT: the route timeout → 504', async (t) => {
      await applyVirtualService('timeout', [{ ...toEcho, timeout: '300ms' }]);
      const before = await counted(504, 'UT');
      const answer = await ask('/', { headers: { 'x-echo-delay-ms': '3000' } });
      t.equal(answer.status, 504);
      t.equal(answer.body, 'upstream request timeout');
      t.equal((await counted(504, 'UT')) - before, 1);
    });

    t.test('URX: a retriable status after every retry is passed on', async (t) => {
      // The default policy retries 503 twice; the last 503 goes to the client.
      await applyVirtualService('plain', [toEcho]);
      const served = sum(servedBy());
      const before = await counted(503, 'URX');
      const answer = await ask('/', { headers: { 'x-echo-status': '503' } });
      t.equal(answer.status, 503);
      t.ok(answer.reply, 'the answer is the backend’s');
      t.equal(sum(servedBy()) - served, 3);
      t.equal((await counted(503, 'URX')) - before, 1);
    });

    t.test('DI: an injected delay', async (t) => {
      await applyVirtualService('delay', [
        { ...toEcho, fault: { delay: { fixedDelay: '200ms', percentage: { value: 100 } } } },
      ]);
      const before = await counted(200, 'DI');
      const started = performance.now();
      const answer = await ask('/');
      const took = performance.now() - started;
      t.equal(answer.status, 200);
      t.ok(took >= 195, `answered after ${Math.round(took)} ms`);
      t.equal((await counted(200, 'DI')) - before, 1);
    });

    t.test('FI: an injected abort', async (t) => {
      await applyVirtualService('abort', [
        { ...toEcho, fault: { abort: { httpStatus: 418, percentage: { value: 100 } } } },
      ]);
      const served = sum(servedBy());
      const before = await counted(418, 'FI');
      const answer = await ask('/');
      t.equal(answer.status, 418);
      t.equal(answer.body, 'fault filter abort');
      t.equal(sum(servedBy()), served, 'no backend was asked');
      t.equal((await counted(418, 'FI')) - before, 1);
    });
  });

  t.test('an endpoint leaving under load loses no request Istio would retry', async (t) => {
    await applyVirtualService('churn', [
      {
        ...toEcho,
        retries: {
          attempts: 3,
          perTryTimeout: '1s',
          retryOn: 'connect-failure,refused-stream,reset,5xx',
        },
      },
    ]);
    const agent = netnsAgent(t, client.netnsPath, { maxSockets: 8 });
    const servedAtStart = echoes['echo-d'].served;
    const leaving = echoPods[ECHO_PODS.indexOf('echo-d')]!;
    const answers: Promise<EchoAnswer | Error>[] = [];
    const send = () =>
      answers.push(ask('/', { agent, timeoutMs: 20_000 }).catch((err: unknown) => err as Error));
    // A steady 50 requests a second: before, while and after the pod goes.
    const ticker = setInterval(send, 20);
    t.teardown(() => clearInterval(ticker));
    const count = (n: number) =>
      new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (answers.length < n) return;
          clearInterval(check);
          resolve();
        }, 5);
      });
    await count(50);
    const servedBefore = echoes['echo-d'].served - servedAtStart;
    await mesh.removePod(leaving);
    const removedAt = answers.length;
    await count(removedAt + 75);
    clearInterval(ticker);
    const settled = await Promise.all(answers);
    const failed = settled.filter((a) => a instanceof Error || a.status !== 200);
    t.same(
      failed.map((a) => (a instanceof Error ? a.message : `HTTP ${a.status} ${a.body}`)),
      [],
      `all ${settled.length} requests answered 200`,
    );
    t.ok(servedBefore > 0, `the leaving endpoint served ${servedBefore} before it left`);
    const late = settled.slice(removedAt + 25) as EchoAnswer[];
    t.notOk(
      late.some((a) => a.reply?.version === 'echo-d'),
      'requests sent once it was gone went elsewhere',
    );
  });
});

/**
 * Sends `bytes` as they are and resolves with everything the peer sent until it closed its
 * side (the socket is half-open capable, so its end is seen as such), then closes ours.
 */
function rawExchange(socket: net.Socket, bytes: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const received = () => Buffer.concat(chunks).toString('latin1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `connection still open ${timeoutMs} ms after sending ${JSON.stringify(bytes)}; ` +
            `received ${JSON.stringify(received())}`,
        ),
      );
    }, timeoutMs);
    const closed = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received());
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', () => undefined);
    socket.once('end', closed);
    socket.once('close', closed);
    socket.write(Buffer.from(bytes, 'latin1'));
  });
}
