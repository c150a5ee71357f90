import t from 'tap';
import { toJson } from '@bufbuild/protobuf';
import { AuthorizationSchema, Scope } from '../../api/gen/istio/security/authorization_pb.js';
import { parseResources, type AuthorizationPolicyResource } from '../../api/resources/index.js';
import { convertAuthorizationPolicy, type AuthorizationConversion } from './authorization.js';

const options = { rootNamespace: 'istio-system' };

function loadPolicy(yaml: string): AuthorizationPolicyResource {
  const { resources, errors } = parseResources(yaml, 'policy.yaml');
  const [first] = errors;
  if (first !== undefined) throw first;
  const [policy] = resources;
  if (policy?.type !== 'AuthorizationPolicy') throw new Error('expected one AuthorizationPolicy');
  return policy;
}

function convert(yaml: string): AuthorizationConversion {
  return convertAuthorizationPolicy(loadPolicy(yaml), options);
}

/** The policy as proto3 JSON: default values (scope GLOBAL, action ALLOW, empty lists) are omitted. */
function wire(yaml: string): unknown {
  const { authorization } = convert(yaml);
  return authorization && toJson(AuthorizationSchema, authorization);
}

t.test(
  'an ALLOW policy turns each rule into a Group of to, from and when Rules, in that order',
  async (t) => {
    t.strictSame(
      wire(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-sleep, namespace: foo }
spec:
  action: ALLOW
  rules:
  - from:
    - source: { principals: [cluster.local/ns/foo/sa/sleep] }
    - source: { namespaces: [bar] }
    to:
    - operation: { ports: ["8080"] }
    when:
    - key: destination.port
      values: ["8080"]
`),
      {
        name: 'allow-sleep',
        namespace: 'foo',
        scope: 'NAMESPACE',
        groups: [
          {
            rules: [
              { matches: [{ destinationPorts: [8080] }] },
              {
                matches: [
                  { principals: [{ exact: 'cluster.local/ns/foo/sa/sleep' }] },
                  { namespaces: [{ exact: 'bar' }] },
                ],
              },
              { matches: [{ destinationPorts: [8080] }] },
            ],
          },
        ],
      },
    );
  },
);

t.test('a DENY policy keeps its rules with action DENY', async (t) => {
  t.strictSame(
    wire(`
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: { name: deny-bar, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source: { notNamespaces: [foo] }
  - to:
    - operation: { notPorts: ["9090"] }
`),
    {
      name: 'deny-bar',
      namespace: 'foo',
      scope: 'NAMESPACE',
      action: 'DENY',
      groups: [
        { rules: [{ matches: [{ notNamespaces: [{ exact: 'foo' }] }] }] },
        { rules: [{ matches: [{ notDestinationPorts: [9090] }] }] },
      ],
    },
  );
});

t.test('a selector-less policy in the root namespace is GLOBAL', async (t) => {
  const { authorization } = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: mesh-deny, namespace: istio-system }
spec:
  action: DENY
  rules:
  - from:
    - source: { ipBlocks: [203.0.113.0/24] }
`);
  t.equal(authorization?.scope, Scope.GLOBAL);
  // GLOBAL is the enum's zero value, so proto3 JSON leaves it out.
  t.strictSame(authorization && toJson(AuthorizationSchema, authorization), {
    name: 'mesh-deny',
    namespace: 'istio-system',
    action: 'DENY',
    groups: [{ rules: [{ matches: [{ sourceIps: [{ address: 'ywBxAA==', length: 24 }] }] }] }],
  });
});

t.test('a policy with a selector is WORKLOAD_SELECTOR, in the root namespace too', async (t) => {
  for (const namespace of ['foo', 'istio-system']) {
    t.strictSame(
      wire(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: ${namespace} }
spec:
  selector:
    matchLabels: { app: httpbin }
  rules:
  - from:
    - source: { namespaces: ["*"] }
`),
      {
        name: 'httpbin',
        namespace,
        scope: 'WORKLOAD_SELECTOR',
        groups: [{ rules: [{ matches: [{ namespaces: [{ presence: {} }] }] }] }],
      },
    );
  }
});

t.test('an ALLOW policy without rules is kept and matches nothing (allow-nothing)', async (t) => {
  t.strictSame(
    wire(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: foo }
spec: {}
`),
    { name: 'allow-nothing', namespace: 'foo', scope: 'NAMESPACE' },
  );
});

t.test('an empty rule becomes a Group without Rules, which matches every connection', async (t) => {
  t.strictSame(
    wire(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-all, namespace: foo }
spec:
  rules:
  - {}
`),
    { name: 'allow-all', namespace: 'foo', scope: 'NAMESPACE', groups: [{}] },
  );
});

t.test('an ALLOW rule with an L7 field is dropped, so it allows nothing', async (t) => {
  // Istio's handleRule drops the whole rule for ALLOW; the other rules stay.
  const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: get-only, namespace: foo }
spec:
  rules:
  - from:
    - source: { principals: [cluster.local/ns/foo/sa/sleep] }
    to:
    - operation: { methods: [GET], ports: ["80"] }
  - from:
    - source: { principals: [cluster.local/ns/foo/sa/admin] }
`);
  t.strictSame(conversion.authorization && toJson(AuthorizationSchema, conversion.authorization), {
    name: 'get-only',
    namespace: 'foo',
    scope: 'NAMESPACE',
    groups: [
      { rules: [{ matches: [{ principals: [{ exact: 'cluster.local/ns/foo/sa/admin' }] }] }] },
    ],
  });
  t.strictSame(conversion.l7Fields, ['methods']);
  t.match(conversion.notes, [
    /HTTP attributes \(found: methods\).*ALLOW rules using them were dropped/,
  ]);
});

t.test(
  'an ALLOW policy whose only rules use L7 fields stays, with no Groups: it denies everything',
  async (t) => {
    const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: jwt-only, namespace: foo }
spec:
  selector: { matchLabels: { app: api } }
  rules:
  - from:
    - source: { requestPrincipals: ["*"] }
  - when:
    - key: request.headers[x-token]
      values: [secret]
  - to:
    - operation: { paths: [/admin], hosts: [api.example.com] }
`);
    t.strictSame(
      conversion.authorization && toJson(AuthorizationSchema, conversion.authorization),
      {
        name: 'jwt-only',
        namespace: 'foo',
        scope: 'WORKLOAD_SELECTOR',
      },
    );
    t.strictSame(conversion.l7Fields, [
      'hosts',
      'paths',
      'request.headers[x-token]',
      'requestPrincipals',
    ]);
  },
);

t.test(
  'a DENY rule keeps its L4 part when L7 fields sit beside it in the same source',
  async (t) => {
    // Denies all of sleep's connections, more than the policy asked (Istio: "more restrictive").
    const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-sleep-jwt, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/foo/sa/sleep]
        notRequestPrincipals: ["*"]
        remoteIpBlocks: [10.0.0.0/8]
    to:
    - operation: { ports: ["8080"], methods: [DELETE] }
`);
    t.strictSame(
      conversion.authorization && toJson(AuthorizationSchema, conversion.authorization),
      {
        name: 'deny-sleep-jwt',
        namespace: 'foo',
        scope: 'NAMESPACE',
        action: 'DENY',
        groups: [
          {
            rules: [
              { matches: [{ destinationPorts: [8080] }] },
              { matches: [{ principals: [{ exact: 'cluster.local/ns/foo/sa/sleep' }] }] },
            ],
          },
        ],
      },
    );
    t.strictSame(conversion.l7Fields, ['methods', 'notRequestPrincipals', 'remoteIpBlocks']);
    t.match(conversion.notes, [
      /DENY rules are enforced without them, which denies more than asked/,
    ]);
  },
);

