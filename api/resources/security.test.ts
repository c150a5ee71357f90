import t from 'tap';
import { validateResource } from './load.js';
import type { AuthorizationPolicySpec, PeerAuthenticationSpec } from './security.js';

type Problem = [path: string, reason: string];

function authorizationPolicy(spec: unknown, apiVersion = 'security.istio.io/v1') {
  return {
    apiVersion,
    kind: 'AuthorizationPolicy',
    metadata: { name: 'policy', namespace: 'bookinfo' },
    spec,
  };
}

function peerAuthentication(spec: unknown) {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'pa', namespace: 'bookinfo' },
    spec,
  };
}

function problems(doc: unknown): Problem[] {
  return validateResource(doc).errors.map((e) => [e.path, e.reason]);
}

function spec<T>(doc: unknown): T {
  const { resource, errors } = validateResource(doc);
  if (resource === undefined) throw new Error(errors.map((e) => e.message).join('\n'));
  return resource.spec as T;
}

const fromPrincipal = {
  from: [{ source: { principals: ['cluster.local/ns/bookinfo/sa/productpage'] } }],
};

t.test(
  'an AuthorizationPolicy is served at v1 and v1beta1 and defaults its action to ALLOW',
  async (t) => {
    for (const apiVersion of ['security.istio.io/v1', 'security.istio.io/v1beta1']) {
      const s = spec<AuthorizationPolicySpec>(
        authorizationPolicy({ rules: [fromPrincipal] }, apiVersion),
      );
      t.equal(s.action, 'ALLOW');
    }
    t.same(problems(authorizationPolicy({}, 'security.istio.io/v1alpha1')), [
      [
        'apiVersion',
        'version v1alpha1 of AuthorizationPolicy is not served; use security.istio.io/v1, security.istio.io/v1beta1',
      ],
    ]);
  },
);

t.test('an AuthorizationPolicy refuses fields Istio does not know', async (t) => {
  t.same(problems(authorizationPolicy({ rules: [{ form: [] }] })), [
    ['spec.rules[0].form', 'unknown field'],
  ]);
  t.same(problems(authorizationPolicy({ action: 'REJECT' })), [
    ['spec.action', 'must be one of ALLOW, DENY, AUDIT, CUSTOM'],
  ]);
});

