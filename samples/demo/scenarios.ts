import { openMesh } from '../../local/mesh/mesh.js';
import { getInNetns } from '../../local/mesh/netns-http.js';
import { REVIEWS_UNAVAILABLE } from '../bookinfo/page.js';
import { readProductPage } from '../bookinfo/testing/page.js';
import type { Reply } from '../curl/main.js';
import { CLIENT, NAMESPACE, OUTSIDE_CLIENT, PORT, type Bookinfo } from './deploy.js';
import { count, pageShown, pagesShown, type Shell } from './shell.js';

// The walk-through: each scenario prints a heading, what it applies, the evidence, and PASS or
// FAIL. A scenario that throws fails alone; the next one starts from the config it left.

export interface Outcome {
  title: string;
  pass: boolean;
}

type Say = (line: string) => void;

interface Context {
  shell: Shell;
  app: Bookinfo;
  say: Say;
  /** Sessions of signed-in users: the Cookie header productpage set at POST /login. */
  cookie: Record<string, string>;
}

interface Scenario {
  title: string;
  run(ctx: Context): Promise<boolean>;
}

const ZTUNNEL_METRICS = 'http://127.0.0.1:15020/metrics';

export async function scenarios(shell: Shell, app: Bookinfo, say: Say): Promise<Outcome[]> {
  const ctx: Context = { shell, app, say, cookie: {} };
  const outcomes: Outcome[] = [];
  for (const [i, scenario] of SCENARIOS.entries()) {
    const letter = String.fromCharCode(97 + i);
    say('');
    say(`== ${letter}. ${scenario.title}`);
    const started = performance.now();
    let pass = false;
    try {
      pass = await scenario.run(ctx);
    } catch (err) {
      say(`  error: ${err instanceof Error ? err.message : String(err)}`);
    }
    say(
      `  ${pass ? 'PASS' : 'FAIL'}  ${letter}. ${scenario.title} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    outcomes.push({ title: `${letter}. ${scenario.title}`, pass });
  }
  return outcomes;
}

const SCENARIOS: Scenario[] = [
  {
    title: 'traffic between Bookinfo pods is mutual TLS (ztunnel metrics)',
    async run({ shell, app, say }) {
      const before = await mtlsConnections(shell);
      const replies = await pages(shell, app, 10, []);
      const after = await mtlsConnections(shell);
      say(`  10 pages: ${JSON.stringify(statuses(replies))}`);
      say(
        `  ztunnel istio_tcp_connections_opened_total{connection_security_policy="mutual_tls"}: ${before.total} → ${after.total}`,
      );
      for (const line of after.sample) say(`    ${line}`);
      return statuses(replies)['200'] === 10 && after.total > before.total;
    },
  },
  {
    title: 'all traffic to v1 (virtual-service-all-v1): no stars in 20 pages',
    async run({ shell, app, say }) {
      await shell.apply('destination-rule-all.yaml');
      await shell.apply('virtual-service-all-v1.yaml');
      await until(shell, app, [], (shown) => shown === 'no-stars');
      const shown = pagesShown(await pages(shell, app, 20, []));
      say(`  20 pages: ${JSON.stringify(shown)}`);
      return shown['no-stars'] === 20;
    },
  },
  {
    title: '90/10 canary to v3 (red stars): about one page in ten',
    async run({ shell, app, say }) {
      await shell.apply('virtual-service-reviews-90-10.yaml');
      await until(shell, app, [], (shown) => shown === 'red-stars');
      const shown = pagesShown(await pages(shell, app, 100, []));
      const red = shown['red-stars'] ?? 0;
      say(`  100 pages: ${JSON.stringify(shown)}: ${red} % from v3 (PASS from 3 % to 20 %)`);
      return red >= 3 && red <= 20 && red + (shown['no-stars'] ?? 0) === 100;
    },
  },
  {
    title: 'end-user jason goes to v2 (black stars), everyone else to v1',
    async run(ctx) {
      const { shell, app, say } = ctx;
      await shell.apply('virtual-service-reviews-test-v2.yaml');
      const jason = await signIn(ctx, 'jason');
      await until(shell, app, [jason], (shown) => shown === 'black-stars');
      await until(shell, app, [], (shown) => shown === 'no-stars');
      const asJason = pagesShown(await pages(shell, app, 20, [jason]));
      const asNobody = pagesShown(await pages(shell, app, 20, []));
      say(
        `  jason, 20 pages: ${JSON.stringify(asJason)}; not signed in, 20 pages: ${JSON.stringify(asNobody)}`,
      );
      return asJason['black-stars'] === 20 && asNobody['no-stars'] === 20;
    },
  },
  {
    title: 'blue-green: every page from v3 at once (virtual-service-reviews-v3)',
    async run({ shell, app, say }) {
      const applied = performance.now();
      await shell.apply('virtual-service-reviews-v3.yaml');
      await until(shell, app, [], (shown) => shown === 'red-stars');
      say(
        `  the first red page ${((performance.now() - applied) / 1000).toFixed(1)} s after the apply`,
      );
      const shown = pagesShown(await pages(shell, app, 20, []));
      say(`  20 pages: ${JSON.stringify(shown)}`);
      return shown['red-stars'] === 20;
    },
  },
  {
    title: 'a 7 s ratings delay for jason: productpage gives up (reviews 3 s × 2 tries)',
    async run(ctx) {
      const { shell, app, say } = ctx;
      const jason = await signIn(ctx, 'jason');
      await shell.apply('virtual-service-reviews-test-v2.yaml');
      await until(shell, app, [jason], (shown) => shown === 'black-stars');
      await shell.apply('virtual-service-ratings-test-delay.yaml');
      // The delay is in force once ratings, asked as jason, does not answer within 1 s.
      await untilTrue('the delay reaches the waypoint', async () => {
        const [reply] = await shell.curl(CLIENT, `${vip(app, 'ratings')}/ratings/0`, {
          headers: ['end-user: jason'],
          timeoutMs: 1000,
          show: false,
        });
        return reply?.error !== undefined;
      });
      const [page] = await shell.curl(CLIENT, `${app.productpage}/productpage`, {
        headers: [jason],
        timeoutMs: 20_000,
      });
      const view = readProductPage(page?.body ?? '');
      say(
        `  jason's page: HTTP ${page?.status} after ${((page?.ms ?? 0) / 1000).toFixed(1)} s, reviews: "${view.reviewsError ?? pageShown(page!)}"`,
      );
      const [other] = await shell.curl(CLIENT, `${app.productpage}/productpage`);
      say(`  not signed in: ${pageShown(other!)} after ${((other?.ms ?? 0) / 1000).toFixed(1)} s`);
      await shell.apply('virtual-service-all-v1.yaml', false);
      say('  (virtual-service-all-v1.yaml applied again: no delay)');
      return (
        page?.status === 200 &&
        view.reviewsError === REVIEWS_UNAVAILABLE &&
        page.ms >= 5000 &&
        pageShown(other!) === 'no-stars' &&
        other!.ms < 2000
      );
    },
  },
  {
    title:
      'STRICT mTLS refuses plaintext from outside the mesh; the waypoint lets only productpage GET reviews',
    async run({ shell, app, say }) {
      const direct = `http://${app.podIps[`${NAMESPACE}/productpage-v1`]}:${PORT}/productpage`;
      say("  a pod in namespace outside (not in the mesh) calls productpage's pod IP:");
      const [permissive] = await shell.curl(OUTSIDE_CLIENT, direct, { timeoutMs: 5000 });
      say(`    before: ${describe(permissive!)}`);
      await shell.apply('peer-authentication-strict.yaml');
      await untilTrue('STRICT reaches the node tunnels', async () => {
        const [reply] = await shell.curl(OUTSIDE_CLIENT, direct, { timeoutMs: 2000, show: false });
        return reply?.error !== undefined;
      });
      const [strict] = await shell.curl(OUTSIDE_CLIENT, direct, { timeoutMs: 2000 });
      say(`    with STRICT: ${describe(strict!)}`);
      const [inMesh] = await shell.curl(CLIENT, `${app.productpage}/productpage`);
      say(`  the mesh client still gets: ${describe(inMesh!)}`);

      await shell.apply('authorization-policy-reviews.yaml');
      await untilTrue('the policy reaches the waypoint', async () => {
        const [reply] = await shell.curl(CLIENT, `${vip(app, 'reviews')}/reviews/0`, {
          show: false,
        });
        return reply?.status === 403;
      });
      const [denied] = await shell.curl(CLIENT, `${vip(app, 'reviews')}/reviews/0`);
      say(`  curl (sa curl) → reviews: ${describe(denied!)}`);
      const [page] = await shell.curl(CLIENT, `${app.productpage}/productpage`);
      say(`  productpage (sa bookinfo-productpage) → reviews still works: ${pageShown(page!)}`);
      return (
        permissive?.status === 200 &&
        strict?.error !== undefined &&
        inMesh?.status === 200 &&
        denied?.status === 403 &&
        denied.body === 'RBAC: access denied' &&
        pageShown(page!) === 'no-stars'
      );
    },
  },
  {
    title:
      'ambit x explain predicts two requests to reviews (jason → v2; curl → 403), and the traffic agrees',
    async run(ctx) {
      const { shell, app, say } = ctx;
      await shell.apply('virtual-service-reviews-test-v2.yaml', false);
      say('  (virtual-service-reviews-test-v2.yaml applied again: jason → v2)');
      const config = `${shell.stateDir}/config`;
      const jasonToReviews = [
        'x',
        'explain',
        '--from',
        `${NAMESPACE}/productpage-v1`,
        '--to',
        `reviews:${PORT}`,
        '--path',
        '/reviews/0',
        '-H',
        'end-user:jason',
        '--config',
        config,
      ];
      await shell.ambit(jasonToReviews, { output: true });
      const predicted = await explained(shell, jasonToReviews);
      const curlToReviews = [
        'x',
        'explain',
        '--from',
        CLIENT,
        '--to',
        `reviews:${PORT}`,
        '--path',
        '/reviews/0',
        '--config',
        config,
      ];
      await shell.ambit(curlToReviews, { output: true });
      const predictedDenied = await explained(shell, curlToReviews);

      const asJason = await shell.curl(
        `${NAMESPACE}/productpage-v1`,
        `${vip(app, 'reviews')}/reviews/0`,
        { headers: ['end-user: jason'], count: 5 },
      );
      const servedBy = count(asJason.map((r) => servedByPod(r)));
      const [denied] = await shell.curl(CLIENT, `${vip(app, 'reviews')}/reviews/0`);
      const endpoints = predicted.outcome.endpoints?.map((e) => e.workload ?? e.address) ?? [];
      say(
        `  explain: productpage as jason → ${predicted.outcome.kind} to ${endpoints.join(', ')}; traffic: ${JSON.stringify(servedBy)}`,
      );
      say(
        `  explain: curl → ${predictedDenied.outcome.kind} ${predictedDenied.outcome.status ?? ''}; traffic: ${describe(denied!)}`,
      );
      return (
        predictedDenied.outcome.kind === 'denied' &&
        predictedDenied.outcome.status === denied?.status &&
        predicted.outcome.kind === 'routed' &&
        endpoints.length === 1 &&
        endpoints[0] === `${NAMESPACE}/reviews-v2` &&
        servedBy['reviews-v2'] === 5
      );
    },
  },
];