t.test(
  'DENY Rules left with only L7 fields hold an empty Match, so that Group never fires',
  async (t) => {
    // ztunnel skips empty matches (src/rbac.rs), so `to: methods` + `from: principals`
    // denies nothing at the node tunnel; Istio emits the empty match all the same.
    const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-delete, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source: { principals: [cluster.local/ns/foo/sa/sleep] }
    to:
    - operation: { methods: [DELETE] }
`);
    t.strictSame(
      conversion.authorization && toJson(AuthorizationSchema, conversion.authorization),
      {
        name: 'deny-delete',
        namespace: 'foo',
        scope: 'NAMESPACE',
        action: 'DENY',
        groups: [
          {
            rules: [
              { matches: [{}] },
              { matches: [{ principals: [{ exact: 'cluster.local/ns/foo/sa/sleep' }] }] },
            ],
          },
        ],
      },
    );
    t.match(conversion.notes, [/no DENY rule can match, so the policy has no effect here/]);
  },
);

t.test('a DENY rule with only L7 fields never fires at the node tunnel', async (t) => {
  const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-l7, namespace: foo }
spec:
  action: DENY
  rules:
  - from:
    - source: { requestPrincipals: [issuer/subject] }
    to:
    - operation: { paths: [/admin] }
    when:
    - key: request.auth.claims[group]
      values: [guests]
    - key: connection.sni
      values: [admin.example.com]
`);
  t.strictSame(conversion.authorization && toJson(AuthorizationSchema, conversion.authorization), {
    name: 'deny-l7',
    namespace: 'foo',
    scope: 'NAMESPACE',
    action: 'DENY',
    groups: [
      {
        rules: [{ matches: [{}] }, { matches: [{}] }, { matches: [{}] }, { matches: [{}] }],
      },
    ],
  });
  t.strictSame(conversion.l7Fields, [
    'connection.sni',
    'paths',
    'request.auth.claims[group]',
    'requestPrincipals',
  ]);
  t.match(conversion.notes, [/no DENY rule can match/]);
});

