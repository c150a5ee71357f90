import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import type { LoadBalancer } from '../../api/waypoint/config.js';
import { netnsAgent } from '../support/netns.js';
import type { EchoAnswer } from '../support/waypoint.js';
import {
  concurrently,
  endpointIps,
  startDrMesh,
  tally,
  type DumpedCluster,
} from './destination-rule-mesh.js';

// DestinationRule load balancing and subsets at a waypoint, end to end: `reviews` has two
// echo pods (v1 and v2); each case writes the rule, waits until the waypoint runs the policy,
// then checks which pod answers what, as Envoy's balancers decide it.
// https://istio.io/latest/docs/reference/config/networking/destination-rule/#LoadBalancerSettings

const PORT = 9080;

t.test('DestinationRule load balancing and subsets at a waypoint', async (t) => {
  const dr = await startDrMesh(t, {
    backends: ['v1', 'v2'].map((version) => ({
      name: `reviews-${version}`,
      labels: { app: 'reviews', version },
      ports: [PORT],
    })),
    services: [
      {
        name: 'reviews',
        selector: { app: 'reviews' },
        ports: [{ name: 'http', port: PORT, targetPort: PORT }],
      },
    ],
  });
  const cluster = dr.clusterName('reviews', PORT);
  const pods = ['reviews-v1', 'reviews-v2'];
  const policy = (loadBalancer: object) => ({ host: 'reviews', trafficPolicy: { loadBalancer } });
  /** Waits until the waypoint balances `reviews` with `kind` over both pods. */
  const balancedBy = (kind: LoadBalancer['kind'], hashOn?: object) =>
    dr.waitCluster(
      cluster,
      (c: DumpedCluster) =>
        c.policy.loadBalancer.kind === kind &&
        (hashOn === undefined ||
          JSON.stringify((c.policy.loadBalancer as { hashOn?: object }).hashOn) ===
            JSON.stringify(hashOn)) &&
        c.endpoints.filter((e) => e.healthy).length === 2,
    );
  // Requests go over kept-alive connections, as a busy client's do.
  const agent = netnsAgent(t, dr.client.netnsPath, { maxSockets: 100 });
  const ask = (request: { path?: string; headers?: Record<string, string> } = {}) =>
    dr.ask('reviews', PORT, { ...request, agent });
  /** `n` requests one after another. */
  const inTurn = async (n: number, request: Parameters<typeof ask>[0] = {}) => {
    const answers: EchoAnswer[] = [];
    for (let i = 0; i < n; i++) answers.push(await ask(request));
    return answers;
  };
  const podOf = (answer: EchoAnswer): string => answer.reply?.pod ?? `HTTP ${answer.status}`;

  t.test('with no DestinationRule, LEAST_REQUEST keeps most requests off a slow pod', async (t) => {
    await balancedBy('LEAST_REQUEST');
    // Connections to both pods first, so that opening one does not hold the fast pod's requests.
    await concurrently(32, 16, () => ask());
    // Envoy's least request with two choices: once the slow pod holds more requests in flight
    // than the fast one, it wins only when both draws land on it (1 in 4). Requests arrive at a
    // steady pace (not as a closed loop of clients, which would wait on the slow pod and so
    // even out the counts in flight); the fast pod should take about 3 in 4.
    const slow = dr.backend('reviews-v2').echo;
    slow.behaviour.delayMs = 1000;
    t.teardown(() => void (slow.behaviour.delayMs = 0));
    const inFlight: Promise<EchoAnswer>[] = [];
    for (let i = 0; i < 120; i++) {
      inFlight.push(dr.ask('reviews', PORT, { agent, timeoutMs: 15_000 }));
      await sleep(15);
    }
    const counts = tally(await Promise.all(inFlight));
    t.equal((counts['reviews-v1'] ?? 0) + (counts['reviews-v2'] ?? 0), 120, 'all answered');
    t.ok((counts['reviews-v1'] ?? 0) >= 72, `the fast pod took ${counts['reviews-v1']} of 120`);
    t.ok((counts['reviews-v2'] ?? 0) > 0, `the slow pod still took ${counts['reviews-v2']}`);
  });

  t.test('ROUND_ROBIN alternates strictly between the two pods', async (t) => {
    await dr.destinationRule('reviews', policy({ simple: 'ROUND_ROBIN' }));
    await balancedBy('ROUND_ROBIN');
    const order = (await inTurn(40)).map(podOf);
    t.ok(
      order.every((pod, i) => pods.includes(pod) && (i === 0 || pod !== order[i - 1])),
      `40 requests alternate: ${order.join(' ')}`,
    );
  });

  t.test('RANDOM gives both pods traffic, in no fixed order', async (t) => {
    await dr.destinationRule('reviews', policy({ simple: 'RANDOM' }));
    await balancedBy('RANDOM');
    const answers = await inTurn(100);
    const order = answers.map(podOf);
    const counts = tally(answers);
    for (const pod of pods) t.ok((counts[pod] ?? 0) >= 20, `${pod} took ${counts[pod]} of 100`);
    t.ok(
      order.some((pod, i) => i > 0 && pod === order[i - 1]),
      'some pod answered twice in a row (not round robin)',
    );
  });

  /**
   * Every key's requests land on one pod (`requestsPerKey` each), and the keys together use
   * both pods. 20 keys on a two-host ring all landing on one host would be a 1 in 2^19 chance.
   */
  const stickyPerKey = async (
    t: Test,
    keys: string[],
    ask: (key: string) => Promise<EchoAnswer>,
    requestsPerKey = 3,
  ) => {
    const seen = new Map<string, Set<string>>();
    for (const key of keys)
      for (let i = 0; i < requestsPerKey; i++) {
        const set = seen.get(key) ?? new Set();
        set.add(podOf(await ask(key)));
        seen.set(key, set);
      }
    const split = [...seen].filter(([, set]) => set.size !== 1).map(([key]) => key);
    t.same(split, [], 'each key always reaches the same pod (and every answer is 200)');
    const used = new Set([...seen.values()].flatMap((set) => [...set]));
    t.same([...used].sort(), pods, 'different keys spread over both pods');
  };
  const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);

  t.test('consistent hash on a header: one value, one pod', async (t) => {
    await dr.destinationRule('reviews', policy({ consistentHash: { httpHeaderName: 'X-User' } }));
    await balancedBy('CONSISTENT_HASH', { header: 'x-user' });
    await stickyPerKey(t, users, (user) => ask({ headers: { 'x-user': user } }));
  });

  t.test('consistent hash on a query parameter: one value, one pod', async (t) => {
    await dr.destinationRule(
      'reviews',
      policy({ consistentHash: { httpQueryParameterName: 'user' } }),
    );
    await balancedBy('CONSISTENT_HASH', { queryParameter: 'user' });
    await stickyPerKey(t, users, async (user) => {
      const answer = await ask({ path: `/items?page=2&user=${user}` });
      t.equal(answer.reply?.path, `/items?page=2&user=${user}`, 'the path arrives as sent');
      return answer;
    });
  });

  t.test('consistent hash on the source IP: one client, one pod', async (t) => {
    await dr.destinationRule('reviews', policy({ consistentHash: { useSourceIp: true } }));
    await balancedBy('CONSISTENT_HASH', { sourceIp: true });
    const answers = await concurrently(30, 8, () => ask());
    t.equal(
      new Set(answers.map(podOf)).size,
      1,
      `all from one pod: ${JSON.stringify(tally(answers))}`,
    );
    t.ok(pods.includes(podOf(answers[0]!)));
  });

  t.test('consistent hash on a cookie: the waypoint sets it, and it sticks', async (t) => {
    await dr.destinationRule(
      'reviews',
      policy({ consistentHash: { httpCookie: { name: 'session', path: '/', ttl: '60s' } } }),
    );
    await balancedBy('CONSISTENT_HASH', { cookie: { name: 'session', ttlMs: 60_000, path: '/' } });
    // Envoy's cookie hash policy with a ttl makes the cookie when the request has none, hashes
    // the value it made, and sets it on the response (Max-Age in seconds, HttpOnly).
    const first = await ask();
    t.equal(first.status, 200);
    const setCookie = first.headers['set-cookie'] ?? [];
    t.equal(setCookie.length, 1, `one cookie set: ${JSON.stringify(setCookie)}`);
    const made = /^session="([^"]+)"; Max-Age=60; Path=\/; HttpOnly$/.exec(setCookie[0] ?? '');
    t.ok(made, `Set-Cookie as Envoy writes it: ${setCookie[0]}`);
    const cookie = `session=${made?.[1]}`;
    const again = await inTurn(10, { headers: { cookie } });
    t.same(
      again.map(podOf),
      Array(10).fill(podOf(first)),
      'requests carrying the cookie reach the pod that answered the first',
    );
    t.ok(
      again.every((a) => a.headers['set-cookie'] === undefined),
      'no cookie is set when the request has one',
    );
    await stickyPerKey(t, users, (user) =>
      ask({ headers: { cookie: `theme=dark; session=${user}` } }),
    );
  });

  t.test('subsets select pods by their labels', async (t) => {
    await dr.destinationRule('reviews', {
      host: 'reviews',
      subsets: ['v1', 'v2'].map((version) => ({ name: version, labels: { version } })),
    });
    for (const version of ['v2', 'v1']) {
      await dr.virtualService('reviews', {
        hosts: ['reviews'],
        http: [{ route: [{ destination: { host: 'reviews', subset: version } }] }],
      });
      const subset = await dr.waitCluster(
        dr.clusterName('reviews', PORT, version),
        (c) => c.endpoints.length > 0,
      );
      t.same(
        endpointIps(subset),
        [dr.backend(`reviews-${version}`).pod.ip],
        `subset ${version} holds the pod labelled version=${version}`,
      );
      // The route moves over once the service's routes name the subset's cluster.
      const deadline = performance.now() + 10_000;
      while (podOf(await ask()) !== `reviews-${version}`)
        if (performance.now() > deadline) throw new Error(`no answer from subset ${version}`);
      const answers = await inTurn(30);
      t.same(tally(answers), { [`reviews-${version}`]: 30 }, `30 requests, all to ${version}`);
    }
  });
});
