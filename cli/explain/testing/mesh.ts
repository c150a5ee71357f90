/**
 * Config for explain tests: namespace `shop` in the ambient mesh with its waypoint
 * (`shop/waypoint`, pod 10.0.0.100 on node-1), a client pod, `reviews` (pods v1, v2, with
 * subsets), and `secure` (pod 10.0.0.30) opted out of the waypoint; plus whatever a test adds,
 * served as the control plane would serve it.
 */
import { parseResources } from '../../../api/resources/index.js';
import { AmbientIndex } from '../../../controlplane/ambient/index.js';
import { silentLogger } from '../../../core/telemetry/log.js';
import { DEFAULT_SERVED_OPTIONS, servedFromIndex, type ServedConfig } from '../served.js';

function pod(name: string, labels: string, ip: string, sa: string, ns = 'shop'): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: { ${labels} } }
spec: { serviceAccountName: ${sa}, nodeName: node-1, containers: [{ name: app }] }
status: { phase: Running, podIP: ${ip}, conditions: [{ type: Ready, status: "True" }] }`;
}

export const BASE = [
  `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: { istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint }
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
metadata: { name: waypoint, namespace: shop, labels: { gateway.networking.k8s.io/gateway-name: waypoint, gateway.istio.io/managed: istio.io-mesh-controller } }
spec:
  clusterIP: 10.96.0.2
  selector: { gateway.networking.k8s.io/gateway-name: waypoint }
  ports: [{ name: mesh, port: 15008 }]
---
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec: { clusterIP: 10.96.0.10, selector: { app: reviews }, ports: [{ name: http, port: 9080, targetPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: secure, namespace: shop, labels: { istio.io/use-waypoint: none } }
spec: { clusterIP: 10.96.0.30, selector: { app: secure }, ports: [{ name: http, port: 9080, targetPort: 8080 }] }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]`,
  pod(
    'waypoint-0',
    'gateway.networking.k8s.io/gateway-name: waypoint, gateway.istio.io/managed: istio.io-mesh-controller, istio.io/dataplane-mode: none',
    '10.0.0.100',
    'waypoint',
  ),
  pod('client', 'app: client', '10.0.0.5', 'client'),
  pod('reviews-v1', 'app: reviews, version: v1', '10.0.0.11', 'reviews'),
  pod('reviews-v2', 'app: reviews, version: v2', '10.0.0.12', 'reviews'),
  pod('secure-0', 'app: secure', '10.0.0.30', 'secure'),
];

export function served(...documents: string[]): ServedConfig {
  const { resources, errors } = parseResources(
    [...BASE, ...documents].join('\n---\n'),
    'test.yaml',
  );
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  const index = new AmbientIndex({ logger: silentLogger(), ...DEFAULT_SERVED_OPTIONS });
  index.updateFromResources(resources);
  return servedFromIndex(index, DEFAULT_SERVED_OPTIONS);
}

/** A VirtualService for `reviews` with these HTTP routes (YAML flow). */
export function reviewsRoutes(http: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http: ${http}`;
}
