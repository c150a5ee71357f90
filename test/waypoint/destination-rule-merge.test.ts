import type { Agent } from 'node:http';
import t, { type Test } from 'tap';
import { NO_LIMIT } from '../../controlplane/waypoint/traffic-policy.js';
import { netnsAgent } from '../support/netns.js';
import type { EchoAnswer } from '../support/waypoint.js';
import { startDrMesh, tally, type DumpedCluster } from './destination-rule-mesh.js';

// How a waypoint merges a DestinationRule's levels, end to end, as Istio does
// (pilot/pkg/networking/util MergeSubsetTrafficPolicy): a portLevelSettings entry replaces
// the policy above it whole, a subset's trafficPolicy replaces it component by component.
// Then what the mesh does with a rule that does not fit (a route to a subset no rule defines),
// and a push of new rules while requests flow.
// https://istio.io/latest/docs/reference/config/networking/destination-rule/#TrafficPolicy-PortTrafficPolicy

const PORT = 9080;
const ALT_PORT = 9081;
const PODS = ['reviews-1', 'reviews-2', 'reviews-3'];

t.test('DestinationRule levels, bad references and pushes at a waypoint', async (t) => {
  const dr = await startDrMesh(t, {
    // Subset v1 has two pods, so that its own load balancing shows.
    backends: PODS.map((name, i) => ({
      name,
      labels: { app: 'reviews', version: i < 2 ? 'v1' : 'v2' },
      ports: [PORT],
    })),
    services: [
      {
        name: 'reviews',
        selector: { app: 'reviews' },
        ports: [
          { name: 'http', port: PORT, targetPort: PORT },
          { name: 'http-alt', port: ALT_PORT, targetPort: PORT },
        ],
      },
    ],
  });
  const agent = netnsAgent(t, dr.client.netnsPath, { maxSockets: 8 });
  const podOf = (answer: EchoAnswer): string => answer.reply?.pod ?? `HTTP ${answer.status}`;
  const ask = (port: number, headers: Record<string, string> = {}) =>
    dr.ask('reviews', port, { agent, headers });
  const inTurn = async (port: number, n: number, headers: Record<string, string> = {}) => {
    const answers: EchoAnswer[] = [];
    for (let i = 0; i < n; i++) answers.push(await ask(port, headers));
    return answers.map(podOf);
  };
  /** Three slow requests at once, each on a connection of its own: their statuses, sorted. */
  const threeAtOnce = async (port: number) => {
    const own = netnsAgent(t, dr.client.netnsPath, { maxSockets: 3 });
    const answers = await Promise.all(
      [0, 1, 2].map(() =>
        dr.ask('reviews', port, { agent: own, headers: { 'x-echo-delay-ms': '500' } }),
      ),
    );
    own.destroy();
    return answers.map((a) => a.status).sort();
  };
  /**
   * Each of 30 users always lands on one pod; together they use `pods` exactly (30 users
   * missing one of three pods on a ring would be a 1 in 10^4 chance).
   */
  const stickyPerUser = async (t: Test, port: number, pods: string[]) => {
    const seen = new Map<string, Set<string>>();
    for (let i = 0; i < 30; i++) {
      const user = `user-${i}`;
      seen.set(user, new Set(await inTurn(port, 3, { 'x-user': user })));
    }
    t.same(
      [...seen].filter(([, set]) => set.size !== 1),
      [],
      'one pod per user',
    );
    t.same(
      [...new Set([...seen.values()].flatMap((s) => [...s]))].sort(),
      pods,
      `users spread over ${pods.join(', ')}`,
    );
  };
  const hashOnUser = { consistentHash: { httpHeaderName: 'x-user' } };
  const oneAtATime = { http: { http2MaxRequests: 1 } };
  /** Waits until the waypoint runs the cluster with a policy `done` accepts. */
  const running = (port: number, subset: string | undefined, done: (c: DumpedCluster) => boolean) =>
    dr.waitCluster(dr.clusterName('reviews', port, subset), done);

  t.test('portLevelSettings replace the top-level policy on their port, whole', async (t) => {
    await dr.destinationRule('reviews', {
      host: 'reviews',
      trafficPolicy: {
        loadBalancer: { simple: 'ROUND_ROBIN' },
        connectionPool: oneAtATime,
        portLevelSettings: [{ port: { number: ALT_PORT }, loadBalancer: hashOnUser }],
      },
    });
    await running(PORT, undefined, (c) => c.policy.loadBalancer.kind === 'ROUND_ROBIN');
    const alt = await running(
      ALT_PORT,
      undefined,
      (c) => c.policy.loadBalancer.kind === 'CONSISTENT_HASH',
    );
    t.equal(alt.policy.connectionPool.http2MaxRequests, NO_LIMIT, 'the port has no pool limit');

    const order = await inTurn(PORT, 30);
    t.ok(
      order.every((pod, i) => i < 2 || new Set(order.slice(i - 2, i + 1)).size === 3),
      `port ${PORT}: round robin over the three pods: ${order.join(' ')}`,
    );
    t.same(await threeAtOnce(PORT), [200, 503, 503], `port ${PORT}: one request at a time`);
    await stickyPerUser(t, ALT_PORT, PODS);
    t.same(
      await threeAtOnce(ALT_PORT),
      [200, 200, 200],
      `port ${ALT_PORT}: the top-level connectionPool is not inherited`,
    );
  });

  t.test('a subset’s trafficPolicy overrides the top level component by component', async (t) => {
    await dr.destinationRule('reviews', {
      host: 'reviews',
      trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' }, connectionPool: oneAtATime },
      subsets: [
        {
          name: 'v1',
          labels: { version: 'v1' },
          trafficPolicy: {
            loadBalancer: hashOnUser,
            portLevelSettings: [
              { port: { number: ALT_PORT }, connectionPool: { tcp: { maxConnections: 100 } } },
            ],
          },
        },
        { name: 'v2', labels: { version: 'v2' } },
      ],
    });
    await dr.virtualService('reviews', {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }],
    });
    const v1 = await running(PORT, 'v1', (c) => c.endpoints.length === 2);
    t.same(
      v1.policy.loadBalancer,
      { kind: 'CONSISTENT_HASH', hashOn: { header: 'x-user' } },
      'the subset’s load balancer',
    );
    t.equal(v1.policy.connectionPool.http2MaxRequests, 1, 'the top level’s connection pool');
    await dr.waitDump('the route to subset v1', ({ services }) =>
      services.some((s) =>
        s.http.some(
          (r) =>
            r.action.kind === 'route' && r.action.destinations.some((d) => d.cluster === v1.name),
        ),
      ),
    );
    await stickyPerUser(t, PORT, ['reviews-1', 'reviews-2']);
    t.same(await threeAtOnce(PORT), [200, 503, 503], 'one request at a time, from the top level');

    // On the port it names, the subset's port-level entry replaces everything: its connection
    // pool, and for what it leaves out the defaults (LEAST_REQUEST, no limits), not the
    // subset's hash nor the top level's round robin and request limit.
    const alt = await running(ALT_PORT, 'v1', (c) => c.endpoints.length === 2);
    t.same(alt.policy.loadBalancer, { kind: 'LEAST_REQUEST' });
    t.match(alt.policy.connectionPool, { maxConnections: 100, http2MaxRequests: NO_LIMIT });
    const users = new Set(await inTurn(ALT_PORT, 20, { 'x-user': 'user-1' }));
    t.same([...users].sort(), ['reviews-1', 'reviews-2'], 'one user is spread: no hash');
    t.same(await threeAtOnce(ALT_PORT), [200, 200, 200], 'no request limit');
  });

  t.test('a push of new rules during load drops no request and no connection', async (t) => {
    const rule = (trafficPolicy: object) =>
      dr.destinationRule('reviews', {
        host: 'reviews',
        trafficPolicy,
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      });
    await rule({ loadBalancer: { simple: 'ROUND_ROBIN' } });
    await dr.virtualService('reviews', {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }],
    });
    await running(PORT, 'v1', (c) => c.policy.loadBalancer.kind === 'ROUND_ROBIN');

    // Four clients on kept-alive connections, asking until told to stop.
    const load = netnsAgent(t, dr.client.netnsPath, { maxSockets: 4 });
    const connections = countConnections(load);
    const answers: EchoAnswer[] = [];
    const failures: string[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        await dr
          .ask('reviews', PORT, { agent: load })
          .then((a) => answers.push(a))
          .catch((err: unknown) => failures.push(String(err)));
      }
    };
    const clients = [0, 1, 2, 3].map(client);

    const pushes: [object, (c: DumpedCluster) => boolean][] = [
      [{ loadBalancer: { simple: 'RANDOM' } }, (c) => c.policy.loadBalancer.kind === 'RANDOM'],
      [
        { loadBalancer: hashOnUser, connectionPool: { http: { maxRequestsPerConnection: 2 } } },
        (c) => c.policy.connectionPool.maxRequestsPerConnection === 2,
      ],
      [
        { outlierDetection: { consecutive5xxErrors: 2, interval: '1s', baseEjectionTime: '1s' } },
        (c) => c.policy.outlierDetection?.consecutive5xxErrors === 2,
      ],
      [
        { connectionPool: { http: { idleTimeout: '200ms' }, tcp: { maxConnections: 2 } } },
        (c) => c.policy.connectionPool.maxConnections === 2,
      ],
      [
        { loadBalancer: { simple: 'ROUND_ROBIN' } },
        (c) => c.policy.loadBalancer.kind === 'ROUND_ROBIN',
      ],
    ];
    /** Waits until `n` more requests have been answered (or one failed). */
    const served = async (n: number) => {
      const target = answers.length + n;
      while (answers.length < target && failures.length === 0)
        await new Promise((resolve) => setTimeout(resolve, 10));
    };
    for (const [policy, applied] of pushes) {
      await rule(policy);
      await running(PORT, 'v1', applied);
      await served(20);
    }
    // The route moves to the other subset under load, too.
    await dr.virtualService('reviews', {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }],
    });
    const switched = answers.length;
    while (!answers.slice(switched).some((a) => podOf(a) === 'reviews-3') && failures.length === 0)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await served(20);
    stop = true;
    await Promise.all(clients);

    t.same(failures, [], 'no request failed');
    t.same(
      Object.keys(tally(answers)).sort(),
      PODS,
      `${answers.length} answers, every one from a pod (${JSON.stringify(tally(answers))})`,
    );
    t.ok(connections() <= 4, `the clients kept their connections: ${connections()} opened`);
  });

  t.test('a route to a subset no DestinationRule defines answers 503', async (t) => {
    await dr.virtualService('reviews', {
      hosts: ['reviews'],
      http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }],
    });
    const missing = await running(PORT, 'v9', () => true);
    t.equal(
      missing.problem,
      'no DestinationRule for reviews.dr.svc.cluster.local defines subset v9',
    );
    t.same(missing.endpoints, [], 'the waypoint has the cluster, with no endpoints');
    const answers = await Promise.all([PORT, ALT_PORT].map((port) => ask(port)));
    t.same(
      answers.map((a) => a.status),
      [503, 503],
    );
    const ready = await fetch(`${dr.mesh.controlPlane.monitoringUrl}/ready`);
    t.equal(ready.status, 200, 'the control plane still serves');
  });

  t.test(
    'a route to a missing subset is answered as Envoy answers a missing cluster: 503 NC, no body',
    async (t) => {
      const before = await dr.requests(503, 'NC');
      const answer = await ask(PORT);
      t.equal(answer.status, 503);
      t.equal(answer.body, '');
      t.equal(await dr.requests(503, 'NC'), before + 1);
    },
  );

  t.test('the control plane reports the missing subset as an analyzer issue', async (t) => {
    const reply = await fetch(`${dr.mesh.controlPlane.monitoringUrl}/debug/config`);
    const { issues } = (await reply.json()) as { issues?: { code: string; subset?: string }[] };
    t.ok(issues?.some((i) => i.code === 'DestinationSubsetNotFound' && i.subset === 'v9'));
  });
});

/** Counts the connections an agent opens from now on. */
function countConnections(agent: Agent): () => number {
  let opened = 0;
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (...args: Parameters<Agent['createConnection']>) => {
    opened++;
    return create(...args);
  };
  return () => opened;
}