t.test('selector, targetRef and targetRefs exclude each other', async (t) => {
  const selector = { matchLabels: { app: 'reviews' } };
  const ref = { kind: 'Service', name: 'reviews' };
  t.same(problems(authorizationPolicy({ selector })), []);
  t.same(problems(authorizationPolicy({ targetRef: ref })), []);
  t.same(
    problems(
      authorizationPolicy({
        targetRefs: [
          ref,
          { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' },
        ],
      }),
    ),
    [],
  );
  t.same(problems(authorizationPolicy({ selector, targetRef: ref })), [
    ['spec.targetRef', 'cannot be set together with selector'],
  ]);
  t.same(problems(authorizationPolicy({ targetRef: ref, targetRefs: [ref] })), [
    ['spec.targetRefs', 'cannot be set together with targetRef'],
  ]);
});

t.test(
  'a target reference names a Service, ServiceEntry, Gateway or GatewayClass in its own namespace',
  async (t) => {
    t.same(
      problems(
        authorizationPolicy({
          targetRef: { group: 'networking.istio.io', kind: 'ServiceEntry', name: 'ext' },
        }),
      ),
      [],
    );
    t.same(
      problems(
        authorizationPolicy({
          targetRef: {
            group: 'gateway.networking.k8s.io',
            kind: 'GatewayClass',
            name: 'istio-waypoint',
          },
        }),
      ),
      [],
    );
    t.same(
      problems(
        authorizationPolicy({ targetRef: { group: 'apps', kind: 'Deployment', name: 'reviews' } }),
      ),
      [
        [
          'spec.targetRef.kind',
          'must be Service, ServiceEntry (networking.istio.io), Gateway or GatewayClass (gateway.networking.k8s.io), but was apps/Deployment',
        ],
      ],
    );
    t.same(
      problems(
        authorizationPolicy({
          targetRefs: [{ kind: 'Service', name: 'reviews', namespace: 'other' }],
        }),
      ),
      [
        [
          'spec.targetRefs[0].namespace',
          'must not be set: cross-namespace references are not supported',
        ],
      ],
    );
    t.same(problems(authorizationPolicy({ targetRef: { kind: 'Service' } })), [
      ['spec.targetRef.name', 'is required'],
    ]);
  },
);

t.test('a workload selector takes no wildcards and no empty keys', async (t) => {
  t.same(
    problems(authorizationPolicy({ selector: { matchLabels: { app: 'reviews', version: 'v1' } } })),
    [],
  );
  t.same(problems(authorizationPolicy({ selector: { matchLabels: { app: 'rev*' } } })), [
    ['spec.selector.matchLabels.app', 'wildcards are not allowed in selectors'],
  ]);
  t.same(problems(authorizationPolicy({ selector: { matchLabels: { '': 'x' } } })), [
    ['spec.selector.matchLabels[""]', 'label keys must not be empty'],
  ]);
});

t.test(
  'a DENY policy without rules is refused, with an empty rule it denies everything',
  async (t) => {
    const reason =
      'DENY action without rules is meaningless as it will never be triggered; add an empty rule {} to apply it to every request';
    t.same(problems(authorizationPolicy({ action: 'DENY' })), [['spec.rules', reason]]);
    // Istio cannot tell an empty list from no list.
    t.same(problems(authorizationPolicy({ action: 'DENY', rules: [] })), [['spec.rules', reason]]);
    t.same(problems(authorizationPolicy({ action: 'DENY', rules: [{}] })), []);
  },
);

t.test('ALLOW and AUDIT policies without rules are accepted, as Istio accepts them', async (t) => {
  // An ALLOW policy without rules matches nothing, so it denies every request it selects.
  t.same(problems(authorizationPolicy({ action: 'ALLOW' })), []);
  t.same(problems(authorizationPolicy({ action: 'AUDIT' })), []);
});

t.test('a CUSTOM policy needs rules and a provider name', async (t) => {
  const provider = { name: 'ext-authz' };
  t.same(
    problems(
      authorizationPolicy({
        action: 'CUSTOM',
        provider,
        rules: [{ to: [{ operation: { paths: ['/admin'] } }] }],
      }),
    ),
    [],
  );
  t.same(problems(authorizationPolicy({ action: 'CUSTOM', provider })), [
    [
      'spec.rules',
      'CUSTOM action without rules is meaningless as it will never be triggered; add an empty rule {} to apply it to every request',
    ],
  ]);
  t.same(problems(authorizationPolicy({ action: 'CUSTOM', rules: [{}] })), [
    ['spec.provider.name', 'must be set for action CUSTOM'],
  ]);
  t.same(problems(authorizationPolicy({ action: 'CUSTOM', provider: {}, rules: [{}] })), [
    ['spec.provider.name', 'must be set for action CUSTOM'],
  ]);
});

t.test('a provider is only for the CUSTOM action', async (t) => {
  t.same(
    problems(authorizationPolicy({ action: 'DENY', provider: { name: 'ext-authz' }, rules: [{}] })),
    [['spec.provider', 'must not be set with action DENY; only CUSTOM takes a provider']],
  );
  t.same(problems(authorizationPolicy({ provider: { name: 'ext-authz' } })), [
    ['spec.provider', 'must not be set with action ALLOW; only CUSTOM takes a provider'],
  ]);
});

t.test('a CUSTOM policy cannot match on peer or request identities', async (t) => {
  const base = { action: 'CUSTOM', provider: { name: 'ext-authz' } };
  t.same(
    problems(
      authorizationPolicy({
        ...base,
        rules: [
          {
            from: [{ source: { ipBlocks: ['10.0.0.0/8'] } }],
            when: [{ key: 'request.headers[x-user]', values: ['a'] }],
          },
        ],
      }),
    ),
    [],
  );
  t.same(
    problems(
      authorizationPolicy({
        ...base,
        rules: [{ from: [{ source: { namespaces: ['bookinfo'], requestPrincipals: ['*'] } }] }],
      }),
    ),
    [
      ['spec.rules[0].from[0].source.requestPrincipals', 'is not supported with action CUSTOM'],
      ['spec.rules[0].from[0].source.namespaces', 'is not supported with action CUSTOM'],
    ],
  );
  t.same(
    problems(
      authorizationPolicy({
        ...base,
        rules: [{ when: [{ key: 'request.auth.claims[iss]', values: ['x'] }] }],
      }),
    ),
    [['spec.rules[0].when[0].key', 'request.auth.claims[iss] is not supported with action CUSTOM']],
  );
});

t.test('an empty from or to list is refused', async (t) => {
  t.same(problems(authorizationPolicy({ rules: [{ from: [] }] })), [
    ['spec.rules[0].from', 'must not be empty'],
  ]);
  t.same(problems(authorizationPolicy({ rules: [{ to: [] }] })), [
    ['spec.rules[0].to', 'must not be empty'],
  ]);
  t.same(problems(authorizationPolicy({ rules: [fromPrincipal] })), []);
});

t.test('a from entry needs a source and a to entry needs an operation', async (t) => {
  t.same(problems(authorizationPolicy({ rules: [{ from: [{}] }] })), [
    ['spec.rules[0].from[0].source', 'is required'],
  ]);
  t.same(problems(authorizationPolicy({ rules: [{ to: [{}] }] })), [
    ['spec.rules[0].to[0].operation', 'is required'],
  ]);
});

t.test('an empty source or operation is refused', async (t) => {
  t.same(problems(authorizationPolicy({ rules: [{ from: [{ source: {} }] }] })), [
    [
      'spec.rules[0].from[0].source',
      'must not be empty: set at least one field, or leave out the from entry',
    ],
  ]);
  t.same(problems(authorizationPolicy({ rules: [{ from: [{ source: { principals: [] } }] }] })), [
    [
      'spec.rules[0].from[0].source',
      'must not be empty: set at least one field, or leave out the from entry',
    ],
  ]);
  t.same(problems(authorizationPolicy({ rules: [{ to: [{ operation: {} }] }] })), [
    [
      'spec.rules[0].to[0].operation',
      'must not be empty: set at least one field, or leave out the to entry',
    ],
  ]);
  t.same(
    problems(authorizationPolicy({ rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })),
    [],
  );
});

t.test('empty strings are refused in match lists', async (t) => {
  t.same(
    problems(authorizationPolicy({ rules: [{ from: [{ source: { principals: ['a', ''] } }] }] })),
    [['spec.rules[0].from[0].source.principals[1]', 'must not be empty']],
  );
  t.same(problems(authorizationPolicy({ rules: [{ to: [{ operation: { notHosts: [''] } }] }] })), [
    ['spec.rules[0].to[0].operation.notHosts[0]', 'must not be empty'],
  ]);
});

t.test('serviceAccounts cannot be combined with principals or namespaces', async (t) => {
  t.same(
    problems(
      authorizationPolicy({
        rules: [
          {
            from: [
              { source: { serviceAccounts: ['bookinfo/productpage'], ipBlocks: ['10.0.0.1'] } },
            ],
          },
        ],
      }),
    ),
    [],
  );
  t.same(
    problems(
      authorizationPolicy({
        rules: [
          { from: [{ source: { serviceAccounts: ['productpage'], namespaces: ['bookinfo'] } }] },
        ],
      }),
    ),
    [
      [
        'spec.rules[0].from[0].source.serviceAccounts',
        'cannot be set together with principals, notPrincipals, namespaces or notNamespaces',
      ],
    ],
  );
  t.same(
    problems(
      authorizationPolicy({
        rules: [
          { from: [{ source: { notServiceAccounts: ['productpage'], notPrincipals: ['x'] } }] },
        ],
      }),
    ),
    [
      [
        'spec.rules[0].from[0].source.notServiceAccounts',
        'cannot be set together with principals, notPrincipals, namespaces or notNamespaces',
      ],
    ],
  );
});

t.test('a service account is "name" or "namespace/name", at most 16 of them', async (t) => {
  const rule = (serviceAccounts: string[]) => ({
    rules: [{ from: [{ source: { serviceAccounts } }] }],
  });
  t.same(problems(authorizationPolicy(rule(['productpage', 'bookinfo/reviews']))), []);
  t.same(problems(authorizationPolicy(rule(['a/b/c']))), [
    [
      'spec.rules[0].from[0].source.serviceAccounts[0]',
      'expected "serviceAccount" or "namespace/serviceAccount", found "a/b/c"',
    ],
  ]);
  t.same(problems(authorizationPolicy(rule(['bookinfo/']))), [
    [
      'spec.rules[0].from[0].source.serviceAccounts[0]',
      'expected "serviceAccount" or "namespace/serviceAccount", found "bookinfo/"',
    ],
  ]);
  t.same(problems(authorizationPolicy(rule(['bookinfo/*']))), [
    [
      'spec.rules[0].from[0].source.serviceAccounts[0]',
      'wildcards are not allowed in service accounts',
    ],
  ]);
  t.same(problems(authorizationPolicy(rule(Array.from({ length: 17 }, (_, i) => `sa${i}`)))), [
    ['spec.rules[0].from[0].source.serviceAccounts', 'must have at most 16 items'],
  ]);
});

t.test('IP blocks are addresses or CIDR ranges', async (t) => {
  const rule = (source: object) => ({ rules: [{ from: [{ source }] }] });
  t.same(
    problems(
      authorizationPolicy(
        rule({
          ipBlocks: ['10.1.2.3', '10.0.0.0/16', '2001:db8::/32'],
          notRemoteIpBlocks: ['::1'],
        }),
      ),
    ),
    [],
  );
  t.same(problems(authorizationPolicy(rule({ ipBlocks: ['10.1.2'] }))), [
    ['spec.rules[0].from[0].source.ipBlocks[0]', 'bad IP address "10.1.2"'],
  ]);
  t.same(problems(authorizationPolicy(rule({ remoteIpBlocks: ['10.0.0.0/33'] }))), [
    ['spec.rules[0].from[0].source.remoteIpBlocks[0]', 'bad CIDR range "10.0.0.0/33"'],
  ]);
});

t.test('operation ports are numbers from 1 to 65535', async (t) => {
  const rule = (operation: object) => ({ rules: [{ to: [{ operation }] }] });
  t.same(problems(authorizationPolicy(rule({ ports: ['1', '9080', '65535'] }))), []);
  t.same(problems(authorizationPolicy(rule({ ports: ['0'], notPorts: ['65536', 'http'] }))), [
    [
      'spec.rules[0].to[0].operation.ports[0]',
      'bad port "0": must be a number between 1 and 65535',
    ],
    [
      'spec.rules[0].to[0].operation.notPorts[0]',
      'bad port "65536": must be a number between 1 and 65535',
    ],
    [
      'spec.rules[0].to[0].operation.notPorts[1]',
      'bad port "http": must be a number between 1 and 65535',
    ],
  ]);
});

t.test('paths use {*} and {**} templates only as whole segments, {**} last', async (t) => {
  const rule = (paths: string[]) => ({ rules: [{ to: [{ operation: { paths } }] }] });
  t.same(
    problems(
      authorizationPolicy(rule(['/api/{*}/reviews', '/static/{**}', '/v1/{**}/info', '/plain*'])),
    ),
    [],
  );
  t.same(problems(authorizationPolicy(rule(['/a/{**}/{*}']))), [
    [
      'spec.rules[0].to[0].operation.paths[0]',
      'invalid path "/a/{**}/{*}": {**} must be the last operator',
    ],
  ]);
  t.same(problems(authorizationPolicy(rule(['/a/{id}']))), [
    [
      'spec.rules[0].to[0].operation.paths[0]',
      'invalid path "/a/{id}": "{" and "}" are allowed only in {*} and {**}',
    ],
  ]);
  t.same(problems(authorizationPolicy(rule(['/a b/{*}']))), [
    [
      'spec.rules[0].to[0].operation.paths[0]',
      'invalid path "/a b/{*}": segment "a b" is not a valid literal',
    ],
  ]);
});

t.test('trust domains take one leading or trailing wildcard and no slash', async (t) => {
  const rule = (trustDomains: string[]) => ({ rules: [{ from: [{ source: { trustDomains } }] }] });
  t.same(problems(authorizationPolicy(rule(['cluster.local', '*.example.com', 'td-*']))), []);
  t.same(problems(authorizationPolicy(rule(['a*b']))), [
    [
      'spec.rules[0].from[0].source.trustDomains[0]',
      'a wildcard is allowed only at the start or the end, found "a*b"',
    ],
  ]);
  t.same(problems(authorizationPolicy(rule(['td/x']))), [
    [
      'spec.rules[0].from[0].source.trustDomains[0]',
      'trust domains must not contain "/", found "td/x"',
    ],
  ]);
});

t.test('every attribute Istio knows is accepted as a when key', async (t) => {
  const when = [
    { key: 'request.headers[User-Agent]', values: ['curl/*'] },
    { key: 'source.ip', values: ['10.0.0.0/8'] },
    { key: 'remote.ip', notValues: ['192.168.1.1'] },
    { key: 'source.namespace', values: ['bookinfo'] },
    { key: 'source.serviceAccount', values: ['bookinfo/productpage'] },
    { key: 'source.principal', values: ['cluster.local/ns/bookinfo/sa/productpage'] },
    { key: 'source.trustDomain', values: ['cluster.*'] },
    { key: 'request.auth.principal', values: ['issuer/subject'] },
    { key: 'request.auth.audiences', values: ['bookinfo'] },
    { key: 'request.auth.presenter', values: ['app'] },
    { key: 'request.auth.claims[groups]', values: ['admin'] },
    { key: 'destination.ip', values: ['10.0.0.1'] },
    { key: 'destination.port', values: ['9080'] },
    { key: 'connection.sni', values: ['reviews.bookinfo.svc.cluster.local'] },
    { key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] },
  ];
  t.same(problems(authorizationPolicy({ rules: [{ when }] })), []);
});

