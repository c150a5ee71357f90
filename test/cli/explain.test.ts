import t from 'tap';
import type { Explanation } from '../../cli/explain/explanation.js';
import { httpGetIn } from '../support/netns.js';
import { runAmbit } from '../support/ambit.js';
import { WAYPOINT_ADMIN } from '../support/waypoint.js';
import { ZTUNNEL_ADMIN, waitUntil } from '../support/ztunnel.js';
import {
  startVsMesh,
  subsetsRule,
  virtualService,
  type VsMesh,
} from '../waypoint/virtual-service-mesh.js';

// `ambit x explain` against a real mesh: for each case the explanation is computed from the
// mesh's own config directory by the CLI, then the same request is sent through the mesh and
// what happens must be what the explanation said (the version that answers, the status, the
// attempts, the denial).

const NAMESPACE = 'explain';
const PORT = 9080;

interface Dumped {
  services: { hostname: string; http: { origin: string }[] }[];
}

async function explainCli(vs: VsMesh, args: string[]): Promise<Explanation> {
  const result = await runAmbit([
    'x',
    'explain',
    '--config',
    vs.mesh.configDir,
    '--from',
    `${NAMESPACE}/client`,
    '-o',
    'json',
    ...args,
  ]);
  if (result.code !== 0) throw new Error(`ambit x explain exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Explanation;
}

/** Waits until the waypoint holds, for `service`, only routes from VirtualService `name`. */
async function waypointHas(vs: VsMesh, service: string, name: string): Promise<void> {
  await waitUntil(
    `VirtualService ${name} at the waypoint`,
    async () => {
      const reply = await httpGetIn(
        vs.waypoint.pod.netnsPath,
        `${WAYPOINT_ADMIN}/config_dump`,
        2000,
      );
      const held =
        (JSON.parse(reply.body) as Dumped).services.find((s) => s.hostname === service)?.http ?? [];
      return (
        held.length > 0 &&
        held.every((r) => r.origin.startsWith(`VirtualService ${NAMESPACE}/${name} `))
      );
    },
    15_000,
  );
}

t.test('ambit x explain says what the mesh then does', async (t) => {
  const vs = await startVsMesh(t, {
    namespace: NAMESPACE,
    clients: [{ name: 'client' }],
    backends: [
      { name: 'reviews', ports: [PORT], versions: ['v1', 'v2'] },
      { name: 'secure', ports: [PORT], versions: ['v1'] },
    ],
  });
  const reviews = vs.backends.reviews!;
  const secure = vs.backends.secure!;
  const reviewsHost = reviews.service.hostname;
  await vs.apply('dr-reviews.yaml', subsetsRule('reviews', ['v1', 'v2']));
  /** The pod names an explanation says may answer (its endpoints' workloads, without namespace). */
  const answerers = (e: Explanation) =>
    (e.outcome.endpoints ?? []).map((p) => p.workload?.split('/')[1]);

  t.test('routed: a header match to a subset', async (t) => {
    await vs.apply(
      'vs-reviews.yaml',
      virtualService(
        'by-user',
        ['reviews'],
        [
          {
            match: [{ headers: { 'end-user': { exact: 'jason' } } }],
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          },
          { route: [{ destination: { host: 'reviews', subset: 'v1' } }] },
        ],
      ),
    );
    const jason = await explainCli(vs, ['--to', `reviews:${PORT}`, '-H', 'end-user: jason']);
    const anonymous = await explainCli(vs, ['--to', `reviews:${PORT}`]);
    t.equal(jason.outcome.kind, 'routed');
    t.same(answerers(jason), ['reviews-v2']);
    t.same(answerers(anonymous), ['reviews-v1']);
    await waypointHas(vs, reviewsHost, 'by-user');
    for (let i = 0; i < 5; i++) {
      const answer = await vs.ask({ to: 'reviews', headers: { 'end-user': 'jason' } });
      t.equal(answer.reply?.pod, answerers(jason)[0], `request ${i} with end-user: jason`);
      const other = await vs.ask({ to: 'reviews' });
      t.equal(other.reply?.pod, answerers(anonymous)[0], `request ${i} without it`);
    }
  });

  t.test('retried: the retry policy shown is the number of attempts made', async (t) => {
    await vs.apply(
      'vs-reviews.yaml',
      virtualService(
        'retries',
        ['reviews'],
        [
          {
            route: [{ destination: { host: 'reviews', subset: 'v1' } }],
            retries: { attempts: 2, retryOn: '5xx' },
          },
        ],
      ),
    );
    const e = await explainCli(vs, ['--to', `reviews:${PORT}`, '-H', 'x-echo-status: 500']);
    const resilience = e.steps.find((s) => s.kind === 'resilience');
    t.same(resilience?.kind === 'resilience' && resilience.retries.retryOn, ['5xx']);
    const attempts = resilience?.kind === 'resilience' ? resilience.retries.attempts : -1;
    t.equal(attempts, 2);
    await waypointHas(vs, reviewsHost, 'retries');
    const echo = reviews.echoes[answerers(e)[0]!.replace('reviews-', '')]!;
    const before = echo.served;
    const answer = await vs.ask({ to: 'reviews', headers: { 'x-echo-status': '500' } });
    t.equal(answer.status, 500);
    t.equal(echo.served - before, 1 + attempts, 'the first try and every retry');
  });

  t.test('faulted: an abort answered by the waypoint itself', async (t) => {
    await vs.apply(
      'vs-reviews.yaml',
      virtualService(
        'abort',
        ['reviews'],
        [
          {
            route: [{ destination: { host: 'reviews' } }],
            fault: { abort: { httpStatus: 418, percentage: { value: 100 } } },
          },
        ],
      ),
    );
    const e = await explainCli(vs, ['--to', `reviews:${PORT}`]);
    t.equal(e.outcome.kind, 'fault-abort');
    t.equal(e.outcome.status, 418);
    await waypointHas(vs, reviewsHost, 'abort');
    const served = Object.values(reviews.echoes).reduce((n, echo) => n + echo.served, 0);
    const answer = await vs.ask({ to: 'reviews' });
    t.equal(answer.status, e.outcome.status);
    t.equal(answer.body, 'fault filter abort');
    t.equal(
      Object.values(reviews.echoes).reduce((n, echo) => n + echo.served, 0),
      served,
      'no backend asked',
    );
  });

  t.test('no route: 404 NR', async (t) => {
    await vs.apply(
      'vs-reviews.yaml',
      virtualService(
        'api-only',
        ['reviews'],
        [{ match: [{ uri: { prefix: '/api' } }], route: [{ destination: { host: 'reviews' } }] }],
      ),
    );
    const e = await explainCli(vs, ['--to', `reviews.${NAMESPACE}:${PORT}`, '--path', '/web']);
    t.same([e.outcome.kind, e.outcome.status], ['no-route', 404]);
    await waypointHas(vs, reviewsHost, 'api-only');
    t.equal((await vs.ask({ to: 'reviews', path: '/web' })).status, e.outcome.status);
  });

  t.test('denied: an L4 policy at the destination node tunnel', async (t) => {
    // `secure` leaves the waypoint, so the client's node tunnel goes straight to its pod.
    await vs.mesh.labelService(secure.service, { 'istio.io/use-waypoint': 'none' });
    await vs.apply('ap-secure.yaml', {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'only-others' },
      spec: {
        selector: { matchLabels: { app: 'secure' } },
        action: 'ALLOW',
        rules: [
          { from: [{ source: { principals: [`cluster.local/ns/${NAMESPACE}/sa/others`] } }] },
        ],
      },
    });
    const e = await explainCli(vs, ['--to', `${secure.service.clusterIP}:${PORT}`]);
    t.equal(e.outcome.kind, 'denied');
    t.equal(e.outcome.connectionReset, true);
    const tunnelStep = e.steps.find((s) => s.kind === 'tunnel');
    t.equal(tunnelStep?.kind === 'tunnel' && tunnelStep.via, 'direct');
    await waitUntil(
      'the node tunnel to hold the policy and secure without a waypoint',
      async () => {
        const reply = await httpGetIn(
          vs.mesh.nodes[0]!.netnsPath,
          `${ZTUNNEL_ADMIN}/config_dump`,
          2000,
        );
        const dump = JSON.parse(reply.body) as {
          policies: { key: string }[];
          services: { hostname: string; waypoint?: unknown }[];
        };
        const service = dump.services.find((s) => s.hostname === secure.service.hostname);
        return (
          dump.policies.some((p) => p.key === `${NAMESPACE}/only-others`) &&
          service !== undefined &&
          service.waypoint === undefined
        );
      },
      15_000,
    );
    const served = secure.echoes.v1!.served;
    const answer = await vs
      .ask({ to: 'secure', timeoutMs: 5000 })
      .catch((err: unknown) => err as Error);
    t.ok(
      answer instanceof Error,
      `the request fails: ${answer instanceof Error ? answer.message : `HTTP ${answer.status}`}`,
    );
    t.equal(secure.echoes.v1!.served, served, 'the app never saw it');
  });
});
