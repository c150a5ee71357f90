import t, { type Test } from 'tap';
import type { Redirect, RequestMatch, Rewrite } from '../../api/waypoint/config.js';
import { redirectLocation, rewritePath } from './rewrite.js';
import { request } from './testing/request.js';

type Case = [
  name: string,
  rewrite: Rewrite,
  path: string,
  match: RequestMatch | undefined,
  expected: string,
];

function table(t: Test, cases: Case[]) {
  for (const [name, rewrite, path, match, expected] of cases) {
    t.equal(rewritePath(rewrite, path, match), expected, name);
  }
}

t.test('prefix replaces the prefix a prefix match matched, keeping the rest', async (t) => {
  table(t, [
    ['prefix', { prefix: '/v2/' }, '/v1/reviews/1', { uri: { prefix: '/v1/' } }, '/v2/reviews/1'],
    ['to root', { prefix: '/' }, '/api/reviews', { uri: { prefix: '/api/' } }, '/reviews'],
    [
      'query kept',
      { prefix: '/new' },
      '/old/x?a=1&b=2',
      { uri: { prefix: '/old' } },
      '/new/x?a=1&b=2',
    ],
    // Envoy replaces as many characters as the prefix has, whatever their case.
    [
      'ignoreUriCase',
      { prefix: '/v2' },
      '/V1/x',
      { uri: { prefix: '/v1' }, ignoreUriCase: true },
      '/v2/x',
    ],
  ]);
});

t.test('prefix replaces the whole path after an exact or regex match', async (t) => {
  table(t, [
    [
      'exact',
      { prefix: '/ratings' },
      '/reviews?u=1',
      { uri: { exact: '/reviews' } },
      '/ratings?u=1',
    ],
    [
      'regex',
      { prefix: '/ratings' },
      '/reviews/7',
      { uri: { regex: '/reviews/[0-9]+' } },
      '/ratings',
    ],
  ]);
});

t.test('prefix on a match without uri replaces only the leading slash (Istio)', async (t) => {
  // Istio gives such a match Envoy's `prefix: /` and rewrite.uri becomes prefix_rewrite,
  // so the matched "prefix" is '/': a well-known Istio surprise, kept for compatibility.
  table(t, [
    ['catch-all route', { prefix: '/v2' }, '/reviews/1', undefined, '/v2reviews/1'],
    [
      'header-only match',
      { prefix: '/v2/' },
      '/reviews',
      { method: { exact: 'GET' } },
      '/v2/reviews',
    ],
  ]);
});

t.test(
  'a Gateway API PathPrefix, split in two by the control plane, rewrites per its table',
  async (t) => {
    // HTTPRoute PathPrefix /foo arrives as exact /foo (replacement trimmed of its '/') and
    // prefix /foo/ (replacement ending in '/'); rows of Gateway API's HTTPPathModifier table.
    const exact: RequestMatch = { uri: { exact: '/foo' } };
    const below: RequestMatch = { uri: { prefix: '/foo/' } };
    table(t, [
      ['/foo/bar -> /xyz/bar', { prefix: '/xyz/' }, '/foo/bar', below, '/xyz/bar'],
      ['/foo -> /xyz', { prefix: '/xyz' }, '/foo', exact, '/xyz'],
      ['/foo/ -> /xyz/', { prefix: '/xyz/' }, '/foo/', below, '/xyz/'],
      ['/foo/bar -> /bar (empty replacement)', { prefix: '/' }, '/foo/bar', below, '/bar'],
      ['/foo -> / (empty replacement)', { prefix: '/' }, '/foo', exact, '/'],
    ]);
  },
);

t.test(
  'uri replaces the whole path and keeps the query (Gateway API ReplaceFullPath)',
  async (t) => {
    table(t, [
      ['prefix match', { uri: '/full' }, '/foo/bar?a=1', { uri: { prefix: '/foo' } }, '/full?a=1'],
      ['no match', { uri: '/full' }, '/x', undefined, '/full'],
    ]);
  },
);

t.test('an empty prefix, or a rewrite of the authority only, keeps the path', async (t) => {
  table(t, [
    ['empty prefix', { prefix: '' }, '/a?b', { uri: { prefix: '/a' } }, '/a?b'],
    ['authority only', { authority: 'ratings' }, '/a?b', undefined, '/a?b'],
  ]);
});