t.test('an L7-only DENY rule beside an L4 rule leaves the policy effective', async (t) => {
  const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: mixed, namespace: foo }
spec:
  action: DENY
  rules:
  - to:
    - operation: { methods: [POST] }
  - from:
    - source: { namespaces: [untrusted] }
`);
  t.strictSame(conversion.authorization && toJson(AuthorizationSchema, conversion.authorization), {
    name: 'mixed',
    namespace: 'foo',
    scope: 'NAMESPACE',
    action: 'DENY',
    groups: [
      { rules: [{ matches: [{}] }] },
      { rules: [{ matches: [{ namespaces: [{ exact: 'untrusted' }] }] }] },
    ],
  });
  t.match(conversion.notes, [/DENY rules are enforced without them/]);
});

t.test('L4 when keys become matches with values and notValues; other keys are L7', async (t) => {
  const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: conditions, namespace: foo }
spec:
  action: DENY
  rules:
  - when:
    - key: source.ip
      values: [10.0.0.1, 10.1.0.0/16]
      notValues: [10.1.2.3]
    - key: source.namespace
      values: [prod-*]
      notValues: [prod-legacy]
    - key: source.principal
      values: ["*/sa/admin"]
      notValues: [cluster.local/ns/foo/sa/admin]
    - key: destination.ip
      values: ["2001:db8::/32"]
      notValues: ["2001:db8::1"]
    - key: destination.port
      values: ["443", "8443"]
      notValues: ["8080"]
    - key: remote.ip
      values: [192.0.2.1]
    - key: source.serviceAccount
      values: [foo/sleep]
`);
  t.strictSame(conversion.authorization && toJson(AuthorizationSchema, conversion.authorization), {
    name: 'conditions',
    namespace: 'foo',
    scope: 'NAMESPACE',
    action: 'DENY',
    groups: [
      {
        rules: [
          {
            matches: [
              {
                sourceIps: [
                  { address: 'CgAAAQ==', length: 32 },
                  { address: 'CgEAAA==', length: 16 },
                ],
                notSourceIps: [{ address: 'CgECAw==', length: 32 }],
              },
            ],
          },
          {
            matches: [
              { namespaces: [{ prefix: 'prod-' }], notNamespaces: [{ exact: 'prod-legacy' }] },
            ],
          },
          {
            matches: [
              {
                principals: [{ suffix: '/sa/admin' }],
                notPrincipals: [{ exact: 'cluster.local/ns/foo/sa/admin' }],
              },
            ],
          },
          {
            matches: [
              {
                destinationIps: [{ address: 'IAENuAAAAAAAAAAAAAAAAA==', length: 32 }],
                notDestinationIps: [{ address: 'IAENuAAAAAAAAAAAAAAAAQ==', length: 128 }],
              },
            ],
          },
          { matches: [{ destinationPorts: [443, 8443], notDestinationPorts: [8080] }] },
          // remote.ip and source.serviceAccount are not among Istio's L4 `when` keys.
          { matches: [{}] },
          { matches: [{}] },
        ],
      },
    ],
  });
  t.strictSame(conversion.l7Fields, ['remote.ip', 'source.serviceAccount']);
});

