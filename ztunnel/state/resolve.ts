import type { ProxyState } from './state.js';
import type { Service, Waypoint, WaypointRef, Workload } from './types.js';

/**
 * Where a captured outbound connection goes, from its original destination (ztunnel's
 * build_request, src/proxy/outbound.rs):
 * - a service VIP: through the service's waypoint when it has one (the caller tunnels to the
 *   waypoint with the VIP and port as the authority); else, for a PASSTHROUGH service, to the
 *   address asked for (a port it does not declare is marked `unregistered`); else to one endpoint and its target port, or nowhere when the service
 *   lacks the port or has no endpoint left (ztunnel fails such a connection; it does not fall
 *   back to the original address);
 * - a workload IP: through the workload's waypoint when it has one; else, for a workload in the
 *   mesh, to it on the same port; for one outside the mesh, plain TCP to the address asked for;
 * - anything else: plain TCP to the address asked for, marked `unregistered` (the registry
 *   knows nothing there, which the outbound traffic policy REGISTRY_ONLY refuses).
 * A waypoint the control plane named but the state cannot resolve makes the destination
 * unavailable rather than skipped, so that traffic never bypasses a waypoint.
 */
export type Destination =
  /** Direct to an endpoint: `endpoint` on `port` (its target port). */
  | {
      kind: 'service';
      service: Service;
      endpoint: Workload;
      port: number;
      waypoint?: undefined;
    }
  /** Through the service's waypoint; `port` is the service port asked for. */
  | { kind: 'service'; service: Service; waypoint: Waypoint; port: number; endpoint?: undefined }
  | { kind: 'workload'; workload: Workload; port: number; waypoint?: Waypoint }
  | { kind: 'passthrough'; unregistered?: true }
  | { kind: 'unavailable'; reason: string };

const UNREGISTERED: Destination = { kind: 'passthrough', unregistered: true };

const randomIndex = (n: number): number => Math.floor(Math.random() * n);

/** `pick(n)` chooses one of n endpoints (an index); random by default. */
export function resolveDestination(
  state: ProxyState,
  dst: { address: string; port: number },
  pick: (n: number) => number = randomIndex,
): Destination {
  const service = state.serviceByVip(dst.address);
  if (service !== undefined) return toService(state, service, dst.port, pick);

  const workload = state.workloadByIp(dst.address);
  if (workload === undefined) return UNREGISTERED;
  if (workload.waypointRef !== undefined) {
    if (workload.waypoint === undefined) {
      return unresolved(workload.waypointRef, `workload ${workload.uid}`);
    }
    return { kind: 'workload', workload, port: dst.port, waypoint: workload.waypoint };
  }
  if (workload.protocol === 'NONE') return { kind: 'passthrough' };
  return { kind: 'workload', workload, port: dst.port };
}

function toService(
  state: ProxyState,
  service: Service,
  port: number,
  pick: (n: number) => number,
): Destination {
  if (service.waypointRef !== undefined) {
    if (service.waypoint === undefined) {
      return unresolved(service.waypointRef, `service ${service.key}`);
    }
    return { kind: 'service', service, waypoint: service.waypoint, port };
  }
  const hasPort = service.ports.some((p) => p.servicePort === port);
  // A port the service does not declare is not registered, for the outbound traffic policy.
  if (service.passthrough) return hasPort ? { kind: 'passthrough' } : UNREGISTERED;
  if (!hasPort) {
    return { kind: 'unavailable', reason: `service ${service.key} has no port ${port}` };
  }
  const endpoints = state.endpointsOf(service, port);
  if (endpoints.length === 0) {
    return {
      kind: 'unavailable',
      reason: `service ${service.key} has no healthy endpoint for port ${port}`,
    };
  }
  const chosen = Math.min(Math.max(Math.floor(pick(endpoints.length)), 0), endpoints.length - 1);
  const { workload, port: targetPort } = endpoints[chosen]!;
  return { kind: 'service', service, endpoint: workload, port: targetPort };
}

function unresolved(ref: WaypointRef, of: string): Destination {
  const named = ref.kind === 'hostname' ? `${ref.namespace}/${ref.hostname}` : `${ref.address}`;
  return { kind: 'unavailable', reason: `waypoint ${named} of ${of} is not known` };
}
