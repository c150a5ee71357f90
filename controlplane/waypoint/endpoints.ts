/**
 * The endpoints of a cluster: the workloads behind a service port (the model's endpoints,
 * named target ports already resolved), narrowed to a subset's labels.
 */
import { fqdnProblem } from '../../api/resources/networking-hosts.js';
import { isIPAddress } from '../../api/schema/index.js';
import type { Endpoint } from '../../api/waypoint/config.js';
import { selectorMatches } from '../ambient/selector.js';
import {
  AMBIENT_REDIRECTION,
  AMBIENT_REDIRECTION_ENABLED,
  TUNNEL,
  TUNNEL_HTTP,
} from '../model/labels.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Labels } from '../model/namespaces.js';
import { serviceKey } from '../model/services.js';
import type { MeshService } from '../model/services.js';
import type { MeshWorkload } from '../model/workloads.js';
import { compact } from './compact.js';

/** Where a workload is reached, who it is, and whether it takes requests; undefined: nowhere. */
function reach(workload: MeshWorkload, publishNotReady: boolean) {
  if (workload.kind === 'Pod') {
    const [address] = workload.ips;
    if (workload.terminal || address === undefined) return undefined;
    return {
      address,
      serviceAccount: workload.serviceAccount,
      healthy: (workload.ready || publishNotReady) && !workload.terminating,
      hbone: workload.ambient || terminatesHbone(workload.labels, workload.annotations),
    };
  }
  const annotations = workload.kind === 'WorkloadEntry' ? workload.annotations : {};
  const hbone = terminatesHbone(workload.labels, annotations);
  // Entries may name a host (a DNS ServiceEntry): the waypoint resolves it when it connects
  // in plain TCP; a tunnel needs an address, and a unix socket is only reachable on its host.
  if (!isIPAddress(workload.address) && (hbone || fqdnProblem(workload.address) !== undefined))
    return undefined;
  return {
    address: workload.address,
    serviceAccount: workload.serviceAccount ?? 'default',
    healthy: true,
    hbone,
  };
}

/** Istio's setTunnelProtocol: HBONE when captured by a node tunnel or speaking it natively. */
function terminatesHbone(labels: Labels, annotations: Labels): boolean {
  return (
    labels[TUNNEL] === TUNNEL_HTTP ||
    annotations[AMBIENT_REDIRECTION] === AMBIENT_REDIRECTION_ENABLED
  );
}

export function clusterEndpoints(
  model: MeshModel,
  service: MeshService,
  port: number,
  subsetLabels: Labels | undefined,
  trustDomain: string,
): Endpoint[] {
  const out: Endpoint[] = [];
  const members = model.endpoints.get(serviceKey(service.namespace, service.hostname)) ?? [];
  const selected = subsetLabels === undefined ? undefined : { matchLabels: subsetLabels };
  for (const { workload, ports } of members) {
    const mapping = ports.find((p) => p.servicePort === port);
    if (mapping === undefined) continue;
    if (selected !== undefined && !selectorMatches(selected, workload.labels)) continue;
    const found = reach(workload, service.publishNotReadyAddresses);
    if (found === undefined) continue;
    out.push(
      compact({
        address: found.address,
        port: mapping.targetPort,
        identity: `spiffe://${trustDomain}/ns/${workload.namespace}/sa/${found.serviceAccount}`,
        healthy: found.healthy,
        plaintext: found.hbone ? undefined : true,
      }),
    );
  }
  return out;
}