t.test('an unknown when key is refused', async (t) => {
  t.same(
    problems(
      authorizationPolicy({ rules: [{ when: [{ key: 'request.header[x]', values: ['a'] }] }] }),
    ),
    [
      [
        'spec.rules[0].when[0].key',
        'unknown attribute "request.header[x]"; use one of request.headers[<name>], source.ip, remote.ip, ' +
          'source.namespace, source.serviceAccount, source.principal, source.trustDomain, request.auth.principal, ' +
          'request.auth.audiences, request.auth.presenter, request.auth.claims[<name>], destination.ip, ' +
          'destination.port, connection.sni, experimental.envoy.filters.*[<name>]',
      ],
    ],
  );
});

t.test('retired when keys say what replaced them', async (t) => {
  const key = (k: string) =>
    problems(authorizationPolicy({ rules: [{ when: [{ key: k, values: ['x'] }] }] }));
  t.same(key('destination.namespace'), [
    [
      'spec.rules[0].when[0].key',
      'attribute destination.namespace is replaced by the policy namespace (metadata.namespace)',
    ],
  ]);
  t.same(key('destination.labels[app]'), [
    [
      'spec.rules[0].when[0].key',
      'attribute destination.labels[app] is replaced by the workload selector',
    ],
  ]);
  t.same(key('destination.user'), [
    [
      'spec.rules[0].when[0].key',
      'attribute destination.user is deprecated: only supported in v1alpha1',
    ],
  ]);
});