t.test(
  'serviceAccounts become service account matches, bare names in the policy namespace',
  async (t) => {
    t.strictSame(
      wire(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: by-sa, namespace: foo }
spec:
  rules:
  - from:
    - source:
        serviceAccounts: [sleep, bar/curl]
        notServiceAccounts: [foo/legacy]
`),
      {
        name: 'by-sa',
        namespace: 'foo',
        scope: 'NAMESPACE',
        groups: [
          {
            rules: [
              {
                matches: [
                  {
                    serviceAccounts: [
                      { namespace: 'foo', serviceAccount: 'sleep' },
                      { namespace: 'bar', serviceAccount: 'curl' },
                    ],
                    notServiceAccounts: [{ namespace: 'foo', serviceAccount: 'legacy' }],
                  },
                ],
              },
            ],
          },
        ],
      },
    );
  },
);

t.test('principals and namespaces take exact, prefix, suffix and presence forms', async (t) => {
  t.strictSame(
    wire(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: forms, namespace: foo }
spec:
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/foo/sa/a, "cluster.local/ns/bar/*", "*/sa/b", "*"]
        notPrincipals: ["*"]
    - source:
        namespaces: [foo, "team-*", "*-prod", "*"]
        notNamespaces: [kube-system]
        ipBlocks: [192.0.2.7]
        notIpBlocks: ["2001:db8::/48"]
`),
    {
      name: 'forms',
      namespace: 'foo',
      scope: 'NAMESPACE',
      groups: [
        {
          rules: [
            {
              matches: [
                {
                  principals: [
                    { exact: 'cluster.local/ns/foo/sa/a' },
                    { prefix: 'cluster.local/ns/bar/' },
                    { suffix: '/sa/b' },
                    { presence: {} },
                  ],
                  notPrincipals: [{ presence: {} }],
                },
                {
                  namespaces: [
                    { exact: 'foo' },
                    { prefix: 'team-' },
                    { suffix: '-prod' },
                    { presence: {} },
                  ],
                  notNamespaces: [{ exact: 'kube-system' }],
                  sourceIps: [{ address: 'wAACBw==', length: 32 }],
                  notSourceIps: [{ address: 'IAENuAAAAAAAAAAAAAAAAA==', length: 48 }],
                },
              ],
            },
          ],
        },
      ],
    },
  );
});

t.test('deprecated trustDomains are not sent and do not count as L7', async (t) => {
  const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: td, namespace: foo }
spec:
  rules:
  - from:
    - source: { trustDomains: [example.org], namespaces: [foo] }
`);
  t.strictSame(conversion.authorization && toJson(AuthorizationSchema, conversion.authorization), {
    name: 'td',
    namespace: 'foo',
    scope: 'NAMESPACE',
    groups: [{ rules: [{ matches: [{ namespaces: [{ exact: 'foo' }] }] }] }],
  });
  t.strictSame(conversion.l7Fields, []);
  t.match(conversion.notes, [/as in Istio: trustDomains/]);
});

t.test(
  'a policy bound with targetRef or targetRefs is for a waypoint and not converted',
  async (t) => {
    for (const target of [
      'targetRef: { kind: Service, group: "", name: reviews }',
      'targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: waypoint }]',
    ]) {
      const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: waypoint-policy, namespace: foo }
spec:
  ${target}
  rules:
  - from:
    - source: { namespaces: [foo] }
`);
      t.equal(conversion.authorization, undefined, target);
      t.match(conversion.notes, [/targetRef/]);
    }
  },
);

t.test('AUDIT and CUSTOM policies are not enforced by the node tunnel', async (t) => {
  for (const spec of [
    'action: AUDIT\n  rules: [{}]',
    'action: CUSTOM\n  provider: { name: ext-authz }\n  rules: [{}]',
  ]) {
    const conversion = convert(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: other-action, namespace: foo }
spec:
  ${spec}
`);
    t.equal(conversion.authorization, undefined);
    t.match(conversion.notes, [/does not enforce the (AUDIT|CUSTOM) action/]);
  }
});

t.test('a dry-run policy is not sent to the node tunnel', async (t) => {
  const yaml = (value: string) => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: trial
  namespace: foo
  annotations: { istio.io/dry-run: "${value}" }
spec:
  action: DENY
  rules: [{}]
`;
  t.equal(convert(yaml('true')).authorization, undefined);
  t.match(convert(yaml('true')).notes, [/dry-run/]);
  // Istio parses the annotation with strconv.ParseBool; anything else is not a dry run.
  t.not(convert(yaml('false')).authorization, undefined);
  t.not(convert(yaml('yes')).authorization, undefined);
});
