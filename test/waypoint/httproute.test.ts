import http from 'node:http';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import type { EchoServer } from '../../samples/echo/echo.js';
import { startMesh, type MeshPod } from '../support/mesh.js';
import { httpGetIn, listenIn, netnsAgent } from '../support/netns.js';
import {
  addWaypoint,
  askEcho,
  serveEcho,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
  WAYPOINT_ADMIN,
  type EchoAnswer,
} from '../support/waypoint.js';
import { waitEnrolled } from '../support/ztunnel.js';

// HTTPRoute (gateway.networking.k8s.io/v1) attached to a Service (GAMMA) and served by a
// namespace waypoint, end to end: a client pod's requests to the `echo` VIP go through its
// node tunnel to the waypoint, which routes them by the HTTPRoutes to the `echo-v1`,
// `echo-v2`, `echo-v3` Services (one echo pod each), so the version that answers names the
// rule that matched. Each case writes its routes, waits until the waypoint holds exactly
// those (its config dump), then asserts what Istio does.

const NAMESPACE = 'gamma';
const PORT = 9080;
const TARGET_PORT = 8080;
const HOST = `echo:${PORT}`;
const VERSIONS = ['v1', 'v2', 'v3'] as const;
type Version = (typeof VERSIONS)[number];

type Rule = Record<string, unknown>;
interface RouteObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; creationTimestamp?: string };
  spec: unknown;
}

/** An HTTPRoute whose parent is the `echo` Service (GAMMA), on its port. */
function httpRoute(name: string, rules: Rule[], creationTimestamp?: string): RouteObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: NAMESPACE, ...(creationTimestamp && { creationTimestamp }) },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: PORT }],
      rules,
    },
  };
}

/** A backendRef to the Service of one version. */
function to(version: Version, weight?: number): Record<string, unknown> {
  return { name: `echo-${version}`, port: PORT, ...(weight !== undefined && { weight }) };
}

const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } });
const exact = (value: string) => ({ path: { type: 'Exact', value } });