// Requests from the client pod.

function vip(app: Bookinfo, service: string): string {
  return `http://${app.vips[service]}:${PORT}`;
}

function pages(shell: Shell, app: Bookinfo, n: number, headers: string[]): Promise<Reply[]> {
  return shell.curl(CLIENT, `${app.productpage}/productpage`, {
    count: n,
    concurrency: Math.min(n, 10),
    headers,
  });
}

/** Signs in at productpage; the returned header carries the session. */
async function signIn(ctx: Context, user: string): Promise<string> {
  const kept = ctx.cookie[user];
  if (kept !== undefined) return kept;
  const [reply] = await ctx.shell.curl(CLIENT, `${ctx.app.productpage}/login`, {
    data: `username=${user}&passwd=`,
    headers: ['content-type: application/x-www-form-urlencoded'],
  });
  const cookie = String(reply?.headers?.['set-cookie']?.[0] ?? '').split(';')[0];
  if (reply?.status !== 302 || !cookie) throw new Error(`sign-in as ${user}: ${describe(reply!)}`);
  ctx.say(`  signed in as ${user}: HTTP 302, ${cookie.slice(0, 24)}…`);
  return (ctx.cookie[user] = `cookie: ${cookie}`);
}

/** Config reaches the waypoint a moment after the apply: pages until ten in a row agree. */
async function until(
  shell: Shell,
  app: Bookinfo,
  headers: string[],
  holds: (shown: string) => boolean,
): Promise<void> {
  await untilTrue('the new routes', async () => {
    const shown = (
      await shell.curl(CLIENT, `${app.productpage}/productpage`, {
        count: 10,
        concurrency: 10,
        headers,
        show: false,
      })
    ).map(pageShown);
    return shown.some(holds);
  });
}