t.test('an indexed when key needs a name in brackets', async (t) => {
  t.same(
    problems(
      authorizationPolicy({ rules: [{ when: [{ key: 'request.headers[]', values: ['a'] }] }] }),
    ),
    [
      [
        'spec.rules[0].when[0].key',
        'bad key "request.headers[]": should have the form request.headers[<name>]',
      ],
    ],
  );
  t.same(
    problems(
      authorizationPolicy({ rules: [{ when: [{ key: 'request.auth.claims', values: ['a'] }] }] }),
    ),
    [
      [
        'spec.rules[0].when[0].key',
        'bad key "request.auth.claims": should have the form request.auth.claims[<name>]',
      ],
    ],
  );
});

t.test('a when condition needs values or notValues', async (t) => {
  t.same(
    problems(
      authorizationPolicy({
        rules: [{ when: [{ key: 'source.namespace', notValues: ['test'] }] }],
      }),
    ),
    [],
  );
  t.same(problems(authorizationPolicy({ rules: [{ when: [{ key: 'source.namespace' }] }] })), [
    [
      'spec.rules[0].when[0]',
      'at least one of values or notValues must be set for key source.namespace',
    ],
  ]);
  t.same(problems(authorizationPolicy({ rules: [{ when: [{ key: '', values: ['a'] }] }] })), [
    ['spec.rules[0].when[0].key', 'must not be empty'],
  ]);
});