t.test('HTTPRoutes on a Service, through a namespace waypoint', async (t) => {
  const mesh = await startMesh(t, { nodes: 1, extraTokens: [waypointToken(NAMESPACE)] });
  await mesh.addNamespace(NAMESPACE, { 'istio.io/dataplane-mode': 'ambient' });
  const client = await mesh.addPod({ node: 'node-1', namespace: NAMESPACE, name: 'client' });
  const pods = await Promise.all(
    VERSIONS.map((version) =>
      mesh.addPod({
        node: 'node-1',
        namespace: NAMESPACE,
        name: `echo-${version}`,
        labels: { app: 'echo', version },
        serviceAccount: 'echo',
        ports: [TARGET_PORT],
      }),
    ),
  );
  const mirrorPod = await mesh.addPod({
    node: 'node-1',
    namespace: NAMESPACE,
    name: 'mirror',
    labels: { app: 'mirror' },
    ports: [TARGET_PORT],
  });
  const ports = [{ name: 'http', port: PORT, targetPort: TARGET_PORT }];
  const echo = await mesh.addService({
    namespace: NAMESPACE,
    name: 'echo',
    selector: { app: 'echo' },
    ports,
  });
  for (const version of VERSIONS)
    await mesh.addService({
      namespace: NAMESPACE,
      name: `echo-${version}`,
      selector: { version },
      ports,
    });
  await mesh.addService({
    namespace: NAMESPACE,
    name: 'mirror',
    selector: { app: 'mirror' },
    ports,
  });
  const echoes = {} as Record<Version, EchoServer>;
  for (const [i, version] of VERSIONS.entries())
    echoes[version] = await serveEcho(t, pods[i]!, { port: TARGET_PORT, version });
  const mirrored = await recordingServer(t, mirrorPod);
  const waypoint = await addWaypoint(mesh, { namespace: NAMESPACE, node: 'node-1' });
  await useWaypoint(mesh, NAMESPACE, waypoint.name);
  await mesh.waitReady();
  await waitEnrolled(mesh, [client, ...pods, mirrorPod], [echo.hostname]);
  await waitWaypointBound(mesh, echo, waypoint);

  const vip = { address: echo.clusterIP, port: PORT };
  const ask = (
    path: string,
    request: { method?: string; headers?: Record<string, string>; agent?: http.Agent } = {},
  ): Promise<EchoAnswer> =>
    askEcho(client, vip, { path, ...request, headers: { host: HOST, ...request.headers } });
  /** The version that answered, or the status when the waypoint answered itself. */
  const who = async (...args: Parameters<typeof ask>): Promise<string | number> => {
    const answer = await ask(...args);
    return answer.reply?.version ?? answer.status;
  };

  /** The HTTPRoute names the waypoint's routes for `echo` come from, in the order it holds them. */
  const heldRoutes = async (): Promise<string[]> => {
    const reply = await httpGetIn(waypoint.pod.netnsPath, `${WAYPOINT_ADMIN}/config_dump`, 2000);
    const dump = JSON.parse(reply.body) as {
      services: { hostname: string; http: { origin: string }[] }[];
    };
    const routes = dump.services.find((s) => s.hostname === echo.hostname)?.http ?? [];
    const names = routes.map((r) => /^HTTPRoute [^/]+\/(\S+) /.exec(r.origin)?.[1] ?? r.origin);
    return names.filter((name, i) => name !== names[i - 1]);
  };
  /** Writes these HTTPRoutes (replacing the last case's) and waits until the waypoint holds them. */
  const applyRoutes = async (...routes: RouteObject[]): Promise<void> => {
    await mesh.apply('httproutes.yaml', routes.map((r) => stringify(r)).join('---\n'));
    const wanted = routes.map((r) => r.metadata.name).sort();
    const deadline = performance.now() + 10_000;
    let held: string[] = [];
    for (;;) {
      held = await heldRoutes().catch(() => held);
      if (JSON.stringify([...new Set(held)].sort()) === JSON.stringify(wanted)) return;
      if (performance.now() > deadline)
        throw new Error(`waypoint holds routes ${JSON.stringify(held)}, not ${wanted.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  t.test('path Exact matches that path only, whatever the query', async (t) => {
    await applyRoutes(
      httpRoute('path-exact', [{ matches: [exact('/exact')], backendRefs: [to('v1')] }]),
    );
    t.equal(await who('/exact'), 'v1');
    t.equal(await who('/exact?x=1'), 'v1', 'the query is not part of the path');
    t.equal(await who('/exact/'), 404, 'a trailing slash is another path: no route (NR)');
    t.equal(await who('/exact/more'), 404);
    t.equal(await who('/exactly'), 404);
  });

  t.test('path PathPrefix matches whole path segments', async (t) => {
    await applyRoutes(
      httpRoute('path-prefix', [{ matches: [prefix('/prefix/')], backendRefs: [to('v2')] }]),
    );
    // Gateway API: "/abc" matches "/abc", "/abc/" and "/abc/def" but not "/abcd"; a
    // trailing "/" in the value is ignored.
    t.equal(await who('/prefix'), 'v2');
    t.equal(await who('/prefix/'), 'v2');
    t.equal(await who('/prefix/a/b?c=d'), 'v2');
    t.equal(await who('/prefixed'), 404, 'not a whole segment');
    t.equal(await who('/other'), 404);
  });

  t.test('path RegularExpression matches the whole path', async (t) => {
    await applyRoutes(
      httpRoute('path-regex', [
        {
          matches: [{ path: { type: 'RegularExpression', value: '/item/[0-9]+' } }],
          backendRefs: [to('v3')],
        },
      ]),
    );
    t.equal(await who('/item/42'), 'v3');
    t.equal(await who('/item/42?q=1'), 'v3', 'the query is not matched');
    t.equal(await who('/item/abc'), 404);
    t.equal(await who('/item/42/more'), 404, 'the regex must match the whole path');
    t.equal(await who('/x/item/42'), 404);
  });

  t.test('header matches: exact (case-sensitive value) and regular expression', async (t) => {
    await applyRoutes(
      httpRoute('headers', [
        { matches: [{ headers: [{ name: 'X-User', value: 'jason' }] }], backendRefs: [to('v2')] },
        {
          matches: [{ headers: [{ type: 'RegularExpression', name: 'x-build', value: '[0-9]+' }] }],
          backendRefs: [to('v3')],
        },
        { backendRefs: [to('v1')] },
      ]),
    );
    t.equal(await who('/', { headers: { 'x-user': 'jason' } }), 'v2', 'header names ignore case');
    t.equal(await who('/', { headers: { 'x-user': 'Jason' } }), 'v1', 'values do not');
    t.equal(await who('/', { headers: { 'x-user': 'jason2' } }), 'v1');
    t.equal(await who('/', { headers: { 'x-build': '1234' } }), 'v3');
    t.equal(
      await who('/', { headers: { 'x-build': '12a' } }),
      'v1',
      'the regex matches the whole value',
    );
    t.equal(await who('/'), 'v1');
  });

  t.test('query parameter matches', async (t) => {
    await applyRoutes(
      httpRoute('query', [
        { matches: [{ queryParams: [{ name: 'debug', value: '1' }] }], backendRefs: [to('v2')] },
        {
          matches: [{ queryParams: [{ type: 'RegularExpression', name: 'id', value: '[a-f]+' }] }],
          backendRefs: [to('v3')],
        },
        { backendRefs: [to('v1')] },
      ]),
    );
    t.equal(await who('/?debug=1'), 'v2');
    t.equal(await who('/page?a=b&debug=1'), 'v2');
    t.equal(await who('/?debug=10'), 'v1');
    t.equal(await who('/?DEBUG=1'), 'v1', 'query parameter names are case-sensitive');
    t.equal(await who('/?id=beef'), 'v3');
    t.equal(await who('/?id=beef1'), 'v1');
    t.equal(await who('/'), 'v1');
  });

  t.test('method match', async (t) => {
    await applyRoutes(
      httpRoute('method', [
        { matches: [{ method: 'POST' }], backendRefs: [to('v2')] },
        { backendRefs: [to('v1')] },
      ]),
    );
    t.equal(await who('/', { method: 'POST' }), 'v2');
    t.equal(await who('/', { method: 'GET' }), 'v1');
    t.equal(await who('/', { method: 'PUT' }), 'v1');
  });

  t.test('precedence: an Exact path beats a PathPrefix, across routes', async (t) => {
    // The prefix route is older and listed first; Gateway API precedence still puts the exact
    // match first (Istio sortHTTPRoutes).
    await applyRoutes(
      httpRoute(
        'by-prefix',
        [{ matches: [prefix('/api')], backendRefs: [to('v1')] }],
        '2020-01-01T00:00:00Z',
      ),
      httpRoute(
        'by-exact',
        [{ matches: [exact('/api/status')], backendRefs: [to('v2')] }],
        '2024-01-01T00:00:00Z',
      ),
    );
    t.equal(await who('/api/status'), 'v2');
    t.equal(await who('/api/status/x'), 'v1');
    t.equal(await who('/api'), 'v1');
  });

  t.test('precedence: the longer PathPrefix wins', async (t) => {
    await applyRoutes(
      httpRoute('longer-prefix', [
        { matches: [prefix('/api')], backendRefs: [to('v1')] },
        { matches: [prefix('/api/v2')], backendRefs: [to('v2')] },
      ]),
    );
    t.equal(await who('/api/v2/users'), 'v2');
    t.equal(await who('/api/v2'), 'v2');
    t.equal(await who('/api/v22'), 'v1', '/api/v2 matches whole segments only');
    t.equal(await who('/api/users'), 'v1');
  });

  t.test('precedence: a method match, then more header matches, win', async (t) => {
    await applyRoutes(
      httpRoute('more-headers', [
        { matches: [{ headers: [{ name: 'x-a', value: '1' }] }], backendRefs: [to('v1')] },
        {
          matches: [
            {
              headers: [
                { name: 'x-a', value: '1' },
                { name: 'x-b', value: '1' },
              ],
            },
          ],
          backendRefs: [to('v2')],
        },
        { matches: [{ method: 'DELETE' }], backendRefs: [to('v3')] },
      ]),
    );
    const both = { 'x-a': '1', 'x-b': '1' };
    t.equal(await who('/', { headers: both }), 'v2', 'two header matches beat one');
    t.equal(await who('/', { headers: { 'x-a': '1' } }), 'v1');
    t.equal(await who('/', { method: 'DELETE', headers: both }), 'v3', 'a method match beats both');
    t.equal(await who('/', { headers: { 'x-b': '1' } }), 404);
  });

  t.test('precedence: between equal matches the older route wins', async (t) => {
    // Named so that alphabetical order would pick the other one.
    await applyRoutes(
      httpRoute(
        'zz-older',
        [{ matches: [prefix('/same')], backendRefs: [to('v1')] }],
        '2020-01-01T00:00:00Z',
      ),
      httpRoute(
        'aa-newer',
        [{ matches: [prefix('/same')], backendRefs: [to('v2')] }],
        '2024-01-01T00:00:00Z',
      ),
    );
    t.equal(await who('/same'), 'v1');
    t.equal(await who('/same/x'), 'v1');
  });

  t.test('backendRef weights split 1000 requests within 5 %', async (t) => {
    await applyRoutes(
      httpRoute('weights', [{ backendRefs: [to('v1', 3), to('v2', 1), to('v3', 0)] }]),
    );
    const agent = netnsAgent(t, client.netnsPath, { maxSockets: 16 });
    const counts: Record<string, number> = {};
    for (let done = 0; done < 1000; done += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => who('/', { agent })));
      for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
    }
    t.equal(
      (counts.v1 ?? 0) + (counts.v2 ?? 0),
      1000,
      `all answered by v1 or v2: ${JSON.stringify(counts)}`,
    );
    t.ok(Math.abs((counts.v1 ?? 0) - 750) <= 50, `v1 took ${counts.v1} of 1000 (750 ± 50)`);
    t.notOk(counts.v3, 'a backend of weight 0 gets nothing');
  });

  t.test('a rule whose backendRefs all weigh 0 answers 500', async (t) => {
    // Gateway API: "If all entries in BackendRefs are invalid, and there are also no filters
    // specified in this route rule, all traffic which matches this rule MUST receive a 500".
    await applyRoutes(
      httpRoute('zero-weights', [
        { matches: [prefix('/none')], backendRefs: [to('v1', 0), to('v2', 0)] },
        { backendRefs: [to('v1')] },
      ]),
    );
    t.equal(await who('/none'), 500);
    t.equal(await who('/other'), 'v1');
  });

  t.test('RequestHeaderModifier sets, adds and removes request headers', async (t) => {
    await applyRoutes(
      httpRoute('request-headers', [
        {
          filters: [
            {
              type: 'RequestHeaderModifier',
              requestHeaderModifier: {
                set: [{ name: 'X-Set', value: 'new' }],
                add: [{ name: 'x-add', value: 'added' }],
                remove: ['x-remove'],
              },
            },
          ],
          backendRefs: [to('v1')],
        },
      ]),
    );
    const answer = await ask('/', {
      headers: { 'x-set': 'old', 'x-add': 'original', 'x-remove': 'gone', 'x-keep': 'kept' },
    });
    const seen = answer.reply?.headers ?? {};
    t.equal(seen['x-set'], 'new', 'set replaces the value');
    t.equal(seen['x-add'], 'original, added', 'add appends a value');
    t.notOk('x-remove' in seen, 'remove drops the header');
    t.equal(seen['x-keep'], 'kept');
    t.equal((await ask('/')).reply?.headers['x-set'], 'new', 'set adds a missing header');
  });

  t.test('ResponseHeaderModifier sets, adds and removes response headers', async (t) => {
    await applyRoutes(
      httpRoute('response-headers', [
        {
          filters: [
            {
              type: 'ResponseHeaderModifier',
              responseHeaderModifier: {
                set: [{ name: 'content-type', value: 'application/x-set' }],
                add: [{ name: 'x-added', value: 'yes' }],
                remove: ['x-echo-pod'],
              },
            },
          ],
          backendRefs: [to('v1')],
        },
      ]),
    );
    const answer = await ask('/');
    t.equal(answer.status, 200);
    t.equal(
      answer.headers['content-type'],
      'application/x-set',
      "set replaces the backend's value",
    );
    t.equal(answer.headers['x-added'], 'yes');
    t.notOk('x-echo-pod' in answer.headers, "remove drops the backend's header");
    t.equal(answer.headers['x-echo-version'], 'v1', 'other headers pass');
  });

  t.test('RequestRedirect', async (t) => {
    const redirect = (path: Rule, requestRedirect: Record<string, unknown>): Rule => ({
      matches: [path],
      filters: [{ type: 'RequestRedirect', requestRedirect }],
    });
    await applyRoutes(
      httpRoute('redirects', [
        redirect(exact('/scheme'), { scheme: 'https' }),
        redirect(exact('/hostname'), { hostname: 'example.com' }),
        redirect(exact('/port'), { port: 8443 }),
        redirect(exact('/full'), {
          path: { type: 'ReplaceFullPath', replaceFullPath: '/replaced' },
        }),
        redirect(prefix('/old'), {
          path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' },
          statusCode: 301,
        }),
        redirect(exact('/moved'), {
          statusCode: 308,
          hostname: 'example.com',
          scheme: 'https',
          port: 8443,
        }),
      ]),
    );
    const location = async (path: string): Promise<[number, string | undefined]> => {
      const answer = await ask(path);
      return [answer.status, answer.headers.location];
    };
    // Gateway API: without a port, the port is the scheme's well-known one when the scheme
    // is set (left out of Location), else the listener's — for a Service parent, its port.
    t.same(await location('/scheme'), [302, 'https://echo/scheme'], 'scheme; 302 by default');
    t.same(await location('/hostname'), [302, `http://example.com:${PORT}/hostname`], 'hostname');
    t.same(await location('/port'), [302, 'http://echo:8443/port'], 'port');
    t.same(await location('/full'), [302, `http://${HOST}/replaced`], 'ReplaceFullPath');
    t.same(await location('/old/a/b'), [301, `http://${HOST}/new/a/b`], 'ReplacePrefixMatch below');
    t.same(await location('/old'), [301, `http://${HOST}/new`], 'ReplacePrefixMatch of the prefix');
    t.same(await location('/moved'), [308, 'https://example.com:8443/moved'], 'statusCode 308');
  });

  t.test('URLRewrite', async (t) => {
    const rewrite = (path: Rule, urlRewrite: Record<string, unknown>): Rule => ({
      matches: [path],
      filters: [{ type: 'URLRewrite', urlRewrite }],
      backendRefs: [to('v1')],
    });
    await applyRoutes(
      httpRoute('rewrites', [
        rewrite(exact('/host'), { hostname: 'rewritten.example' }),
        rewrite(prefix('/full'), {
          path: { type: 'ReplaceFullPath', replaceFullPath: '/replaced' },
        }),
        rewrite(prefix('/prefix/one'), {
          path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/one' },
        }),
        rewrite(prefix('/strip'), {
          path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' },
        }),
      ]),
    );
    const seen = async (path: string) => {
      const { reply } = await ask(path);
      return [reply?.host, reply?.path];
    };
    t.same(await seen('/host'), ['rewritten.example', '/host'], 'hostname');
    t.same(await seen('/full/a/b?q=1'), [HOST, '/replaced?q=1'], 'ReplaceFullPath keeps the query');
    t.same(await seen('/prefix/one/two'), [HOST, '/one/two'], 'ReplacePrefixMatch');
    t.same(await seen('/prefix/one'), [HOST, '/one'], 'ReplacePrefixMatch of the whole path');
    t.same(await seen('/strip/three?x=y'), [HOST, '/three?x=y'], 'a prefix replaced by /');
    t.same(await seen('/strip'), [HOST, '/'], 'the bare prefix replaced by /');
  });

  t.test('RequestMirror sends a copy to the mirror and its answer nowhere', async (t) => {
    await applyRoutes(
      httpRoute('mirror', [
        {
          filters: [
            {
              type: 'RequestMirror',
              requestMirror: { backendRef: { name: 'mirror', port: PORT } },
            },
          ],
          backendRefs: [to('v1')],
        },
      ]),
    );
    const before = mirrored.length;
    for (let i = 0; i < 5; i++) {
      const answer = await ask(`/mirrored/${i}`);
      t.equal(answer.reply?.version, 'v1', 'the client gets the backend answer');
    }
    const deadline = performance.now() + 5000;
    while (mirrored.length < before + 5 && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const copies = mirrored.slice(before);
    t.same(
      copies.map((c) => c.path).sort(),
      [0, 1, 2, 3, 4].map((i) => `/mirrored/${i}`),
      'every request was mirrored once',
    );
    // Envoy's shadow host: "-shadow" after the host name.
    t.same([...new Set(copies.map((c) => c.host))], [`echo-shadow:${PORT}`]);
  });

  t.test('timeouts.request: a slow backend gets 504 at the timeout', async (t) => {
    await applyRoutes(
      httpRoute('request-timeout', [{ timeouts: { request: '400ms' }, backendRefs: [to('v1')] }]),
    );
    t.equal(await who('/'), 'v1', 'a quick answer passes');
    const started = performance.now();
    const slow = await ask('/', { headers: { 'x-echo-delay-ms': '3000' } });
    const took = performance.now() - started;
    t.equal(slow.status, 504);
    t.equal(slow.body, 'upstream request timeout');
    t.ok(took >= 390 && took < 2000, `answered after ${Math.round(took)} ms`);
  });

  t.test('timeouts.backendRequest without retry is the route timeout', async (t) => {
    await applyRoutes(
      httpRoute('backend-timeout', [
        { timeouts: { backendRequest: '300ms' }, backendRefs: [to('v1')] },
      ]),
    );
    const served = echoes.v1.served;
    const slow = await ask('/', { headers: { 'x-echo-delay-ms': '3000' } });
    t.equal(slow.status, 504);
    t.equal(slow.body, 'upstream request timeout');
    t.equal(echoes.v1.served - served, 1, 'one attempt');
  });

  t.test('timeouts.backendRequest with retry is a per-try timeout, not retried', async (t) => {
    // Istio makes backendRequest the perTryTimeout when a retry is set (conversion.go), with
    // retryOn connect-failure,refused-stream,unavailable,cancelled and the codes; Envoy
    // retries a per-try timeout only under 5xx, gateway-error or reset
    // (RetryStateImpl::wouldRetryFromReset), so a slow backend is tried once.
    await applyRoutes(
      httpRoute('per-try-timeout', [
        {
          timeouts: { request: '2s', backendRequest: '300ms' },
          retry: { attempts: 2, codes: [504] },
          backendRefs: [to('v1')],
        },
      ]),
    );
    const served = echoes.v1.served;
    const started = performance.now();
    const slow = await ask('/', { headers: { 'x-echo-delay-ms': '3000' } });
    const took = performance.now() - started;
    t.equal(slow.status, 504);
    t.equal(echoes.v1.served - served, 1, 'one attempt');
    t.ok(took < 1500, `answered after ${Math.round(took)} ms, at the per-try timeout`);
  });

  t.test('retry: the listed codes are retried, up to attempts, on other endpoints', async (t) => {
    await applyRoutes(
      httpRoute('retry', [
        {
          matches: [prefix('/listed')],
          retry: { attempts: 2, codes: [503] },
          backendRefs: [{ name: 'echo', port: PORT }],
        },
        {
          matches: [prefix('/unlisted')],
          retry: { attempts: 2, codes: [500] },
          backendRefs: [{ name: 'echo', port: PORT }],
        },
      ]),
    );
    const served = () => VERSIONS.map((v) => echoes[v].served);
    const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
    let before = served();
    const listed = await ask('/listed', { headers: { 'x-echo-status': '503' } });
    t.equal(listed.status, 503, 'the last answer once attempts are used up');
    const delta = served().map((n, i) => n - before[i]!);
    t.equal(sum(delta), 3, 'the first try and 2 retries');
    // Envoy's previous_hosts predicate re-draws a tried host up to 5 times, then keeps the
    // draw: retries prefer other endpoints but may land on a tried one (~9 % here for the
    // third attempt), so what must hold is that they did not all stay on one.
    t.ok(
      delta.filter((n) => n > 0).length >= 2,
      `retries went to other endpoints (${delta.join(', ')})`,
    );
    before = served();
    const unlisted = await ask('/unlisted', { headers: { 'x-echo-status': '503' } });
    t.equal(unlisted.status, 503);
    t.equal(sum(served()) - sum(before), 1, "the route's codes replace the default retriable 503");
  });
});

interface Recorded {
  path: string;
  host: string;
}

/** An HTTP server in the pod that records each request and answers 200. */
async function recordingServer(t: Test, pod: MeshPod): Promise<Recorded[]> {
  const seen: Recorded[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', host: req.headers.host ?? '' });
    req.resume();
    res.end('mirror');
  });
  await listenIn(t, pod.netnsPath, { port: TARGET_PORT }, (socket) =>
    server.emit('connection', socket),
  );
  return seen;
}
