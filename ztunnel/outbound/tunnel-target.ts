import { formatAuthority } from '../../core/hbone/authority.js';
import { HBONE_PORT } from '../../core/hbone/settings.js';
import type { Identity } from '../../core/identity/spiffe.js';
import type { ProxyState } from '../state/state.js';
import type { Destination } from '../state/resolve.js';
import type { Waypoint, Workload } from '../state/types.js';

/** Where an outbound tunnel goes and whom it must find there. */
export interface TunnelPlan {
  readonly peer: { address: string; port: number };
  readonly peerIdentities: readonly Identity[];
  readonly authority: string;
  /** The workload at the far end of the tunnel, for telemetry. */
  readonly peerWorkload: Workload;
}

export type PlanOutcome = { ok: true; plan: TunnelPlan } | { ok: false; reason: string };

/**
 * Turns a resolved mesh destination into a tunnel: straight to the endpoint's 15008 with
 * `:authority` = endpoint IP and target port, or to the waypoint with `:authority` = the
 * address the client asked for (the VIP for a service), as Istio's ztunnel does.
 */
export function planTunnel(
  state: ProxyState,
  destination: Extract<Destination, { kind: 'service' | 'workload' }>,
  original: { address: string; port: number },
  pick: (n: number) => number,
): PlanOutcome {
  if (destination.waypoint) {
    const waypoint = waypointEndpoint(state, destination.waypoint, pick);
    if (!waypoint) return { ok: false, reason: 'waypoint has no healthy endpoint' };
    return {
      ok: true,
      plan: {
        peer: { address: waypoint.address, port: waypoint.port },
        peerIdentities: [waypoint.workload.identity],
        authority: formatAuthority(
          destination.kind === 'service'
            ? original
            : { address: addressOf(destination.workload, original.address), port: original.port },
        ),
        peerWorkload: waypoint.workload,
      },
    };
  }
  const workload = destination.kind === 'service' ? destination.endpoint : destination.workload;
  const address = addressOf(workload, original.address);
  return {
    ok: true,
    plan: {
      peer: { address, port: HBONE_PORT },
      peerIdentities: [workload.identity],
      authority: formatAuthority({ address, port: destination.port }),
      peerWorkload: workload,
    },
  };
}

/** A waypoint is addressed by its service VIP or a workload IP; tunnels go to a pod of it. */
function waypointEndpoint(
  state: ProxyState,
  waypoint: Waypoint,
  pick: (n: number) => number,
): { address: string; port: number; workload: Workload } | undefined {
  const service = state.serviceByVip(waypoint.address);
  const candidates = service
    ? state.endpointsOf(service, waypoint.hboneMtlsPort).map((e) => e.workload)
    : [state.workloadByIp(waypoint.address)].filter((w): w is Workload => w?.healthy === true);
  if (candidates.length === 0) return undefined;
  const workload = candidates[pick(candidates.length)]!;
  return {
    address: addressOf(workload, waypoint.address),
    port: waypoint.hboneMtlsPort || HBONE_PORT,
    workload,
  };
}

/** The workload's address in the same family as the one the client used. */
function addressOf(workload: Workload, like: string): string {
  const v6 = like.includes(':');
  return workload.addresses.find((a) => a.includes(':') === v6) ?? workload.addresses[0]!;
}
