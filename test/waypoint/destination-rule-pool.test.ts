import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { NO_LIMIT } from '../../controlplane/waypoint/traffic-policy.js';
import { netnsAgent } from '../support/netns.js';
import { startDrMesh, tally } from './destination-rule-mesh.js';

// DestinationRule connection pool settings at a waypoint, end to end: Envoy's circuit
// breakers (503 with response flag UO when one is open), connections per request, the
// connect timeout and the idle timeout of upstream connections.
// https://istio.io/latest/docs/reference/config/networking/destination-rule/#ConnectionPoolSettings
// https://istio.io/latest/docs/tasks/traffic-management/circuit-breaking/

const PORT = 9080;
const OVERFLOW =
  'upstream connect error or disconnect/reset before headers. reset reason: overflow';

const run = promisify(execFile);

t.test('DestinationRule connection pools at a waypoint', async (t) => {
  const names = ['ratings', 'idle', 'blackhole'];
  const http = [{ name: 'http', port: PORT, targetPort: PORT }];
  const dr = await startDrMesh(t, {
    // `pair` is a service over two of the pods, for a cluster-wide limit.
    backends: names.map((name) => ({
      name: `${name}-1`,
      labels: { app: name, version: 'v1', ...(name === 'blackhole' ? {} : { pair: 'yes' }) },
      ports: [PORT],
    })),
    services: [
      ...names.map((name) => ({ name, selector: { app: name }, ports: http })),
      { name: 'pair', selector: { pair: 'yes' }, ports: http },
    ],
  });
  const ratings = dr.backend('ratings-1');
  const pool = (connectionPool: object) => ({ host: 'ratings', trafficPolicy: { connectionPool } });
  /** Waits until the waypoint runs `ratings` with these connection pool settings. */
  const pooled = (service: string, expected: Record<string, number>) =>
    dr.waitCluster(dr.clusterName(service, PORT), (c) =>
      Object.entries(expected).every(
        ([key, value]) =>
          (c.policy.connectionPool as unknown as Record<string, number>)[key] === value,
      ),
    );
  /** `n` requests at once, each on a connection of its own. */
  const atOnce = (service: string, n: number, headers: Record<string, string> = {}) => {
    const agent = netnsAgent(t, dr.client.netnsPath, { maxSockets: n });
    return Promise.all(
      Array.from({ length: n }, () => dr.ask(service, PORT, { agent, headers, timeoutMs: 10_000 })),
    );
  };

  t.test(
    'maxConnections 1 and http1MaxPendingRequests 1: concurrent clients get 200s and 503 UO',
    async (t) => {
      await dr.destinationRule(
        'ratings',
        pool({ tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } }),
      );
      await pooled('ratings', { maxConnections: 1, http1MaxPendingRequests: 1 });
      const before = await dr.requests(503, 'UO');
      // One request on the one connection, one waiting for it; the rest overflow at once.
      const answers = await atOnce('ratings', 8, { 'x-echo-delay-ms': '300' });
      const counts = tally(answers);
      const ok = counts['ratings-1'] ?? 0;
      const overflowed = answers.filter((a) => a.status === 503);
      t.ok(ok >= 1, `some requests were served: ${JSON.stringify(counts)}`);
      t.ok(overflowed.length >= 1, 'some overflowed');
      t.equal(ok + overflowed.length, 8, 'nothing but 200 and 503');
      t.ok(
        overflowed.every((a) => a.body === OVERFLOW),
        `Envoy's overflow body: ${overflowed[0]?.body}`,
      );
      t.equal(await dr.requests(503, 'UO'), before + overflowed.length, 'counted with flag UO');
    },
  );

  t.test('an overflow answer carries x-envoy-overloaded: true', async (t) => {
    // Envoy's router adds it to a local reply for a request dropped by a circuit breaker
    // unless `suppress_envoy_headers` is set, which Istio leaves off.
    const answers = await atOnce('ratings', 8, { 'x-echo-delay-ms': '300' });
    const overflowed = answers.filter((a) => a.status === 503);
    t.ok(overflowed.length >= 1, 'some overflowed');
    t.ok(overflowed.every((a) => a.headers['x-envoy-overloaded'] === 'true'));
  });

  t.test('http2MaxRequests 1: one request in flight, the others 503 UO at once', async (t) => {
    await dr.destinationRule('ratings', pool({ http: { http2MaxRequests: 1 } }));
    await pooled('ratings', { maxConnections: NO_LIMIT, http2MaxRequests: 1 });
    const before = await dr.requests(503, 'UO');
    const served = ratings.echo.served;
    const answers = await atOnce('ratings', 4, { 'x-echo-delay-ms': '1000' });
    t.same(
      answers.map((a) => a.status).sort(),
      [200, 503, 503, 503],
      'Envoy limits requests in flight to the cluster (max_requests), whatever the protocol',
    );
    t.equal(ratings.echo.served - served, 1, 'only one reached the pod');
    t.equal(await dr.requests(503, 'UO'), before + 3);
  });

  t.test('maxRequestsPerConnection 1: a new upstream connection for every request', async (t) => {
    await dr.destinationRule('ratings', { host: 'ratings' });
    await pooled('ratings', { http2MaxRequests: NO_LIMIT, maxRequestsPerConnection: 0 });
    const agent = netnsAgent(t, dr.client.netnsPath, { maxSockets: 1 });
    /** The upstream connections `n` requests in turn took (after one to warm up). */
    const connectionsFor = async (n: number) => {
      const statuses = [(await dr.ask('ratings', PORT, { agent })).status];
      const accepted = ratings.accepted;
      for (let i = 0; i < n; i++) statuses.push((await dr.ask('ratings', PORT, { agent })).status);
      t.same(new Set(statuses), new Set([200]), 'every request is served');
      return ratings.accepted - accepted;
    };
    t.equal(await connectionsFor(10), 0, 'unlimited: 10 requests reuse a kept-alive connection');
    await dr.destinationRule('ratings', pool({ http: { maxRequestsPerConnection: 1 } }));
    await pooled('ratings', { maxRequestsPerConnection: 1 });
    t.equal(await connectionsFor(10), 10, 'limited to 1: 10 requests, 10 connections');
  });

  /** Routes `ratings` with `attempts` retries on Istio's default conditions (503 among them). */
  const retrying = async (attempts: number) => {
    await dr.virtualService('ratings', {
      hosts: ['ratings'],
      http: [{ route: [{ destination: { host: 'ratings' } }], retries: { attempts } }],
    });
    const hostname = dr.service('ratings').hostname;
    await dr.waitDump(`${attempts} retries on ratings`, ({ services }) =>
      services.some((s) => s.hostname === hostname && s.http[0]?.retries.attempts === attempts),
    );
  };
  /**
   * Four requests at once whose every attempt answers 503 after 300 ms: the four first answers
   * come back together, one request takes the one retry the cluster allows, and the other
   * three find it taken and pass their 503 on with flag UO (Envoy's upstream_rq_retry_overflow).
   */
  const retryStorm = async (t: Test, attempts: number) => {
    const overflowBefore = await dr.requests(503, 'UO');
    const exhaustedBefore = await dr.requests(503, 'URX');
    const served = ratings.echo.served;
    const answers = await atOnce('ratings', 4, {
      'x-echo-status': '503',
      'x-echo-delay-ms': '300',
    });
    t.same(
      answers.map((a) => a.status),
      [503, 503, 503, 503],
    );
    t.equal(
      ratings.echo.served - served,
      4 + attempts,
      `4 first attempts and ${attempts} retries of one request reached the pod`,
    );
    t.equal(await dr.requests(503, 'UO'), overflowBefore + 3, 'three retries overflowed');
    t.equal(await dr.requests(503, 'URX'), exhaustedBefore + 1, 'one used up its retries');
  };

  t.test('maxRetries 1: one retry at a time in the cluster, the others overflow', async (t) => {
    await dr.destinationRule('ratings', pool({ http: { maxRetries: 1 } }));
    await pooled('ratings', { maxRetries: 1, maxRequestsPerConnection: 0 });
    await retrying(1);
    await retryStorm(t, 1);
  });

  t.test('maxRetries 1: the request holding the retry may retry again', async (t) => {
    // Envoy's RetryStateImpl::shouldRetry gives back the request's own retry (resetRetry)
    // before it asks the breaker for the next one.
    await retrying(2);
    await retryStorm(t, 2);
  });

  t.test('connectTimeout: an endpoint that never answers fails in that time, UF', async (t) => {
    // SYNs to the endpoint's HBONE port are dropped: the connection never opens.
    const netns = dr.backend('blackhole-1').pod.netns;
    const rule = ['INPUT', '-p', 'tcp', '--dport', '15008', '-j', 'DROP'];
    await run('ip', ['netns', 'exec', netns, 'iptables', '-I', ...rule]);
    t.teardown(() =>
      run('ip', ['netns', 'exec', netns, 'iptables', '-D', ...rule]).catch(() => undefined),
    );
    await dr.destinationRule('blackhole', {
      host: 'blackhole',
      trafficPolicy: { connectionPool: { tcp: { connectTimeout: '300ms' } } },
    });
    await dr.virtualService('blackhole', {
      hosts: ['blackhole'],
      http: [{ route: [{ destination: { host: 'blackhole' } }], retries: { attempts: 0 } }],
    });
    await pooled('blackhole', { connectTimeoutMs: 300 });
    const before = await dr.requests(503, 'UF');
    // The route may still carry the default retries for a moment: ask until one attempt is
    // all a request gets (Istio's default would try three times).
    const deadline = performance.now() + 10_000;
    for (;;) {
      const started = performance.now();
      const answer = await dr.ask('blackhole', PORT, { timeoutMs: 10_000 });
      const elapsed = performance.now() - started;
      t.equal(answer.status, 503);
      if (elapsed < 900) {
        t.ok(elapsed >= 300, `failed after ${Math.round(elapsed)} ms, not before the timeout`);
        t.equal(
          answer.body,
          'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
        );
        break;
      }
      if (performance.now() > deadline) throw new Error(`still ${Math.round(elapsed)} ms`);
    }
    t.ok((await dr.requests(503, 'UF')) > before, 'counted with flag UF');
  });

  t.test('idleTimeout: an upstream connection left idle that long is closed', async (t) => {
    const idle = dr.backend('idle-1');
    await dr.destinationRule('idle', {
      host: 'idle',
      trafficPolicy: { connectionPool: { http: { idleTimeout: '500ms' } } },
    });
    await pooled('idle', { idleTimeoutMs: 500 });
    t.equal(idle.open, 0, 'no connection to the pod yet');
    t.equal((await dr.ask('idle', PORT)).status, 200);
    const answered = performance.now();
    t.equal(idle.open, 1, 'the waypoint keeps its connection after the answer');
    const deadline = answered + 5000;
    while (idle.open > 0) {
      if (performance.now() > deadline) throw new Error('the idle connection stayed open');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const closedAfter = performance.now() - answered;
    t.ok(closedAfter >= 450, `closed after ${Math.round(closedAfter)} ms idle, not before`);
  });

  t.test('maxConnections caps the connections of the whole cluster, not of each pod', async (t) => {
    // Envoy's max_connections is a cluster's circuit breaker; a pod without any connection
    // still gets one (ConnPoolImplBase), and requests beyond wait for one as pending. Round
    // robin sends the first two requests to different pods, so that is exactly two: with
    // least-request both could go to one pod, which opens two, and the other still gets its
    // one (three, as Envoy would too).
    await dr.destinationRule('pair', {
      host: 'pair',
      trafficPolicy: {
        connectionPool: { tcp: { maxConnections: 2 } },
        loadBalancer: { simple: 'ROUND_ROBIN' },
      },
    });
    await pooled('pair', { maxConnections: 2 });
    const pods = [dr.backend('ratings-1'), dr.backend('idle-1')];
    const accepted = () => pods.reduce((sum, pod) => sum + pod.accepted, 0);
    const before = accepted();
    const answers = await atOnce('pair', 8, { 'x-echo-delay-ms': '300' });
    t.same(new Set(answers.map((a) => a.status)), new Set([200]), 'every request is served');
    t.equal(accepted() - before, 2, 'over two connections in all');
  });
});
