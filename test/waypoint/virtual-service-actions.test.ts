import t from 'tap';
import type { EchoAnswer } from '../support/waypoint.js';
import { waitUntil } from '../support/ztunnel.js';
import { askMany, startVsMesh, subsetsRule, virtualService } from './virtual-service-mesh.js';

// What a VirtualService route does with a request, through a namespace waypoint: redirect,
// direct response, rewrites, header operations at route and destination level, mirroring
// and CORS, each as Istio (that is, Envoy as Istio configures it) does it.

const PORT = 9080;

t.test('VirtualService route actions through a waypoint', async (t) => {
  const vs = await startVsMesh(t, {
    namespace: 'vs-actions',
    clients: [{ name: 'client' }],
    backends: [
      { name: 'echo', ports: [PORT], versions: ['v1'] },
      { name: 'mirror', ports: [PORT], versions: ['v1', 'v2'], serves: 'recorder' },
    ],
  });
  const mirrorV1 = vs.backends.mirror!.recorders.v1!;
  const mirrorV2 = vs.backends.mirror!.recorders.v2!;
  const toEcho = (path: string) => ({ match: [{ uri: { exact: path } }] });
  const route = [{ destination: { host: 'echo' } }];

  await vs.apply('mirror-dr.yaml', subsetsRule('mirror', ['v1', 'v2']));
  await vs.apply(
    'echo-vs.yaml',
    virtualService(
      'echo',
      ['echo'],
      [
        { match: [{ uri: { prefix: '/moved' } }], redirect: { uri: '/new' } },
        {
          ...toEcho('/temporary'),
          redirect: { uri: '/elsewhere', authority: 'other.example', redirectCode: 307 },
        },
        {
          ...toEcho('/derive'),
          redirect: { uri: '/d', authority: 'other.example', derivePort: 'FROM_REQUEST_PORT' },
        },
        { ...toEcho('/secure'), redirect: { scheme: 'https', port: 8443 } },
        {
          ...toEcho('/default-port'),
          redirect: { scheme: 'https', derivePort: 'FROM_PROTOCOL_DEFAULT' },
        },
        {
          ...toEcho('/maintenance'),
          directResponse: { status: 503, body: { string: 'down for maintenance' } },
          headers: { response: { set: { 'retry-after': '120' } } },
        },
        { ...toEcho('/teapot'), directResponse: { status: 418 } },
        { match: [{ uri: { prefix: '/old/' } }], rewrite: { uri: '/new/' }, route },
        {
          match: [{ uri: { prefix: '/swap/' } }],
          rewrite: { uriRegexRewrite: { match: '^/swap/([^/]+)/(.*)$', rewrite: '/\\2/\\1' } },
          route,
        },
        { ...toEcho('/authority'), rewrite: { authority: 'rewritten.example' }, route },
        {
          ...toEcho('/authority-header'),
          headers: { request: { set: { ':authority': 'route-header.example' } } },
          route,
        },
        {
          ...toEcho('/destination-authority'),
          route: [
            {
              destination: { host: 'echo' },
              headers: { request: { set: { host: 'destination-header.example' } } },
            },
          ],
        },
        {
          ...toEcho('/headers'),
          headers: {
            request: { set: { 'x-set': 'route' }, add: { 'x-add': 'route' }, remove: ['x-remove'] },
            response: {
              set: { 'x-echo-version': 'overridden', 'x-response-set': 'route' },
              add: { 'x-response-add': 'route' },
              remove: ['x-echo-pod'],
            },
          },
          route: [
            {
              destination: { host: 'echo' },
              headers: {
                request: {
                  set: { 'x-destination': 'yes' },
                  add: { 'x-add': 'destination' },
                  remove: ['x-remove-at-destination'],
                },
                response: {
                  set: { 'x-response-destination': 'yes' },
                  add: { 'x-response-add': 'destination' },
                  remove: ['content-type'],
                },
              },
            },
          ],
        },
        {
          match: [{ uri: { prefix: '/cors' } }],
          corsPolicy: {
            allowOrigins: [{ exact: 'https://allowed.example' }],
            allowMethods: ['GET', 'POST'],
            allowHeaders: ['x-custom'],
            exposeHeaders: ['x-echo-version'],
            maxAge: '24h',
            allowCredentials: true,
          },
          route,
        },
        {
          match: [{ uri: { prefix: '/mirrored' } }],
          route,
          mirror: { host: 'mirror', subset: 'v1' },
          mirrorPercentage: { value: 100 },
        },
        {
          match: [{ uri: { prefix: '/some-mirrored' } }],
          route,
          mirrors: [
            { destination: { host: 'mirror', subset: 'v1' }, percentage: { value: 100 } },
            { destination: { host: 'mirror', subset: 'v2' }, percentage: { value: 50 } },
          ],
        },
      ],
    ),
  );
  await vs.eventually(
    'the VirtualService',
    { to: 'echo', path: '/teapot' },
    (answer) => answer.status === 418,
  );

  t.test('redirect: 301 unless told, path and authority replaced, query kept', async (t) => {
    const moved = await vs.ask({ to: 'echo', path: '/moved/x?q=1' });
    t.equal(moved.status, 301);
    t.equal(moved.headers.location, `http://echo:${PORT}/new?q=1`);
    t.equal(moved.reply, undefined, 'the waypoint answered');
    const temporary = await vs.ask({ to: 'echo', path: '/temporary' });
    t.equal(temporary.status, 307);
    t.equal(temporary.headers.location, 'http://other.example/elsewhere');
  });

  t.test('redirect: the port from the request, or one given with a new scheme', async (t) => {
    // derivePort FROM_REQUEST_PORT: Istio writes the port the route serves.
    const derived = await vs.ask({ to: 'echo', path: '/derive' });
    t.equal(derived.status, 301);
    t.equal(derived.headers.location, `http://other.example:${PORT}/d`);
    const secure = await vs.ask({ to: 'echo', path: '/secure' });
    t.equal(secure.headers.location, 'https://echo:8443/secure');
    // FROM_PROTOCOL_DEFAULT: no port, so the new scheme's default; Envoy drops the request's
    // port when it is the default of the scheme being left.
    const fromDefault = await vs.ask({
      to: 'echo',
      path: '/default-port',
      headers: { host: 'echo:80' },
    });
    t.equal(fromDefault.headers.location, 'https://echo/default-port');
  });

  t.test('directResponse answers with its status and body', async (t) => {
    const maintenance = await vs.ask({ to: 'echo', path: '/maintenance' });
    t.equal(maintenance.status, 503);
    t.equal(maintenance.body, 'down for maintenance');
    t.equal(maintenance.reply, undefined, 'the waypoint answered');
    t.equal(maintenance.headers['content-type'], 'text/plain');
    t.equal(maintenance.headers['retry-after'], '120', "the route's response headers apply");
    const teapot = await vs.ask({ to: 'echo', path: '/teapot' });
    t.equal(teapot.status, 418);
    t.equal(teapot.body, '');
  });

  t.test('rewrite: uri replaces the matched prefix, the query stays', async (t) => {
    const answer = await vs.ask({ to: 'echo', path: '/old/page?q=1' });
    t.equal(answer.reply?.path, '/new/page?q=1');
  });

  t.test('rewrite: uriRegexRewrite with capture groups', async (t) => {
    const answer = await vs.ask({ to: 'echo', path: '/swap/a/b/c?q=1' });
    t.equal(answer.reply?.path, '/b/c/a?q=1');
  });

  t.test('rewrite: authority', async (t) => {
    const answer = await vs.ask({ to: 'echo', path: '/authority' });
    t.equal(answer.reply?.host, 'rewritten.example');
    t.equal(answer.reply?.path, '/authority');
  });

  t.test('rewrite: the authority set as a header, at route or destination level', async (t) => {
    // Istio turns a request header operation on `:authority` or `host` into a host rewrite.
    const byRoute = await vs.ask({ to: 'echo', path: '/authority-header' });
    t.equal(byRoute.reply?.host, 'route-header.example');
    const byDestination = await vs.ask({ to: 'echo', path: '/destination-authority' });
    t.equal(byDestination.reply?.host, 'destination-header.example');
  });

  t.test('header operations at route and destination level', async (t) => {
    const answer = await vs.ask({
      to: 'echo',
      path: '/headers',
      headers: {
        'x-set': 'client',
        'x-add': 'client',
        'x-remove': 'client',
        'x-remove-at-destination': 'client',
      },
    });
    t.equal(answer.status, 200);
    const seen = answer.reply?.headers ?? {};
    t.equal(seen['x-set'], 'route', 'set replaces');
    // Envoy appends the weighted cluster's headers before the route's.
    t.equal(seen['x-add'], 'client, destination, route', 'add appends');
    t.equal(seen['x-remove'], undefined, 'remove removes');
    t.equal(seen['x-destination'], 'yes', 'the destination sets its own');
    t.equal(seen['x-remove-at-destination'], undefined, 'the destination removes its own');
    t.equal(answer.headers['x-echo-version'], 'overridden', 'a response header replaced');
    t.equal(answer.headers['x-echo-pod'], undefined, 'a response header removed');
    t.equal(answer.headers['x-response-set'], 'route');
    t.equal(answer.headers['x-response-add'], 'destination, route');
    t.equal(answer.headers['x-response-destination'], 'yes');
    t.equal(answer.headers['content-type'], undefined, 'removed at the destination');
  });

  t.test('CORS: the waypoint answers a preflight from an allowed origin', async (t) => {
    const preflight = await vs.ask({
      to: 'echo',
      method: 'OPTIONS',
      path: '/cors',
      headers: {
        origin: 'https://allowed.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-custom',
      },
    });
    t.equal(preflight.status, 200);
    t.equal(preflight.reply, undefined, 'not forwarded');
    t.match(preflight.headers, {
      'access-control-allow-origin': 'https://allowed.example',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'x-custom',
      'access-control-max-age': '86400',
      'access-control-allow-credentials': 'true',
    });
  });

  t.test('CORS: an actual request gets the allow-origin header', async (t) => {
    const actual = await vs.ask({
      to: 'echo',
      path: '/cors',
      headers: { origin: 'https://allowed.example' },
    });
    t.equal(actual.reply?.version, 'v1', 'forwarded');
    t.equal(actual.headers['access-control-allow-origin'], 'https://allowed.example');
    t.equal(actual.headers['access-control-expose-headers'], 'x-echo-version');
  });

  t.test('CORS: an origin not allowed gets no CORS headers', async (t) => {
    const actual = await vs.ask({
      to: 'echo',
      path: '/cors',
      headers: { origin: 'https://evil.example' },
    });
    t.equal(actual.reply?.version, 'v1');
    t.equal(actual.headers['access-control-allow-origin'], undefined);
    // Istio's default unmatchedPreflights FORWARD: the backend sees the preflight.
    const preflight = await vs.ask({
      to: 'echo',
      method: 'OPTIONS',
      path: '/cors',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    t.equal(preflight.reply?.method, 'OPTIONS', 'forwarded to the backend');
    t.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  t.test('mirror: the copy goes to the mirror with a -shadow host', async (t) => {
    const before = mirrorV1.requests.length;
    const answer = await vs.ask({ to: 'echo', path: '/mirrored/1', headers: { 'x-tag': 'one' } });
    t.equal(answer.reply?.version, 'v1', 'the main request is answered by the route');
    await waitUntil('the mirrored copy', async () => mirrorV1.requests.length > before);
    const copy = mirrorV1.requests[before]!;
    t.equal(copy.host, `echo-shadow:${PORT}`);
    t.equal(copy.path, '/mirrored/1');
    t.equal(copy.headers['x-tag'], 'one');
    const posted = await vs.ask({
      to: 'echo',
      method: 'POST',
      path: '/mirrored/2',
      headers: { 'content-type': 'text/plain' },
      body: 'a body for both',
    });
    t.equal(posted.reply?.bodyLength, 15, 'the main request has its body');
    await waitUntil('the mirrored POST', async () => mirrorV1.requests.length > before + 1);
    t.match(mirrorV1.requests[before + 1], { method: 'POST', body: 'a body for both' });
  });

  t.test('mirror: a slow or failing mirror does not touch the main response', async (t) => {
    t.teardown(() => Object.assign(mirrorV1.behaviour, { status: 200, delayMs: 0 }));
    mirrorV1.behaviour.delayMs = 3000;
    const before = mirrorV1.requests.length;
    const started = performance.now();
    const slow = await vs.ask({ to: 'echo', path: '/mirrored/slow' });
    const ms = performance.now() - started;
    t.equal(slow.status, 200);
    t.ok(ms < 1500, `answered in ${Math.round(ms)} ms while the mirror takes 3 s`);
    Object.assign(mirrorV1.behaviour, { status: 500, delayMs: 0 });
    const failing = await vs.ask({ to: 'echo', path: '/mirrored/failing' });
    t.equal(failing.status, 200, 'the mirror answering 500 changes nothing');
    await waitUntil('both copies', async () => mirrorV1.requests.length >= before + 2, 10_000);
  });

  t.test('mirrors: each with its own percentage', async (t) => {
    const n = 200;
    const [v1Before, v2Before] = [mirrorV1.requests.length, mirrorV2.requests.length];
    const answers: EchoAnswer[] = await askMany(vs, t, n, { to: 'echo', path: '/some-mirrored' });
    t.equal(answers.filter((a) => a.status === 200).length, n, 'every request answered');
    await waitUntil('all copies at 100 %', async () => mirrorV1.requests.length === v1Before + n);
    // Both copies leave together, so the 50 % mirror has had its share by now.
    const half = mirrorV2.requests.length - v2Before;
    t.ok(Math.abs(half - n / 2) <= 30, `the 50 % mirror got ${half} of ${n} (100 ± 30)`);
  });
});
