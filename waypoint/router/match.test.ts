import t, { type Test } from 'tap';
import type { HttpRoute, RequestMatch } from '../../api/waypoint/config.js';
import { explainRoutes, matchRoute } from './match.js';
import type { RoutableRequest } from './request.js';
import { request } from './testing/request.js';

function route(origin: string, matches: RequestMatch[]): HttpRoute {
  return {
    origin,
    matches,
    action: { kind: 'route', destinations: [{ cluster: origin, weight: 100 }] },
    retries: { attempts: 2, retryOn: [], retriableStatusCodes: [], backoffBaseMs: 25 },
  };
}

/** Whether a single route with one match block takes the request. */
function holds(match: RequestMatch, req: RoutableRequest): boolean {
  return matchRoute([route('r', [match])], req) !== undefined;
}

type Case = [name: string, match: RequestMatch, req: RoutableRequest, expected: boolean];

function table(t: Test, cases: Case[]) {
  for (const [name, match, req, expected] of cases) t.equal(holds(match, req), expected, name);
}

t.test('the first route that matches wins, not the most specific one', async (t) => {
  const routes = [
    route('prefix /', [{ uri: { prefix: '/' } }]),
    route('exact /reviews', [{ uri: { exact: '/reviews' } }]),
  ];
  const result = matchRoute(routes, request({ path: '/reviews' }));
  t.equal(result?.index, 0);
  t.equal(result?.route.origin, 'prefix /');
});

t.test('a route without match conditions takes every request', async (t) => {
  const result = matchRoute([route('all', [])], request({ path: '/anything', method: 'PUT' }));
  t.equal(result?.index, 0);
  t.equal(result?.match, undefined, 'no match block to report');
});

t.test('no route matching gives undefined (the proxy answers 404 NR)', async (t) => {
  t.equal(
    matchRoute([route('v2', [{ uri: { prefix: '/v2' } }])], request({ path: '/v1' })),
    undefined,
  );
  t.equal(matchRoute([], request()), undefined);
});

t.test('any one match block suffices, and it is reported', async (t) => {
  const second: RequestMatch = { uri: { prefix: '/ratings' } };
  const result = matchRoute(
    [route('r', [{ uri: { prefix: '/reviews' } }, second])],
    request({ path: '/ratings/1' }),
  );
  t.equal(result?.match, second);
});

t.test('every condition of a match block must hold', async (t) => {
  const match: RequestMatch = { uri: { prefix: '/reviews' }, method: { exact: 'POST' } };
  table(t, [
    ['both hold', match, request({ path: '/reviews', method: 'POST' }), true],
    ['method fails', match, request({ path: '/reviews', method: 'GET' }), false],
    ['uri fails', match, request({ path: '/ratings', method: 'POST' }), false],
  ]);
});

t.test('uri matches the path without its query string (Envoy)', async (t) => {
  table(t, [
    [
      'exact ignores the query',
      { uri: { exact: '/reviews' } },
      request({ path: '/reviews?u=1' }),
      true,
    ],
    [
      'regex ignores the query',
      { uri: { regex: '/reviews' } },
      request({ path: '/reviews?x' }),
      true,
    ],
    [
      'prefix cannot reach into it',
      { uri: { prefix: '/r?u' } },
      request({ path: '/r?u=1' }),
      false,
    ],
  ]);
});

t.test('ignoreUriCase makes exact and prefix case-insensitive, not regex', async (t) => {
  // Envoy's route `case_sensitive: false` covers path and prefix only, never safe_regex.
  table(t, [
    [
      'exact',
      { uri: { exact: '/Reviews' }, ignoreUriCase: true },
      request({ path: '/REVIEWS' }),
      true,
    ],
    [
      'prefix',
      { uri: { prefix: '/API' }, ignoreUriCase: true },
      request({ path: '/api/v1' }),
      true,
    ],
    ['regex', { uri: { regex: '/API' }, ignoreUriCase: true }, request({ path: '/api' }), false],
    [
      'case matters by default',
      { uri: { exact: '/Reviews' } },
      request({ path: '/reviews' }),
      false,
    ],
  ]);
});