async function untilTrue(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!(await check()))
    if (performance.now() > deadline) throw new Error(`${what}: not seen in 20 s`);
}

function statuses(replies: readonly Reply[]): Record<string, number> {
  return count(replies.map((r) => (r.error === undefined ? String(r.status) : 'error')));
}

function describe(reply: Reply): string {
  if (reply.error !== undefined) return `refused (${reply.error})`;
  const body = (reply.body ?? '').trim();
  return `HTTP ${reply.status}${body.length > 0 && body.length < 80 ? ` "${body}"` : ''}`;
}

/** reviews answers `{"podname": …}` as Istio's sample does. */
function servedByPod(reply: Reply): string {
  if (reply.status !== 200) return describe(reply);
  try {
    return String((JSON.parse(reply.body ?? '') as { podname?: string }).podname);
  } catch {
    return 'unreadable';
  }
}

interface Explained {
  outcome: { kind: string; status?: number; endpoints?: { workload?: string; address: string }[] };
}

async function explained(shell: Shell, args: string[]): Promise<Explained> {
  const ran = await shell.ambit([...args, '-o', 'json'], { show: false });
  return JSON.parse(ran.stdout) as Explained;
}

// ztunnel's view: mTLS connections opened, from every node's metrics.

async function mtlsConnections(shell: Shell): Promise<{ total: number; sample: string[] }> {
  const mesh = await openMesh(shell.stateDir);
  let total = 0;
  const sample: string[] = [];
  for (const node of mesh.cluster.nodes) {
    const reply = await getInNetns(node.netnsPath, ZTUNNEL_METRICS, 2000);
    for (const line of reply.body.split('\n')) {
      if (!line.startsWith('istio_tcp_connections_opened_total{')) continue;
      if (!line.includes('connection_security_policy="mutual_tls"')) continue;
      total += Number(line.slice(line.lastIndexOf('}') + 1));
      const label = (name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1];
      if (label('reporter') === 'destination' && sample.length < 3)
        sample.push(
          `${node.name}: ${label('source_workload')} → ${label('destination_workload')}: ${line.slice(line.lastIndexOf('}') + 2)} (mutual_tls)`,
        );
    }
  }
  return { total, sample };
}