t.test('when values must suit their key', async (t) => {
  const when = (key: string, values: string[], field = 'values') =>
    problems(authorizationPolicy({ rules: [{ when: [{ key, [field]: values }] }] }));
  t.same(when('source.ip', ['10.0.0.300']), [
    ['spec.rules[0].when[0].values[0]', 'bad IP address "10.0.0.300"'],
  ]);
  t.same(when('destination.ip', ['10.0.0.0/40'], 'notValues'), [
    ['spec.rules[0].when[0].notValues[0]', 'bad CIDR range "10.0.0.0/40"'],
  ]);
  t.same(when('destination.port', ['0']), [
    ['spec.rules[0].when[0].values[0]', 'bad port "0": must be a number between 1 and 65535'],
  ]);
  t.same(when('source.serviceAccount', ['a/b/c']), [
    [
      'spec.rules[0].when[0].values[0]',
      'expected "serviceAccount" or "namespace/serviceAccount", found "a/b/c"',
    ],
  ]);
  t.same(when('source.trustDomain', ['**']), [
    ['spec.rules[0].when[0].values[0]', 'at most one wildcard is allowed, found "**"'],
  ]);
  t.same(when('source.principal', ['']), [
    ['spec.rules[0].when[0].values[0]', 'must not be empty'],
  ]);
});

