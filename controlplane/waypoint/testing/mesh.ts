/**
 * Config for compiler tests: a namespace `shop` in the ambient mesh whose services use the
 * waypoint `shop/waypoint`, plus whatever a test adds, compiled as the control plane would.
 */
import { parseResources } from '../../../api/resources/index.js';
import type { WaypointService } from '../../../api/waypoint/config.js';
import { buildModel } from '../../model/mesh-model.js';
import { compileWaypointServices } from '../compile.js';
import type { CompiledWaypointServices } from '../compile.js';

export const WAYPOINT_NAMESPACE = `apiVersion: v1
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
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]`;

/** A Service in `shop` selecting `app: <name>`, port 9080 (named http) → 8080 unless given. */
export function service(
  name: string,
  ports = '[{ name: http, port: 9080, targetPort: 8080 }]',
  ip = '10.96.0.10',
): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: shop }
spec:
  clusterIP: ${ip}
  selector: { app: ${name} }
  ports: ${ports}`;
}

/** A ready pod in `shop` with service account `<app>`. */
export function pod(name: string, labels: string, ip: string, status = 'True'): string {
  const app = /app: ([a-z-]+)/.exec(labels)?.[1] ?? 'default';
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: shop, labels: { ${labels} } }
spec: { serviceAccountName: ${app}, containers: [{ name: app }] }
status: { phase: Running, podIP: ${ip}, conditions: [{ type: Ready, status: "${status}" }] }`;
}

export function compile(...documents: string[]): CompiledWaypointServices {
  const { resources, errors } = parseResources(
    [WAYPOINT_NAMESPACE, ...documents].join('\n---\n'),
    'test.yaml',
  );
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return compileWaypointServices(buildModel(resources), {
    trustDomain: 'cluster.local',
    rootNamespace: 'istio-system',
  });
}

/** The config of `shop/<name>`; throws when the compiler made none. */
export function configOf(compiled: CompiledWaypointServices, name: string): WaypointService {
  const config = compiled.services.get(`shop/${name}.shop.svc.cluster.local`);
  if (config === undefined) throw new Error(`no WaypointService for ${name}`);
  return config;
}
