import { stringify } from 'yaml';
import { registry } from '../../api/resources/registry.js';
import type { AnyResource } from '../../api/resources/index.js';
import { MeshError } from '../../core/errors.js';
import {
  PROXY_METRICS_PORT,
  WAYPOINT_HBONE_PORT,
  waypointArgs,
  ZTUNNEL_READINESS_PORT,
} from './components.js';
import type { LocalMesh, Progress } from './mesh.js';
import { getInNetns } from './netns-http.js';
import { parseAll } from './store.js';
import { isAlive } from './supervisor.js';
import { proxyToken } from './tokens.js';
import { waitUntil } from './wait.js';
import { deletePod, findPod, listPods, runPod, type PodRecord } from './workloads.js';

// Waypoints in the local mesh, as `istioctl waypoint` and Istio's deployer make them: the
// Gateway (class istio-waypoint, listener `mesh` 15008 HBONE), a Service and a pod running
// `ambit waypoint` with its own token, and optionally the namespace enrolled.

/** Labels Istio puts on a waypoint's objects (istio/api label definitions). */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
const GATEWAY_MANAGED_LABEL = 'gateway.istio.io/managed';
export const WAYPOINT_FOR_LABEL = 'istio.io/waypoint-for';
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
export const WAYPOINT_CLASS = 'istio-waypoint';

export type WaypointFor = 'service' | 'workload' | 'all' | 'none';

export class WaypointError extends MeshError {
  readonly code = 'AMBIT_WAYPOINT';
  constructor(
    readonly waypoint: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`waypoint ${waypoint}: ${reason}`, options);
  }
}

export interface WaypointSpec {
  namespace: string;
  /** Default `waypoint`, as `istioctl waypoint apply`. */
  name?: string;
  /** `istio.io/waypoint-for`; absent means Istio's default, service. */
  for?: WaypointFor;
  /** Label the namespace `istio.io/use-waypoint=<name>`. */
  enrollNamespace?: boolean;
  node?: string;
}

export interface WaypointStatus {
  namespace: string;
  name: string;
  for: string;
  /** The Service's VIP, when it has one. */
  address: string | undefined;
  node: string | undefined;
  /** Running and ready, running, or not running. */
  state: 'Ready' | 'NotReady' | 'NotRunning';
}

/** The Gateway `istioctl waypoint apply` writes. */
export function waypointGateway(spec: WaypointSpec): object {
  const name = spec.name ?? 'waypoint';
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: {
      name,
      namespace: spec.namespace,
      ...(spec.for === undefined ? {} : { labels: { [WAYPOINT_FOR_LABEL]: spec.for } }),
    },
    spec: {
      gatewayClassName: WAYPOINT_CLASS,
      listeners: [{ name: 'mesh', port: WAYPOINT_HBONE_PORT, protocol: 'HBONE' }],
    },
  };
}

/**
 * Writes the waypoint's objects and starts its process (unless it runs already); resolves
 * once it is ready, then enrolls the namespace when asked. Idempotent.
 */
export async function applyWaypoint(
  mesh: LocalMesh,
  spec: WaypointSpec,
  progress: Progress = () => undefined,
): Promise<WaypointStatus> {
  const name = spec.name ?? 'waypoint';
  const ref = `${spec.namespace}/${name}`;
  const namespace = await mesh.store.find(registry.byType('Namespace')!, '', spec.namespace);
  if (!namespace)
    throw new WaypointError(
      ref,
      `namespace ${spec.namespace} does not exist; create it first (\`ambit apply -f\` a Namespace)`,
    );
  const objects = parseAll([
    {
      file: `waypoint ${ref}`,
      text: [waypointGateway(spec), waypointService(spec.namespace, name)]
        .map((o) => stringify(o))
        .join('---\n'),
    },
  ]);
  for (const object of objects) await mesh.store.apply(object);

  const podName = `${name}-0`;
  const running = await findPod(mesh, spec.namespace, podName).catch(() => undefined);
  if (running?.process && !(await isAlive(running.process))) await deletePod(mesh, running);
  if (!running?.process || !(await isAlive(running.process))) {
    progress(`starting waypoint ${ref}`);
    const tokenFile = await proxyToken(mesh, `waypoint-${spec.namespace}-${name}`, {
      namespace: spec.namespace,
      serviceAccount: name,
    });
    const pod = await runPod(mesh, {
      namespace: spec.namespace,
      name: podName,
      labels: {
        [GATEWAY_NAME_LABEL]: name,
        [GATEWAY_MANAGED_LABEL]: 'istio.io-mesh-controller',
        // The waypoint terminates HBONE itself; the node tunnel must leave its pod alone.
        'istio.io/dataplane-mode': 'none',
      },
      serviceAccount: name,
      ...(spec.node ? { node: spec.node } : {}),
      ports: [
        { containerPort: WAYPOINT_HBONE_PORT, name: 'mesh' },
        { containerPort: PROXY_METRICS_PORT, name: 'metrics' },
        { containerPort: ZTUNNEL_READINESS_PORT, name: 'status-port' },
      ],
      command: [
        mesh.record.ambitBin,
        ...waypointArgs(
          { name, namespace: spec.namespace, serviceAccount: name },
          mesh.record.controlPlane,
          tokenFile,
        ),
      ],
      privileged: true,
    });
    try {
      await waitUntil(`waypoint ${ref}`, () => waypointReady(pod), {
        timeoutMs: 30_000,
        log: pod.log,
        alive: async () => pod.process !== undefined && (await isAlive(pod.process)),
      });
    } catch (err) {
      await deleteWaypointObjects(mesh, spec.namespace, name);
      throw err;
    }
  }
  if (spec.enrollNamespace)
    await labelNamespace(mesh, namespace.resource, { [USE_WAYPOINT_LABEL]: name });
  return (await waypointStatuses(mesh, spec.namespace)).find((w) => w.name === name)!;
}

