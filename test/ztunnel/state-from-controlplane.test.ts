import { create } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import t from 'tap';
import { parseResources } from '../../api/resources/index.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, type TypeUrl } from '../../api/xds/type-urls.js';
import { parseIdentity } from '../../core/identity/spiffe.js';
import { silentLogger } from '../../core/telemetry/log.js';
import type { ResourceDelta } from '../../core/xds/client.js';
import { AmbientIndex, type ResourceMap } from '../../controlplane/ambient/index.js';
import { authorize } from '../../ztunnel/authz/authorize.js';
import { resolveDestination } from '../../ztunnel/state/resolve.js';
import { ProxyState } from '../../ztunnel/state/state.js';

// The node tunnel's state fed by the real ambient index: config YAML → model → the encoded
// Address and Authorization resources the control plane serves → ProxyState. What the
// control plane's converters produce (names, STRICT as a DENY policy, L7 rules dropped) is
// what the node tunnel decides with.

const CONFIG = `
apiVersion: v1
kind: Namespace
metadata: { name: istio-system }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { istio.io/dataplane-mode: ambient } }
---
apiVersion: v1
kind: Namespace
metadata: { name: legacy }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-viewers, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules:
    - from: [{ source: { principals: [cluster.local/ns/shop/sa/bookinfo-productpage] } }]
      to: [{ operation: { ports: ["9080"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: get-from-legacy, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules:
    - from: [{ source: { namespaces: [legacy] } }]
      to: [{ operation: { methods: [GET] } }]
---
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec:
  selector: { app: reviews }
  clusterIP: 10.96.0.10
  ports: [{ name: http, port: 9080, targetPort: http-web }]
---
apiVersion: v1
kind: Service
metadata: { name: ratings, namespace: shop, labels: { istio.io/use-waypoint: waypoint } }
spec:
  selector: { app: ratings }
  clusterIP: 10.96.0.20
  ports: [{ name: http, port: 9080 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: shop }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
---
apiVersion: v1
kind: Service
metadata: { name: waypoint, namespace: shop }
spec:
  selector: { gateway.networking.k8s.io/gateway-name: waypoint }
  clusterIP: 10.96.0.99
  ports: [{ name: mesh, port: 15008 }]
${pod('shop', 'productpage-v1', '10.1.0.4', 'bookinfo-productpage', { app: 'productpage' })}
${pod('shop', 'reviews-v1', '10.1.0.5', 'bookinfo-reviews', { app: 'reviews' })}
${pod('shop', 'reviews-v2', '10.1.0.6', 'bookinfo-reviews', { app: 'reviews' }, false)}
${pod('shop', 'ratings-v1', '10.1.0.7', 'bookinfo-ratings', { app: 'ratings' })}
${pod('legacy', 'client', '10.1.0.50', 'default', { app: 'client' })}
`;

function pod(
  namespace: string,
  name: string,
  ip: string,
  serviceAccount: string,
  labels: Record<string, string>,
  ready = true,
): string {
  return `---
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${namespace}, labels: ${JSON.stringify(labels)} }
spec:
  nodeName: node-1
  serviceAccountName: ${serviceAccount}
  containers: [{ name: app, ports: [{ name: http-web, containerPort: 9080 }] }]
status:
  phase: Running
  podIP: ${ip}
  podIPs: [{ ip: ${ip} }]
  conditions: [{ type: Ready, status: '${ready ? 'True' : 'False'}' }]`;
}

/** A Delta xDS response holding every resource of one published set. */
function deltaOf(typeUrl: TypeUrl, resources: ResourceMap | undefined): ResourceDelta {
  const upserts = new Map(
    [...(resources ?? [])].map(([name, value]) => [
      name,
      { version: 'v1', resource: create(AnySchema, { typeUrl, value }) },
    ]),
  );
  return { upserts, removals: [] };
}

function meshState(): ProxyState {
  const { resources, errors } = parseResources(CONFIG, 'mesh.yaml');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  const published = new Map<TypeUrl, ResourceMap>();
  const index = new AmbientIndex({ logger: silentLogger() });
  index.subscribe((typeUrl, set) => published.set(typeUrl, set));
  index.updateFromResources(resources);
  const state = new ProxyState();
  state.applyAddresses(deltaOf(ADDRESS_TYPE_URL, published.get(ADDRESS_TYPE_URL)));
  state.applyAuthorizations(deltaOf(AUTHORIZATION_TYPE_URL, published.get(AUTHORIZATION_TYPE_URL)));
  return state;
}