t.test('a regex must match the whole value, as Envoy safe_regex does', async (t) => {
  table(t, [
    ['not a search', { uri: { regex: '/v[0-9]' } }, request({ path: '/v1/reviews' }), false],
    ['the whole path', { uri: { regex: '/v[0-9]/.*' } }, request({ path: '/v1/reviews' }), true],
    ['alternation stays anchored', { uri: { regex: '/a|/b' } }, request({ path: '/b/c' }), false],
    ['explicit anchors are harmless', { uri: { regex: '^/v1$' } }, request({ path: '/v1' }), true],
    [
      'header values too',
      { headers: [{ name: 'x', match: { regex: 'a' } }] },
      request({ headers: { x: 'ab' } }),
      false,
    ],
  ]);
});

t.test('RE2 spellings work: (?i) flags and (?P<name>) groups', async (t) => {
  table(t, [
    ['(?i)', { uri: { regex: '(?i)/api/.*' } }, request({ path: '/API/x' }), true],
    ['(?P<name>)', { uri: { regex: '/(?P<v>v[0-9]+)/.*' } }, request({ path: '/v2/x' }), true],
  ]);
});

t.test('a catastrophic pattern answers quickly, as RE2 would', async (t) => {
  const match: RequestMatch = { uri: { regex: '/(a+)+' } };
  const started = process.hrtime.bigint();
  t.equal(holds(match, request({ path: `/${'a'.repeat(40)}b` })), false);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // A backtracking engine needs minutes for this input; the linear engine microseconds.
  t.ok(ms < 1000, `took ${ms.toFixed(1)} ms`);
});

t.test('a regex that does not compile never matches instead of throwing', async (t) => {
  const match: RequestMatch = { uri: { regex: '(' } };
  t.equal(holds(match, request({ path: '(' })), false);
  const [explained] = explainRoutes([route('r', [match])], request({ path: '/x' }));
  t.equal(explained?.reason, 'uri regex ( (does not compile) does not match /x');
});

t.test('method and authority are matched as sent, port included', async (t) => {
  // Istio matches :authority with a plain header matcher: `reviews` is not `reviews:9080`.
  table(t, [
    ['method', { method: { exact: 'POST' } }, request({ method: 'POST' }), true],
    [
      'authority with port',
      { authority: { exact: 'reviews' } },
      request({ authority: 'reviews:9080' }),
      false,
    ],
    [
      'authority prefix',
      { authority: { prefix: 'reviews' } },
      request({ authority: 'reviews:9080' }),
      true,
    ],
  ]);
});

t.test('a header condition without a value asks only for presence', async (t) => {
  const match: RequestMatch = { headers: [{ name: 'end-user' }] };
  table(t, [
    ['present', match, request({ headers: { 'end-user': '' } }), true],
    ['absent', match, request(), false],
  ]);
});

t.test('a header value is matched exact, by prefix or by regex', async (t) => {
  const req = request({ headers: { 'end-user': 'jason' } });
  table(t, [
    ['exact', { headers: [{ name: 'end-user', match: { exact: 'jason' } }] }, req, true],
    ['exact differs', { headers: [{ name: 'end-user', match: { exact: 'mike' } }] }, req, false],
    ['prefix', { headers: [{ name: 'end-user', match: { prefix: 'ja' } }] }, req, true],
    ['regex', { headers: [{ name: 'end-user', match: { regex: 'j.*n' } }] }, req, true],
    [
      'config name in any case',
      { headers: [{ name: 'End-User', match: { exact: 'jason' } }] },
      req,
      true,
    ],
  ]);
});

t.test('absent: true asks for the header to be missing', async (t) => {
  const match: RequestMatch = { headers: [{ name: 'end-user', absent: true }] };
  table(t, [
    ['missing', match, request(), true],
    ['present', match, request({ headers: { 'end-user': 'jason' } }), false],
  ]);
});

t.test('a header sent twice is matched as its values joined with a comma', async (t) => {
  // Envoy 1.12.7 (CVE-2020-25017): all values of a header, concatenated with ','.
  const req = request({ headers: { 'x-group': ['a', 'b'] } });
  table(t, [
    ['joined', { headers: [{ name: 'x-group', match: { exact: 'a,b' } }] }, req, true],
    ['not the first alone', { headers: [{ name: 'x-group', match: { exact: 'a' } }] }, req, false],
  ]);
});

