import t from 'tap';
import { scrapeWaypoint, type EchoAnswer } from '../support/waypoint.js';
import { metricSum, waitUntil } from '../support/ztunnel.js';
import {
  askMany,
  startVsMesh,
  subsetsRule,
  tally,
  virtualService,
  type VsRequest,
} from './virtual-service-mesh.js';

// VirtualService request matching through a namespace waypoint, end to end: every kind of
// match condition, first match wins, no match is 404 NR; then subsets and weights that do
// not sum to 100. Each route sets `x-vs-rule` on the request, so the echo's reply names the
// route that took it.

const PORT = 9080;
const OTHER_PORT = 9081;

t.test('VirtualService matching through a waypoint', async (t) => {
  const vs = await startVsMesh(t, {
    namespace: 'vs-match',
    clients: [{ name: 'client' }, { name: 'other', labels: { app: 'other', tier: 'batch' } }],
    backends: [{ name: 'echo', ports: [PORT, OTHER_PORT], versions: ['v1', 'v2'] }],
  });

  const rule = (name: string, match: object) => ({
    name,
    match: [match],
    headers: { request: { set: { 'x-vs-rule': name } } },
    route: [{ destination: { host: 'echo' } }],
  });
  const ruleOf = (answer: EchoAnswer): string | undefined => {
    const value = answer.reply?.headers['x-vs-rule'];
    return typeof value === 'string' ? value : value?.join(',');
  };
  /** The route that took the request, or `HTTP <status>` when none did. */
  const routed = async (request: Omit<VsRequest, 'to'>): Promise<string> => {
    const answer = await vs.ask({ to: 'echo', ...request });
    return ruleOf(answer) ?? `HTTP ${answer.status}`;
  };

  await vs.apply(
    'echo-vs.yaml',
    virtualService(
      'echo',
      ['echo'],
      [
        rule('uri-exact', { uri: { exact: '/exact' } }),
        rule('uri-prefix', { uri: { prefix: '/prefix/' } }),
        rule('uri-regex', { uri: { regex: '/regex/[0-9]+' } }),
        rule('exact-any-case', { uri: { exact: '/CaseLess' }, ignoreUriCase: true }),
        rule('prefix-any-case', { uri: { prefix: '/MiXeD/' }, ignoreUriCase: true }),
        rule('regex-any-case', { uri: { regex: '/rx/[a-z]+' }, ignoreUriCase: true }),
        rule('header-exact', { headers: { 'x-exact': { exact: 'yes' } } }),
        rule('header-prefix', { headers: { 'x-prefix': { prefix: 'pre' } } }),
        rule('header-regex', { headers: { 'x-regex': { regex: '[a-c]+' } } }),
        rule('header-present', { headers: { 'x-present': {} } }),
        rule('without-header', {
          uri: { prefix: '/without' },
          withoutHeaders: { 'x-block': { exact: 'yes' } },
        }),
        rule('query-exact', { queryParams: { version: { exact: 'v2' } } }),
        rule('query-regex', { queryParams: { id: { regex: '[0-9]+' } } }),
        rule('method', { method: { exact: 'POST' } }),
        rule('authority', { authority: { prefix: 'echo.example' } }),
        rule('source', { sourceLabels: { app: 'other' } }),
        rule('first', { uri: { prefix: '/first' } }),
        rule('first-shadowed', { uri: { exact: '/first/b' } }),
        // On its own port this match is a catch-all, so Istio drops the routes after it there
        // (route.go: a catch-all ends the list); on the other port it is dropped itself.
        rule('port', { port: OTHER_PORT }),
        rule('after-port', { uri: { prefix: '/after' } }),
      ],
    ),
  );
  await vs.eventually('the matching routes', { to: 'echo', path: '/exact' }, (a) => {
    return ruleOf(a) === 'uri-exact';
  });

  t.test('uri exact, prefix and regex', async (t) => {
    t.equal(await routed({ path: '/exact' }), 'uri-exact');
    t.equal(await routed({ path: '/exact?q=1' }), 'uri-exact', 'the query is not part of the path');
    t.equal(await routed({ path: '/exact/more' }), 'HTTP 404', 'exact is the whole path');
    t.equal(await routed({ path: '/prefix/a/b' }), 'uri-prefix');
    t.equal(await routed({ path: '/prefix' }), 'HTTP 404', 'a prefix is not a path segment match');
    t.equal(await routed({ path: '/regex/42' }), 'uri-regex');
    t.equal(await routed({ path: '/regex/42x' }), 'HTTP 404', 'a regex matches the whole path');
    t.equal(await routed({ path: '/Exact' }), 'HTTP 404', 'matching is case sensitive by default');
  });

  t.test('ignoreUriCase applies to exact and prefix, not regex', async (t) => {
    // Istio: "The case will be ignored only in the case of exact and prefix URI matches."
    t.equal(await routed({ path: '/caseless' }), 'exact-any-case');
    t.equal(await routed({ path: '/CASELESS' }), 'exact-any-case');
    t.equal(await routed({ path: '/mixed/x' }), 'prefix-any-case');
    t.equal(await routed({ path: '/rx/abc' }), 'regex-any-case');
    t.equal(await routed({ path: '/rx/ABC' }), 'HTTP 404');
  });

  t.test('headers: exact, prefix, regex and present', async (t) => {
    const path = '/other';
    t.equal(await routed({ path, headers: { 'x-exact': 'yes' } }), 'header-exact');
    t.equal(await routed({ path, headers: { 'x-exact': 'yess' } }), 'HTTP 404');
    t.equal(await routed({ path, headers: { 'x-prefix': 'prefixed' } }), 'header-prefix');
    t.equal(await routed({ path, headers: { 'x-prefix': 'apre' } }), 'HTTP 404');
    t.equal(await routed({ path, headers: { 'x-regex': 'abcab' } }), 'header-regex');
    t.equal(await routed({ path, headers: { 'x-regex': 'abcd' } }), 'HTTP 404');
    t.equal(await routed({ path, headers: { 'x-present': 'anything' } }), 'header-present');
    t.equal(
      await routed({ path, headers: { 'X-Present': 'x' } }),
      'header-present',
      'names ignore case',
    );
    t.equal(await routed({ path }), 'HTTP 404', 'no header, no match');
  });

  t.test('withoutHeaders rejects the request only when the header matches', async (t) => {
    t.equal(await routed({ path: '/without' }), 'without-header', 'the header is absent');
    t.equal(await routed({ path: '/without', headers: { 'x-block': 'no' } }), 'without-header');
    t.equal(await routed({ path: '/without', headers: { 'x-block': 'yes' } }), 'HTTP 404');
  });

  t.test('queryParams', async (t) => {
    t.equal(await routed({ path: '/other?version=v2' }), 'query-exact');
    t.equal(await routed({ path: '/other?a=1&version=v2' }), 'query-exact');
    t.equal(await routed({ path: '/other?version=v1' }), 'HTTP 404');
    t.equal(await routed({ path: '/other?id=42' }), 'query-regex');
    t.equal(await routed({ path: '/other?id=4x' }), 'HTTP 404');
  });

  t.test('method', async (t) => {
    t.equal(
      await routed({ path: '/other', method: 'POST', headers: { 'content-length': '0' } }),
      'method',
    );
    t.equal(
      await routed({ path: '/other', method: 'PUT', headers: { 'content-length': '0' } }),
      'HTTP 404',
    );
  });

  t.test('authority', async (t) => {
    const host = { host: `echo.example:${PORT}` };
    t.equal(await routed({ path: '/other', headers: host }), 'authority');
    t.equal(await routed({ path: '/other' }), 'HTTP 404', `host echo:${PORT}`);
  });

  t.test('port', async (t) => {
    t.equal(await routed({ path: '/other', port: OTHER_PORT }), 'port');
    t.equal(
      await routed({ path: '/exact', port: OTHER_PORT }),
      'uri-exact',
      'earlier routes still apply',
    );
    t.equal(
      await routed({ path: '/after', port: OTHER_PORT }),
      'port',
      'the port route ends the list there',
    );
    t.equal(await routed({ path: '/other', port: PORT }), 'HTTP 404');
    t.equal(await routed({ path: '/after', port: PORT }), 'after-port', 'only on its own port');
  });

  t.test('sourceLabels select the client workloads', async (t) => {
    // Istio's waypoint compares sourceLabels with its own labels (route.go sourceMatchHTTP
    // is written for sidecars), so such a route never matches there; Ambit matches the
    // labels of the workload that sent the request, which is what the field says.
    t.equal(await routed({ path: '/other', from: 'other' }), 'source');
    t.equal(await routed({ path: '/other', from: 'client' }), 'HTTP 404');
  });

  t.test('the first matching route wins', async (t) => {
    t.equal(await routed({ path: '/first/b' }), 'first', 'not the later, more specific route');
    t.equal(
      await routed({ path: '/exact', from: 'other' }),
      'uri-exact',
      'not the source route after it',
    );
  });

  t.test('no matching route is 404 with response flag NR', async (t) => {
    const nr = { response_code: '404', response_flags: 'NR' };
    const counted = async () =>
      metricSum(await scrapeWaypoint(vs.waypoint), 'ambit_waypoint_requests_total', nr);
    const before = await counted();
    const answer = await vs.ask({ to: 'echo', path: '/nothing' });
    t.equal(answer.status, 404);
    t.equal(answer.reply, undefined, 'the waypoint answered, no backend');
    await waitUntil('the NR request counted', async () => (await counted()) === before + 1);
    t.pass('ambit_waypoint_requests_total{response_code="404",response_flags="NR"} went up by 1');
  });

  t.test('a route to one subset sends everything there', async (t) => {
    await vs.apply('echo-dr.yaml', subsetsRule('echo', ['v1', 'v2']));
    await vs.apply(
      'echo-vs.yaml',
      virtualService(
        'echo',
        ['echo'],
        [
          {
            headers: { request: { set: { 'x-vs-rule': 'subset' } } },
            route: [{ destination: { host: 'echo', subset: 'v2' } }],
          },
        ],
      ),
    );
    await vs.eventually('the subset route', { to: 'echo' }, (a) => ruleOf(a) === 'subset');
    t.same(tally(await askMany(vs, t, 100, { to: 'echo' })), { v2: 100 });
  });

  t.test('weights 1 and 3 split 1000 requests 25/75 within 5 %', async (t) => {
    // Weights need not sum to 100: Envoy's weighted clusters take them as relative.
    await vs.apply(
      'echo-vs.yaml',
      virtualService(
        'echo',
        ['echo'],
        [
          {
            headers: { request: { set: { 'x-vs-rule': 'weighted' } } },
            route: [
              { destination: { host: 'echo', subset: 'v1' }, weight: 1 },
              { destination: { host: 'echo', subset: 'v2' }, weight: 3 },
            ],
          },
        ],
      ),
    );
    await vs.eventually('the weighted route', { to: 'echo' }, (a) => ruleOf(a) === 'weighted');
    const counts = tally(await askMany(vs, t, 1000, { to: 'echo' }));
    t.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), 1000, `all answered: ${JSON.stringify(counts)}`);
    t.ok(Math.abs((counts.v1 ?? 0) - 250) <= 50, `v1 took ${counts.v1} of 1000 (250 ± 50)`);
  });
});