t.test('a PeerAuthentication sets a mode for the namespace', async (t) => {
  const s = spec<PeerAuthenticationSpec>(peerAuthentication({ mtls: { mode: 'STRICT' } }));
  t.same(s, { mtls: { mode: 'STRICT' } });
  t.same(problems(peerAuthentication({ mtls: { mode: 'REQUIRED' } })), [
    ['spec.mtls.mode', 'must be one of UNSET, DISABLE, PERMISSIVE, STRICT'],
  ]);
});

t.test('port-level mTLS needs a selector with labels', async (t) => {
  const portLevelMtls = { '8080': { mode: 'DISABLE' } };
  const s = spec<PeerAuthenticationSpec>(
    peerAuthentication({ selector: { matchLabels: { app: 'reviews' } }, portLevelMtls }),
  );
  t.same(s.portLevelMtls, portLevelMtls);
  const reason =
    'requires a selector with matchLabels: a mesh-wide or namespace-wide policy cannot have port-level mTLS';
  t.same(problems(peerAuthentication({ portLevelMtls })), [['spec.portLevelMtls', reason]]);
  t.same(problems(peerAuthentication({ selector: { matchLabels: {} }, portLevelMtls })), [
    ['spec.portLevelMtls', reason],
  ]);
});

t.test('port-level mTLS keys are ports from 1 to 65535, at least one', async (t) => {
  const selector = { matchLabels: { app: 'reviews' } };
  t.same(
    problems(
      peerAuthentication({ selector, portLevelMtls: { '1': { mode: 'STRICT' }, '65535': {} } }),
    ),
    [],
  );
  t.same(
    problems(
      peerAuthentication({
        selector,
        portLevelMtls: { '0': { mode: 'STRICT' }, '65536': {}, http: {} },
      }),
    ),
    [
      ['spec.portLevelMtls["0"]', 'must be a port number between 1 and 65535'],
      ['spec.portLevelMtls["65536"]', 'must be a port number between 1 and 65535'],
      ['spec.portLevelMtls.http', 'must be a port number between 1 and 65535'],
    ],
  );
  t.same(problems(peerAuthentication({ selector, portLevelMtls: {} })), [
    ['spec.portLevelMtls', 'must have at least one port when set'],
  ]);
});

t.test('a PeerAuthentication selector takes no wildcards', async (t) => {
  t.same(problems(peerAuthentication({ selector: { matchLabels: { 'app*': 'reviews' } } })), [
    ['spec.selector.matchLabels["app*"]', 'wildcards are not allowed in selectors'],
  ]);
});
