import type { LocalMesh } from './mesh.js';
import { PROXY_ADMIN_PORT } from './components.js';
import { getInNetns } from './netns-http.js';
import { listPods } from './workloads.js';
import { GATEWAY_NAME_LABEL } from './waypoints.js';
import { MeshError } from '../../core/errors.js';

// The proxies of a local mesh and what they and the control plane say about them: ztunnel's
// /config_dump (in the node's namespace), the control plane's /debug/connections.

export class ProxyUnreachableError extends MeshError {
  readonly code = 'AMBIT_PROXY_UNREACHABLE';
  constructor(
    readonly proxy: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${proxy}: ${reason}; \`ambit local status\` shows whether it runs`, options);
  }
}

/** A proxy the mesh runs, and the node id it gives the control plane (`ztunnel~node-1`). */
export interface ProxyRef {
  readonly name: string;
  readonly type: 'ztunnel' | 'waypoint';
  readonly nodeId: string;
}

/**
 * The proxies the mesh started and expects on the control plane: a ztunnel per node and
 * each waypoint. Others (gateways) are found by what they tell the control plane.
 */
export async function meshProxies(mesh: LocalMesh): Promise<ProxyRef[]> {
  const proxies: ProxyRef[] = mesh.cluster.nodes.map((node) => ({
    name: `ztunnel/${node.name}`,
    type: 'ztunnel',
    nodeId: `ztunnel~${node.name}`,
  }));
  for (const pod of await listPods(mesh)) {
    const waypoint = pod.labels[GATEWAY_NAME_LABEL];
    if (waypoint === undefined || pod.labels['istio.io/dataplane-mode'] !== 'none') continue;
    proxies.push({
      name: `waypoint/${pod.namespace}/${waypoint}`,
      type: 'waypoint',
      nodeId: `waypoint~${waypoint}.${pod.namespace}`,
    });
  }
  return proxies;
}

/** ztunnel's `/config_dump` on each node (or the one named). */
export async function ztunnelDumps(
  mesh: LocalMesh,
  node?: string,
): Promise<{ node: string; dump: Record<string, unknown> }[]> {
  const nodes = mesh.cluster.nodes.filter((n) => node === undefined || n.name === node);
  if (nodes.length === 0)
    throw new ProxyUnreachableError(
      `node ${node}`,
      `no such node; nodes are ${mesh.cluster.nodes.map((n) => n.name).join(', ')}`,
    );
  return Promise.all(
    nodes.map(async (n) => {
      try {
        const reply = await getInNetns(
          n.netnsPath,
          `http://127.0.0.1:${PROXY_ADMIN_PORT}/config_dump`,
          3000,
        );
        if (reply.status !== 200) throw new Error(`/config_dump answered ${reply.status}`);
        return { node: n.name, dump: JSON.parse(reply.body) as Record<string, unknown> };
      } catch (err) {
        throw new ProxyUnreachableError(`ztunnel on ${n.name}`, (err as Error).message, {
          cause: err,
        });
      }
    }),
  );
}

/** The control plane's view of every connected xDS client. */
export async function controlPlaneConnections(mesh: LocalMesh): Promise<unknown> {
  const url = `${mesh.record.controlPlane.monitoringUrl}/debug/connections`;
  try {
    const reply = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return (await reply.json()) as unknown;
  } catch (err) {
    throw new ProxyUnreachableError('control plane', `${url}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