t.test('host and :authority header conditions read the authority', async (t) => {
  const req = request({ authority: 'reviews:9080' });
  table(t, [
    ['host', { headers: [{ name: 'host', match: { exact: 'reviews:9080' } }] }, req, true],
    [':authority', { headers: [{ name: ':authority', match: { prefix: 'rev' } }] }, req, true],
    [':method', { headers: [{ name: ':method', match: { exact: 'GET' } }] }, req, true],
  ]);
});

t.test('withoutHeaders rejects a request any of them matches', async (t) => {
  const match: RequestMatch = { withoutHeaders: [{ name: 'end-user', match: { exact: 'jason' } }] };
  table(t, [
    ['matching value', match, request({ headers: { 'end-user': 'jason' } }), false],
    ['other value', match, request({ headers: { 'end-user': 'mike' } }), true],
    ['header missing', match, request(), true],
  ]);
});

t.test('withoutHeaders compares a missing header as the empty string', async (t) => {
  // Istio sets treat_missing_header_as_empty on these inverted matchers (route.go).
  const match: RequestMatch = { withoutHeaders: [{ name: 'x-debug', match: { exact: '' } }] };
  t.equal(holds(match, request()), false);
  t.equal(holds(match, request({ headers: { 'x-debug': '1' } })), true);
});

t.test('withoutHeaders without a value rejects the header being present', async (t) => {
  const match: RequestMatch = { withoutHeaders: [{ name: 'x-debug' }] };
  t.equal(holds(match, request({ headers: { 'x-debug': '1' } })), false);
  t.equal(holds(match, request()), true);
});

t.test('query parameters are matched by value, or by presence', async (t) => {
  table(t, [
    [
      'exact',
      { queryParams: [{ name: 'v', match: { exact: '2' } }] },
      request({ path: '/?a=1&v=2' }),
      true,
    ],
    [
      'regex',
      { queryParams: [{ name: 'v', match: { regex: '[0-9]+' } }] },
      request({ path: '/?v=22' }),
      true,
    ],
    [
      'differs',
      { queryParams: [{ name: 'v', match: { exact: '2' } }] },
      request({ path: '/?v=3' }),
      false,
    ],
    ['presence', { queryParams: [{ name: 'debug' }] }, request({ path: '/?debug' }), true],
    [
      'flag without = has the empty value',
      { queryParams: [{ name: 'debug', match: { exact: '' } }] },
      request({ path: '/?debug' }),
      true,
    ],
    ['missing', { queryParams: [{ name: 'debug' }] }, request({ path: '/?debugger=1' }), false],
    ['no query at all', { queryParams: [{ name: 'debug' }] }, request({ path: '/' }), false],
  ]);
});

t.test('only the first value of a repeated query parameter counts (Envoy)', async (t) => {
  const match: RequestMatch = { queryParams: [{ name: 'v', match: { exact: '2' } }] };
  t.equal(holds(match, request({ path: '/?v=1&v=2' })), false);
  t.equal(holds(match, request({ path: '/?v=2&v=1' })), true);
});

t.test('query parameters are compared as sent, not percent-decoded (Envoy)', async (t) => {
  // Envoy's route matcher parses with parseQueryString, which does not decode.
  t.equal(
    holds(
      { queryParams: [{ name: 'q', match: { exact: 'a%20b' } }] },
      request({ path: '/?q=a%20b' }),
    ),
    true,
  );
  t.equal(
    holds(
      { queryParams: [{ name: 'q', match: { exact: 'a b' } }] },
      request({ path: '/?q=a%20b' }),
    ),
    false,
  );
});

t.test('port must be the service port the request arrived on', async (t) => {
  t.equal(holds({ port: 9080 }, request({ port: 9080 })), true);
  t.equal(holds({ port: 9081 }, request({ port: 9080 })), false);
});

