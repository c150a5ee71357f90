import t from 'tap';
import type { CorsPolicy } from '../../api/waypoint/config.js';
import { corsDecision } from './cors.js';
import { request } from './testing/request.js';

const policy: CorsPolicy = {
  allowOrigins: [{ exact: 'https://shop.example' }, { regex: 'https://.*\\.example\\.org' }],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['content-type', 'x-user'],
  exposeHeaders: ['x-trace', 'x-version'],
  maxAgeSeconds: 86400,
  allowCredentials: true,
};

const preflight = (origin: string, extra: Record<string, string> = {}) =>
  request({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', ...extra },
  });

t.test('a preflight from an allowed origin is answered with the policy', async (t) => {
  t.strictSame(corsDecision(policy, preflight('https://shop.example')), {
    kind: 'preflight',
    headers: {
      'access-control-allow-origin': 'https://shop.example',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'content-type,x-user',
      'access-control-max-age': '86400',
    },
  });
});

t.test(
  'an actual request from an allowed origin gets origin, credentials and expose headers',
  async (t) => {
    t.strictSame(
      corsDecision(
        policy,
        request({ method: 'POST', headers: { origin: 'https://a.example.org' } }),
      ),
      {
        kind: 'actual',
        headers: {
          'access-control-allow-origin': 'https://a.example.org',
          'access-control-allow-credentials': 'true',
          'access-control-expose-headers': 'x-trace,x-version',
        },
      },
    );
  },
);

t.test('OPTIONS without Access-Control-Request-Method is an actual request', async (t) => {
  const req = request({ method: 'OPTIONS', headers: { origin: 'https://shop.example' } });
  t.equal(corsDecision(policy, req).kind, 'actual');
});

t.test('a request without Origin is not a CORS request', async (t) => {
  t.strictSame(corsDecision(policy, request()), { kind: 'none' });
  t.strictSame(corsDecision(policy, request({ headers: { origin: '' } })), { kind: 'none' });
});

t.test(
  'an origin the policy does not allow gets no CORS headers, even on a preflight',
  async (t) => {
    // Envoy forwards an unmatched preflight upstream (Istio's default unmatchedPreflights: FORWARD).
    t.strictSame(corsDecision(policy, preflight('https://evil.example')), { kind: 'none' });
    t.strictSame(corsDecision(policy, request({ headers: { origin: 'https://evil.example' } })), {
      kind: 'none',
    });
  },
);

t.test("exact '*' allows every origin, and the origin itself is echoed", async (t) => {
  // Envoy tests each matcher against "*" too, and answers with the request's Origin.
  const any: CorsPolicy = { ...policy, allowOrigins: [{ exact: '*' }] };
  const decision = corsDecision(any, preflight('https://anyone.test'));
  t.equal(
    decision.kind === 'preflight' && decision.headers['access-control-allow-origin'],
    'https://anyone.test',
  );
});

t.test("'*' methods and headers echo what the preflight asked for (Envoy)", async (t) => {
  const wildcard: CorsPolicy = { ...policy, allowMethods: ['*'], allowHeaders: ['*'] };
  const decision = corsDecision(
    wildcard,
    preflight('https://shop.example', { 'access-control-request-headers': 'x-a,x-b' }),
  );
  t.equal(
    decision.kind === 'preflight' && decision.headers['access-control-allow-methods'],
    'POST',
  );
  t.equal(
    decision.kind === 'preflight' && decision.headers['access-control-allow-headers'],
    'x-a,x-b',
  );
});

t.test('fields the policy leaves empty are left out of the answer', async (t) => {
  const bare: CorsPolicy = {
    allowOrigins: [{ prefix: 'https://' }],
    allowMethods: [],
    allowHeaders: [],
    exposeHeaders: [],
  };
  t.strictSame(corsDecision(bare, preflight('https://shop.example')), {
    kind: 'preflight',
    headers: { 'access-control-allow-origin': 'https://shop.example' },
  });
  t.strictSame(corsDecision(bare, request({ headers: { origin: 'https://shop.example' } })), {
    kind: 'actual',
    headers: { 'access-control-allow-origin': 'https://shop.example' },
  });
});
