import t from 'tap';
import { compile, configOf, service } from './testing/mesh.js';

// Which AuthorizationPolicies and RequestAuthentications a waypoint enforces for a service
// (Istio ambient: bound with targetRef(s) only), and what they become.

function policy(name: string, spec: string, namespace = 'shop', annotations = ''): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${namespace}${annotations} }
spec:
${spec}`;
}

const toWaypoint = `  targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: waypoint }]`;
const allowAll = `  rules: [{}]`;

const policiesOf = (...docs: string[]) =>
  (
    configOf(
      compile(service('reviews'), service('ratings', undefined, '10.96.0.11'), ...docs),
      'reviews',
    ).policies ?? []
  ).map((p) => p.name);

t.test('a policy on the waypoint Gateway applies to every service through it', async (t) => {
  const compiled = compile(
    service('reviews'),
    service('ratings', undefined, '10.96.0.11'),
    policy('gw', `${toWaypoint}\n${allowAll}`),
  );
  t.same(
    configOf(compiled, 'reviews').policies?.map((p) => p.name),
    ['shop/gw'],
  );
  t.same(
    configOf(compiled, 'ratings').policies?.map((p) => p.name),
    ['shop/gw'],
  );
});

t.test('a policy on a Service applies to that service only', async (t) => {
  const compiled = compile(
    service('reviews'),
    service('ratings', undefined, '10.96.0.11'),
    policy('svc', `  targetRefs: [{ kind: Service, group: "", name: reviews }]\n${allowAll}`),
  );
  t.same(
    configOf(compiled, 'reviews').policies?.map((p) => p.name),
    ['shop/svc'],
  );
  t.equal(configOf(compiled, 'ratings').policies, undefined);
});

t.test('the singular targetRef binds too', async (t) => {
  t.same(
    policiesOf(
      policy('one', `  targetRef: { kind: Service, group: "", name: reviews }\n${allowAll}`),
    ),
    ['shop/one'],
  );
});

t.test(
  'selector and namespace-wide policies are the node tunnel’s, not the waypoint’s',
  async (t) => {
    t.same(
      policiesOf(policy('sel', `  selector: { matchLabels: { app: reviews } }\n${allowAll}`)),
      [],
    );
    t.same(policiesOf(policy('ns', allowAll)), []);
  },
);

t.test('a Gateway in another namespace, or another waypoint, does not bind', async (t) => {
  t.same(policiesOf(policy('elsewhere', `${toWaypoint}\n${allowAll}`, 'other')), []);
  t.same(
    policiesOf(
      policy(
        'other-gw',
        `  targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: other }]\n${allowAll}`,
      ),
    ),
    [],
  );
});

t.test(
  'the root namespace binds every waypoint through the istio-waypoint GatewayClass',
  async (t) => {
    const mesh = policy(
      'mesh',
      `  targetRefs: [{ kind: GatewayClass, group: gateway.networking.k8s.io, name: istio-waypoint }]\n${allowAll}`,
      'istio-system',
    );
    t.same(policiesOf(mesh), ['istio-system/mesh']);
    t.same(policiesOf(mesh.replace('namespace: istio-system', 'namespace: shop')), []);
  },
);

t.test('dry-run policies are left out', async (t) => {
  t.same(
    policiesOf(
      policy(
        'dry',
        `${toWaypoint}\n${allowAll}`,
        'shop',
        `, annotations: { istio.io/dry-run: "true" }`,
      ),
    ),
    [],
  );
});

t.test('rules keep Istio’s shape; service accounts become principal patterns', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      policy(
        'rules',
        `${toWaypoint}
  action: ALLOW
  rules:
  - from: [{ source: { serviceAccounts: [client, other/sa] } }]
    to: [{ operation: { methods: [GET], ports: ["9080"], paths: ["/api/*"] } }]
    when:
    - { key: "request.headers[x-user]", values: [alice] }
    - { key: source.serviceAccount, notValues: [bad] }`,
      ),
    ),
    'reviews',
  );
  t.same(config.policies, [
    {
      name: 'shop/rules',
      action: 'ALLOW',
      rules: [
        {
          from: [{ principals: ['*/ns/shop/sa/client', '*/ns/other/sa/sa'] }],
          to: [{ methods: ['GET'], ports: [9080], paths: ['/api/*'] }],
          when: [
            { key: 'request.headers[x-user]', values: ['alice'] },
            { key: 'source.principal', notValues: ['*/ns/shop/sa/bad'] },
          ],
        },
      ],
    },
  ]);
});

t.test(
  'an attribute the waypoint cannot check drops an ALLOW rule and widens a DENY',
  async (t) => {
    const when = `
  rules:
  - to: [{ operation: { paths: [/admin] } }]
    when: [{ key: "experimental.envoy.filters.network.mysql_proxy[db.table]", values: [x] }]`;
    const allow = configOf(
      compile(service('reviews'), policy('a', `${toWaypoint}\n  action: ALLOW${when}`)),
      'reviews',
    );
    t.same(allow.policies?.[0]?.rules, []);
    const deny = configOf(
      compile(service('reviews'), policy('d', `${toWaypoint}\n  action: DENY${when}`)),
      'reviews',
    );
    t.same(deny.policies?.[0]?.rules, [{ to: [{ paths: ['/admin'] }] }]);
  },
);

t.test('RequestAuthentication JWT rules bound the same way', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: shop }
spec:
${toWaypoint}
  jwtRules:
  - issuer: https://issuer.example
    jwksUri: https://issuer.example/jwks
    audiences: [api]
    outputPayloadToHeader: x-jwt
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: workload-only, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews } }
  jwtRules: [{ issuer: https://other }]`,
    ),
    'reviews',
  );
  t.same(config.jwtRules, [
    {
      policy: 'shop/jwt',
      issuer: 'https://issuer.example',
      forwardOriginalToken: false,
      audiences: ['api'],
      jwksUri: 'https://issuer.example/jwks',
      outputPayloadToHeader: 'x-jwt',
    },
  ]);
});

t.test('a policy on a ServiceEntry applies to its hosts at the waypoint', async (t) => {
  const compiled = compile(
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: external, namespace: shop }
spec:
  hosts: [api.example.com]
  addresses: [240.0.0.1]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 10.2.0.1 }]`,
    policy(
      'se',
      `  targetRefs: [{ kind: ServiceEntry, group: networking.istio.io, name: external }]\n${allowAll}`,
    ),
  );
  const config = compiled.services.get('shop/api.example.com');
  t.same(
    config?.policies?.map((p) => p.name),
    ['shop/se'],
  );
});
