import t from 'tap';
import type { PolicyRule, WaypointPolicy } from '../../api/waypoint/config.js';
import { canonicalIpBytes } from '../../core/net/ip.js';
import type { RequestAttributes } from './attributes.js';
import { authorize, authorizeConnection } from './evaluate.js';

function request(overrides: Partial<RequestAttributes> = {}): RequestAttributes {
  return {
    peer: {
      principal: 'cluster.local/ns/demo/sa/client',
      namespace: 'demo',
      trustDomain: 'cluster.local',
      sourceIp: canonicalIpBytes('10.1.0.5'),
    },
    method: 'GET',
    path: '/info',
    authority: 'echo.demo.svc.cluster.local:9080',
    headers: {},
    destinationIp: canonicalIpBytes('10.96.0.10'),
    destinationPort: 9080,
    jwt: undefined,
    ...overrides,
  };
}

const policy = (
  action: WaypointPolicy['action'],
  rules: PolicyRule[],
  name = `demo/${action.toLowerCase()}`,
): WaypointPolicy => ({ name, action, rules });

const allowed = (policies: WaypointPolicy[], r = request()) => authorize(policies, r).allowed;

t.test('no policy allows; an ALLOW policy that matches nothing denies everything', async (t) => {
  t.equal(allowed([]), true);
  t.equal(allowed([policy('ALLOW', [])]), false, 'ALLOW without rules denies all');
  t.equal(allowed([policy('ALLOW', [{}])]), true, 'rules: [{}] allows all');
});

t.test('a DENY without rules never fires; with [{}] it denies all', async (t) => {
  t.equal(allowed([policy('DENY', [])]), true);
  t.equal(allowed([policy('DENY', [{}])]), false);
});

t.test('DENY wins over ALLOW and names the policy', async (t) => {
  const decision = authorize(
    [policy('ALLOW', [{}]), policy('DENY', [{ to: [{ paths: ['/info'] }] }], 'demo/no-info')],
    request(),
  );
  t.same(decision, { allowed: false, audited: false, policy: 'demo/no-info' });
});

t.test('CUSTOM has no provider to ask, so a matching CUSTOM policy denies', async (t) => {
  t.equal(allowed([policy('CUSTOM', [{ to: [{ paths: ['/info'] }] }])]), false);
  t.equal(allowed([policy('CUSTOM', [{ to: [{ paths: ['/other'] }] }])]), true);
});

t.test('AUDIT marks the decision and never changes it', async (t) => {
  t.same(authorize([policy('AUDIT', [{}])], request()), { allowed: true, audited: true });
  const denied = authorize([policy('AUDIT', [{}]), policy('ALLOW', [])], request());
  t.equal(denied.allowed, false);
  t.equal(denied.audited, true);
});

t.test('ALLOW GET from one service account: DELETE and other accounts are denied', async (t) => {
  const policies = [
    policy('ALLOW', [
      { from: [{ principals: ['cluster.local/ns/demo/sa/client'] }], to: [{ methods: ['GET'] }] },
    ]),
  ];
  t.equal(allowed(policies), true);
  t.equal(allowed(policies, request({ method: 'DELETE' })), false);
  const other = request({
    peer: { ...request().peer, principal: 'cluster.local/ns/demo/sa/other' },
  });
  t.equal(allowed(policies, other), false);
});

t.test('an unknown peer identity is never let in by identity rules', async (t) => {
  const unknown = request({
    peer: {
      principal: undefined,
      namespace: undefined,
      trustDomain: undefined,
      sourceIp: undefined,
    },
  });
  t.equal(allowed([policy('ALLOW', [{ from: [{ principals: ['*'] }] }])], unknown), false);
  t.equal(allowed([policy('ALLOW', [{ from: [{ namespaces: ['demo'] }] }])], unknown), false);
  t.equal(allowed([policy('DENY', [{ from: [{ notNamespaces: ['demo'] }] }])], unknown), false);
});

t.test('source fields: namespaces, ip blocks and their negations', async (t) => {
  t.equal(allowed([policy('ALLOW', [{ from: [{ namespaces: ['de*'] }] }])]), true);
  t.equal(allowed([policy('ALLOW', [{ from: [{ notNamespaces: ['demo'] }] }])]), false);
  t.equal(allowed([policy('ALLOW', [{ from: [{ ipBlocks: ['10.1.0.0/16'] }] }])]), true);
  t.equal(allowed([policy('ALLOW', [{ from: [{ ipBlocks: ['10.2.0.0/16'] }] }])]), false);
  t.equal(allowed([policy('ALLOW', [{ from: [{ notIpBlocks: ['10.1.0.5'] }] }])]), false);
  t.equal(allowed([policy('ALLOW', [{ from: [{ remoteIpBlocks: ['10.1.0.5/32'] }] }])]), true);
  t.equal(allowed([policy('ALLOW', [{ from: [{ notRemoteIpBlocks: ['10.0.0.0/8'] }] }])]), false);
});

t.test('requestPrincipals need a verified JWT', async (t) => {
  const policies = [policy('ALLOW', [{ from: [{ requestPrincipals: ['*'] }] }])];
  t.equal(allowed(policies), false, 'no token');
  const jwt = {
    principal: 'https://issuer/alice',
    audiences: [],
    presenter: undefined,
    claims: {},
  };
  t.equal(allowed(policies, request({ jwt })), true);
  t.equal(
    allowed(
      [policy('ALLOW', [{ from: [{ requestPrincipals: ['https://issuer/bob'] }] }])],
      request({ jwt }),
    ),
    false,
  );
  t.equal(
    allowed([policy('DENY', [{ from: [{ notRequestPrincipals: ['*'] }] }])]),
    false,
    'DENY notRequestPrincipals * refuses requests without a token',
  );
});