t.test('uriRegex replaces every match, with \\1-style groups (Envoy regex_rewrite)', async (t) => {
  table(t, [
    // Envoy's own examples for regex_rewrite.
    [
      'groups',
      { uriRegex: { match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1' } },
      '/service/foo/v1/api',
      undefined,
      '/v1/api/instance/foo',
    ],
    [
      'every match',
      { uriRegex: { match: 'one', rewrite: 'two' } },
      '/xxx/one/yyy/one/zzz',
      undefined,
      '/xxx/two/yyy/two/zzz',
    ],
    ['query untouched', { uriRegex: { match: 'a', rewrite: 'b' } }, '/a?a=a', undefined, '/b?a=a'],
    [
      '\\0 is the whole match',
      { uriRegex: { match: '/v[0-9]', rewrite: '/api\\0' } },
      '/v1/x',
      undefined,
      '/api/v1/x',
    ],
    ['$ is literal', { uriRegex: { match: '^/x', rewrite: '/$1' } }, '/x', undefined, '/$1'],
    [
      '\\\\ is a backslash',
      { uriRegex: { match: '^/x', rewrite: '/a\\\\b' } },
      '/x',
      undefined,
      '/a\\b',
    ],
    [
      'a group the pattern lacks is empty',
      { uriRegex: { match: '^/(x)', rewrite: '/\\1\\2' } },
      '/x',
      undefined,
      '/x',
    ],
    [
      'an unmatched group is empty',
      { uriRegex: { match: '^/(a)?(x)', rewrite: '/\\1-\\2' } },
      '/x',
      undefined,
      '/-x',
    ],
    [
      'no match leaves the path',
      { uriRegex: { match: 'zzz', rewrite: 'y' } },
      '/x?q',
      undefined,
      '/x?q',
    ],
  ]);
});

type RedirectCase = [name: string, redirect: Partial<Redirect>, expected: string];

function redirects(
  t: Test,
  cases: RedirectCase[],
  path = '/reviews/1?u=jason',
  authority = 'reviews:9080',
) {
  for (const [name, fields, expected] of cases) {
    const redirect: Redirect = { status: 301, ...fields };
    t.equal(
      redirectLocation(redirect, request({ path, authority, port: 9080 }), 'http'),
      expected,
      name,
    );
  }
}

t.test('a redirect keeps what it does not change, query included', async (t) => {
  redirects(t, [
    ['nothing changed', {}, 'http://reviews:9080/reviews/1?u=jason'],
    ['uri', { uri: '/v2/reviews' }, 'http://reviews:9080/v2/reviews?u=jason'],
    ['authority', { authority: 'ratings' }, 'http://ratings/reviews/1?u=jason'],
    [
      'authority and uri',
      { authority: 'ratings:8080', uri: '/r' },
      'http://ratings:8080/r?u=jason',
    ],
  ]);
});

t.test(
  'a query in the redirect uri replaces the request query (Envoy path_redirect)',
  async (t) => {
    redirects(t, [
      ['uri with query', { uri: '/login?next=1' }, 'http://reviews:9080/login?next=1'],
    ]);
  },
);

t.test('redirect uri replaces the whole path; prefixRewrite only the matched prefix', async (t) => {
  const req = request({ path: '/old/a/b?x=1', authority: 'reviews' });
  const prefix: RequestMatch = { uri: { prefix: '/old' } };
  t.equal(
    redirectLocation({ status: 301, uri: '/new' }, req, 'http', prefix),
    'http://reviews/new?x=1',
  );
  t.equal(
    redirectLocation({ status: 302, prefixRewrite: '/new' }, req, 'http', prefix),
    'http://reviews/new/a/b?x=1',
  );
});

t.test('a redirect port is written unless it is the scheme default (Istio)', async (t) => {
  redirects(t, [
    ['port', { port: 8080 }, 'http://reviews:8080/reviews/1?u=jason'],
    ['port 80 on http', { port: 80 }, 'http://reviews/reviews/1?u=jason'],
    ['port 443 to https', { scheme: 'https', port: 443 }, 'https://reviews/reviews/1?u=jason'],
    [
      'port 80 to https is explicit',
      { scheme: 'https', port: 80 },
      'https://reviews:80/reviews/1?u=jason',
    ],
    [
      'port with authority',
      { authority: 'ratings:1234', port: 8443 },
      'http://ratings:8443/reviews/1?u=jason',
    ],
  ]);
});

t.test('derivePort request uses the service port; protocol leaves the port out', async (t) => {
  // Istio writes FROM_REQUEST_PORT as the listener (service) port. FROM_PROTOCOL_DEFAULT
  // means 80/443 (Istio's docs, Gateway API); Envoy given no port would keep :9080.
  redirects(
    t,
    [
      ['request', { derivePort: 'request' }, 'http://reviews:9080/x'],
      ['request to https', { scheme: 'https', derivePort: 'request' }, 'https://reviews:9080/x'],
      ['protocol', { scheme: 'https', derivePort: 'protocol' }, 'https://reviews/x'],
      [
        'protocol with authority',
        { authority: 'ratings:1', derivePort: 'protocol' },
        'http://ratings/x',
      ],
    ],
    '/x',
    'reviews',
  );
});

t.test(
  'without a port the Host port stays, unless the scheme leaves its default (Envoy)',
  async (t) => {
    // Envoy processRequestHost: `:80` goes when http becomes https; other ports stay.
    redirects(t, [['https, port 9080 stays', { scheme: 'https' }, 'https://reviews:9080/x']], '/x');
    redirects(
      t,
      [['https, port 80 goes', { scheme: 'https' }, 'https://reviews/x']],
      '/x',
      'reviews:80',
    );
    redirects(t, [['http, port 80 stays', {}, 'http://reviews:80/x']], '/x', 'reviews:80');
  },
);

t.test('IPv6 authorities keep their brackets when the port changes', async (t) => {
  redirects(t, [['v6', { port: 8080 }, 'http://[fd00::5]:8080/x']], '/x', '[fd00::5]:9080');
  redirects(
    t,
    [['v6 no port', { derivePort: 'protocol' }, 'http://[fd00::5]/x']],
    '/x',
    '[fd00::5]',
  );
});

t.test('a redirect uri without a leading slash still gives a path', async (t) => {
  redirects(t, [['relative uri', { uri: 'v2' }, 'http://reviews:9080/v2?u=jason']]);
});