const state = meshState();
const identity = (ns: string, sa: string) =>
  parseIdentity(`spiffe://cluster.local/ns/${ns}/sa/${sa}`);

t.test('a service VIP resolves to its ready pod on the resolved target port', async (t) => {
  const d = resolveDestination(state, { address: '10.96.0.10', port: 9080 }, () => 0);
  t.equal(d.kind, 'service');
  if (d.kind !== 'service' || d.endpoint === undefined) return;
  t.equal(d.endpoint.uid, 'Kubernetes//Pod/shop/reviews-v1', 'the unready pod is skipped');
  t.equal(d.port, 9080, 'the named target port http-web');
  t.equal(d.endpoint.identity, 'spiffe://cluster.local/ns/shop/sa/bookinfo-reviews');
});

t.test('a service bound to a waypoint resolves to the waypoint service VIP', async (t) => {
  const d = resolveDestination(state, { address: '10.96.0.20', port: 9080 });
  t.equal(d.kind, 'service');
  t.strictSame(d.kind === 'service' && d.waypoint, { address: '10.96.0.99', hboneMtlsPort: 15008 });
});

t.test('a pod outside the mesh is passthrough', async (t) => {
  t.equal(state.workloadByIp('10.1.0.50')?.protocol, 'NONE');
  t.strictSame(resolveDestination(state, { address: '10.1.0.50', port: 80 }), {
    kind: 'passthrough',
  });
});

t.test('mesh-wide STRICT and selector policies decide connections to reviews', async (t) => {
  const reviews = state.workloadByName('shop', 'reviews-v1');
  if (reviews === undefined) {
    t.fail('reviews-v1 is not in the state');
    return;
  }
  const policies = state.policiesFor(reviews);
  t.strictSame(policies.map((p) => p.key).sort(), [
    'istio-system/istio_converted_static_strict',
    'shop/get-from-legacy',
    'shop/reviews-viewers',
  ]);
  const to = { destinationIp: '10.1.0.5', destinationPort: 9080 };
  t.strictSame(
    authorize({ sourceIp: '10.1.0.50', ...to }, policies),
    {
      allowed: false,
      policy: 'istio-system/istio_converted_static_strict',
      reason: 'a DENY policy matched',
    },
    'plaintext is denied by STRICT',
  );
  t.strictSame(
    authorize(
      { sourceIdentity: identity('shop', 'bookinfo-productpage'), sourceIp: '10.1.0.4', ...to },
      policies,
    ),
    { allowed: true, policy: 'shop/reviews-viewers', reason: 'an ALLOW policy matched' },
  );
  t.equal(
    authorize(
      {
        sourceIdentity: identity('shop', 'bookinfo-productpage'),
        sourceIp: '10.1.0.4',
        destinationIp: '10.1.0.5',
        destinationPort: 9443,
      },
      policies,
    ).allowed,
    false,
    'the ALLOW rule is for port 9080 only',
  );
  t.strictSame(
    authorize(
      { sourceIdentity: identity('legacy', 'default'), sourceIp: '10.1.0.50', ...to },
      policies,
    ),
    { allowed: false, reason: 'no ALLOW policy matched' },
    'an ALLOW rule with HTTP methods is dropped at the node tunnel, so it allows nothing',
  );
});

t.test('a workload without ALLOW policies takes any mTLS peer but no plaintext', async (t) => {
  const productpage = state.workloadByName('shop', 'productpage-v1');
  if (productpage === undefined) {
    t.fail('productpage-v1 is not in the state');
    return;
  }
  const policies = state.policiesFor(productpage);
  const to = { destinationIp: '10.1.0.4', destinationPort: 9080 };
  t.notOk(authorize({ sourceIp: '10.1.0.50', ...to }, policies).allowed);
  t.ok(
    authorize(
      { sourceIdentity: identity('legacy', 'default'), sourceIp: '10.1.0.50', ...to },
      policies,
    ).allowed,
  );
});

t.test('the dump is JSON with addresses as text', async (t) => {
  const dump = JSON.parse(JSON.stringify(state.dump())) as {
    workloads: { uid: string; addresses: string[] }[];
    services: { key: string; vips: string[] }[];
    policies: { key: string }[];
  };
  t.ok(dump.workloads.some((w) => w.addresses.includes('10.1.0.5')));
  t.ok(
    dump.services.some(
      (s) => s.key === 'shop/reviews.shop.svc.cluster.local' && s.vips[0] === '10.96.0.10',
    ),
  );
  t.ok(dump.policies.some((p) => p.key === 'istio-system/istio_converted_static_strict'));
});