/** Stops the waypoint and removes its objects; the namespace stops using it. */
export async function deleteWaypoint(
  mesh: LocalMesh,
  namespace: string,
  name = 'waypoint',
): Promise<boolean> {
  const gateway = await mesh.store.find(registry.byType('KubernetesGateway')!, namespace, name);
  const ns = await mesh.store.find(registry.byType('Namespace')!, '', namespace);
  if (ns?.resource.metadata.labels?.[USE_WAYPOINT_LABEL] === name)
    await labelNamespace(mesh, ns.resource, { [USE_WAYPOINT_LABEL]: null });
  const removed = await deleteWaypointObjects(mesh, namespace, name);
  return gateway !== undefined || removed;
}

async function deleteWaypointObjects(
  mesh: LocalMesh,
  namespace: string,
  name: string,
): Promise<boolean> {
  const pod = await findPod(mesh, namespace, `${name}-0`).catch(() => undefined);
  if (pod) await deletePod(mesh, pod);
  await mesh.store.delete(registry.byType('Service')!, namespace, name);
  return mesh.store.delete(registry.byType('KubernetesGateway')!, namespace, name);
}

/** Every waypoint Gateway in the store (in `namespace`, when given) with its process state. */
export async function waypointStatuses(
  mesh: LocalMesh,
  namespace?: string,
): Promise<WaypointStatus[]> {
  const objects = await mesh.store.list();
  const pods = await listPods(mesh);
  const out: WaypointStatus[] = [];
  for (const { resource } of objects) {
    if (resource.type !== 'KubernetesGateway') continue;
    const spec = resource.spec as { gatewayClassName?: string };
    const { name, namespace: ns = 'default' } = resource.metadata;
    if (spec.gatewayClassName !== WAYPOINT_CLASS || (namespace && ns !== namespace)) continue;
    const service = objects.find(
      (o) =>
        o.resource.type === 'Service' &&
        o.resource.metadata.name === name &&
        o.resource.metadata.namespace === ns,
    );
    const pod = pods.find((p) => p.namespace === ns && p.name === `${name}-0`);
    out.push({
      namespace: ns,
      name,
      for: resource.metadata.labels?.[WAYPOINT_FOR_LABEL] ?? 'service',
      address: (service?.resource.spec as { clusterIP?: string } | undefined)?.clusterIP,
      node: pod?.node,
      state: await podState(pod),
    });
  }
  return out;
}

async function podState(pod: PodRecord | undefined): Promise<WaypointStatus['state']> {
  if (!pod?.process || !(await isAlive(pod.process))) return 'NotRunning';
  return (await waypointReady(pod).catch(() => 'no answer')) === undefined ? 'Ready' : 'NotReady';
}

async function waypointReady(pod: PodRecord): Promise<string | undefined> {
  const reply = await getInNetns(
    pod.netnsPath,
    `http://127.0.0.1:${ZTUNNEL_READINESS_PORT}/healthz/ready`,
    1000,
  );
  return reply.status === 200 ? undefined : `/healthz/ready answered ${reply.status}`;
}

function waypointService(namespace: string, name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      labels: { [GATEWAY_NAME_LABEL]: name, [GATEWAY_MANAGED_LABEL]: 'istio.io-mesh-controller' },
    },
    spec: {
      selector: { [GATEWAY_NAME_LABEL]: name },
      ports: [
        {
          name: 'mesh',
          port: WAYPOINT_HBONE_PORT,
          targetPort: WAYPOINT_HBONE_PORT,
          protocol: 'TCP',
        },
        {
          name: 'status-port',
          port: ZTUNNEL_READINESS_PORT,
          targetPort: ZTUNNEL_READINESS_PORT,
          protocol: 'TCP',
        },
      ],
    },
  };
}

async function labelNamespace(
  mesh: LocalMesh,
  namespace: AnyResource,
  changes: Record<string, string | null>,
): Promise<void> {
  const labels = { ...(namespace.metadata.labels ?? {}) };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete labels[key];
    else labels[key] = value;
  }
  await mesh.store.apply({ ...namespace, metadata: { ...namespace.metadata, labels } });
}