t.test('sourceAddresses admits only the workloads sourceLabels selected', async (t) => {
  table(t, [
    [
      'selected',
      { sourceAddresses: ['10.1.0.10', '10.1.0.11'] },
      request({ sourceAddress: '10.1.0.11' }),
      true,
    ],
    [
      'not selected',
      { sourceAddresses: ['10.1.0.10'] },
      request({ sourceAddress: '10.1.0.12' }),
      false,
    ],
    ['labels that select nothing', { sourceAddresses: [] }, request(), false],
  ]);
});

t.test('explanations name the first condition that failed, with what was seen', async (t) => {
  const cases: [RequestMatch, RoutableRequest, string][] = [
    [
      { uri: { prefix: '/v2' } },
      request({ path: '/reviews/1?x=1' }),
      'uri prefix /v2 does not match /reviews/1',
    ],
    [
      { uri: { exact: '/A' }, ignoreUriCase: true },
      request({ path: '/b' }),
      'uri exact /A (ignoring case) does not match /b',
    ],
    [
      { headers: [{ name: 'end-user', match: { exact: 'jason' } }] },
      request({ headers: { 'end-user': 'mike' } }),
      'header end-user: exact jason, got mike',
    ],
    [
      { headers: [{ name: 'end-user', match: { exact: 'jason' } }] },
      request(),
      'header end-user absent',
    ],
    [
      { headers: [{ name: 'x-debug', absent: true }] },
      request({ headers: { 'x-debug': '' } }),
      'header x-debug must be absent, got ""',
    ],
    [
      { withoutHeaders: [{ name: 'end-user', match: { prefix: 'ja' } }] },
      request({ headers: { 'end-user': 'jason' } }),
      'withoutHeaders: header end-user: prefix ja matches jason',
    ],
    [
      { withoutHeaders: [{ name: 'x-debug' }] },
      request({ headers: { 'x-debug': '1' } }),
      'withoutHeaders: header x-debug present',
    ],
    [{ method: { exact: 'POST' } }, request(), 'method exact POST, got GET'],
    [{ authority: { exact: 'reviews' } }, request(), 'authority exact reviews, got reviews:9080'],
    [
      { queryParams: [{ name: 'v', match: { exact: '2' } }] },
      request({ path: '/?v=1' }),
      'query parameter v: exact 2, got 1',
    ],
    [{ queryParams: [{ name: 'v' }] }, request(), 'query parameter v absent'],
    [{ port: 9081 }, request(), 'port 9081, got 9080'],
    [
      { sourceAddresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'] },
      request(),
      'source 10.1.0.10 is not a selected source workload (10.0.0.1, 10.0.0.2, 10.0.0.3, … (4 in all))',
    ],
    [
      { sourceAddresses: [] },
      request(),
      'source 10.1.0.10 is not a selected source workload (no workloads)',
    ],
  ];
  for (const [match, req, reason] of cases) {
    const [explained] = explainRoutes([route('r', [match])], req);
    t.strictSame(explained, { index: 0, origin: 'r', matched: false, reason }, reason);
  }
});

t.test('an explanation lists every match block of a route that did not match', async (t) => {
  const [explained] = explainRoutes(
    [
      route('VirtualService demo/reviews http[0]', [
        { uri: { prefix: '/v2' } },
        { method: { exact: 'POST' } },
      ]),
    ],
    request({ path: '/v1' }),
  );
  t.equal(
    explained?.reason,
    'match[0]: uri prefix /v2 does not match /v1; match[1]: method exact POST, got GET',
  );
});

t.test('an explanation says which routes match and which one took the request', async (t) => {
  const routes = [
    route('http[0]', [{ uri: { prefix: '/v2' } }]),
    route('http[1]', [{ method: { exact: 'POST' } }, { uri: { prefix: '/v1' } }]),
    route('http[2]', [{ uri: { prefix: '/' } }]),
    route('http[3]', []),
  ];
  t.strictSame(
    explainRoutes(routes, request({ path: '/v1/x' })).map((e) => [e.matched, e.reason]),
    [
      [false, 'uri prefix /v2 does not match /v1/x'],
      [true, 'match[1] holds'],
      [true, 'every condition holds, but route 1 (http[1]) matched first'],
      [true, 'matches every request (no match conditions), but route 1 (http[1]) matched first'],
    ],
  );
});