t.test('hosts compare case-insensitively, with or without a port', async (t) => {
  const on = (hosts: string[], authority: string) =>
    allowed([policy('ALLOW', [{ to: [{ hosts }] }])], request({ authority }));
  t.equal(on(['echo.demo.svc.cluster.local'], 'ECHO.demo.svc.cluster.local'), true);
  t.equal(on(['echo.demo.svc.cluster.local'], 'echo.demo.svc.cluster.local:9080'), true);
  t.equal(on(['Echo.Demo.svc.cluster.local'], 'echo.demo.svc.cluster.local'), true);
  t.equal(on(['echo.demo.svc.cluster.local:9080'], 'echo.demo.svc.cluster.local:9080'), true);
  t.equal(on(['echo.demo.svc.cluster.local:80'], 'echo.demo.svc.cluster.local:9080'), false);
  t.equal(on(['*.svc.cluster.local'], 'echo.demo.svc.cluster.local'), true);
  t.equal(on(['echo.*'], 'echo.demo'), true);
  t.equal(on(['other'], 'echo'), false);
  t.equal(
    allowed([policy('ALLOW', [{ to: [{ notHosts: ['ECHO'] }] }])], request({ authority: 'echo' })),
    false,
  );
});

t.test('ports and methods', async (t) => {
  t.equal(allowed([policy('ALLOW', [{ to: [{ ports: [9080] }] }])]), true);
  t.equal(allowed([policy('ALLOW', [{ to: [{ ports: [80] }] }])]), false);
  t.equal(allowed([policy('ALLOW', [{ to: [{ notPorts: [9080] }] }])]), false);
  t.equal(allowed([policy('ALLOW', [{ to: [{ notMethods: ['GET'] }] }])]), false);
});

t.test('paths: exact, prefix, suffix, presence and templates', async (t) => {
  const on = (paths: string[], path: string) =>
    allowed([policy('ALLOW', [{ to: [{ paths }] }])], request({ path }));
  t.equal(on(['/admin'], '/admin'), true);
  t.equal(on(['/admin'], '/admin/'), false, 'exact is exact (Istio)');
  t.equal(on(['/admin*'], '/admin/users'), true);
  t.equal(on(['*.html'], '/a/b.html'), true);
  t.equal(on(['*'], '/'), true);
  t.equal(on(['/users/{*}/profile'], '/users/42/profile'), true);
  t.equal(on(['/users/{*}/profile'], '/users/4/2/profile'), false);
  t.equal(on(['/users/{*}'], '/users/'), false, '{*} needs a segment');
  t.equal(on(['/files/{**}'], '/files/a/b/c.txt'), true);
  t.equal(on(['/files/{**}/x'], '/files/a/b/x'), true);
  t.equal(on(['/files/{**}'], '/other/a'), false);
  t.equal(on(['/admin'], '/ADMIN'), false, 'case matters');
  t.equal(
    allowed(
      [policy('ALLOW', [{ to: [{ notPaths: ['/admin*'] }] }])],
      request({ path: '/admin/x' }),
    ),
    false,
  );
});

t.test('from, to and when must all match; entries within a list are alternatives', async (t) => {
  const rule: PolicyRule = {
    from: [{ namespaces: ['other'] }, { namespaces: ['demo'] }],
    to: [{ methods: ['POST'] }, { paths: ['/info'] }],
    when: [{ key: 'request.headers[x-user]', values: ['alice'] }],
  };
  t.equal(allowed([policy('ALLOW', [rule])], request({ headers: { 'x-user': 'alice' } })), true);
  t.equal(allowed([policy('ALLOW', [rule])], request({ headers: { 'x-user': 'bob' } })), false);
  t.equal(allowed([policy('ALLOW', [rule])]), false, 'a missing header matches no value');
});

t.test(
  'a TCP connection: ALLOW rules with HTTP fields never match, DENY ignores them',
  async (t) => {
    const { peer, destinationIp, destinationPort } = request();
    const connection = { peer, destinationIp, destinationPort };
    const allowedTcp = (policies: WaypointPolicy[]) =>
      authorizeConnection(policies, connection).allowed;
    t.equal(allowedTcp([]), true);
    t.equal(allowedTcp([policy('ALLOW', [{ to: [{ methods: ['GET'] }] }])]), false);
    t.equal(allowedTcp([policy('ALLOW', [{ from: [{ namespaces: ['demo'] }] }])]), true);
    t.equal(
      allowedTcp([
        policy('ALLOW', [{ from: [{ namespaces: ['demo'] }], to: [{ paths: ['/x'] }] }]),
      ]),
      false,
    );
    t.equal(allowedTcp([policy('DENY', [{ to: [{ paths: ['/admin'] }] }])]), false, 'denies more');
    t.equal(allowedTcp([policy('DENY', [{ to: [{ ports: [80], paths: ['/a'] }] }])]), true);
    t.equal(
      allowedTcp([policy('DENY', [{ when: [{ key: 'request.headers[x]', values: ['y'] }] }])]),
      false,
    );
    t.equal(
      allowedTcp([policy('DENY', [{ when: [{ key: 'source.namespace', values: ['other'] }] }])]),
      true,
    );
  },
);
