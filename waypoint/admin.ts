import type { SecretManager } from '../core/identity/secret-manager.js';
import type { MeshConfig } from '../api/mesh/config.js';
import type { DeltaXdsClient } from '../core/xds/client.js';
import { WAYPOINT_SERVICE_TYPE_URL } from '../api/waypoint/config.js';
import type { ClusterState } from './cluster/cluster-state.js';
import type { WaypointState } from './state.js';

export interface DumpSources {
  /** `namespace/name` of the waypoint. */
  waypoint: string;
  state: WaypointState;
  secrets: Pick<SecretManager, 'certificates'>;
  xds: Pick<DeltaXdsClient, 'versions'>;
  /** The MeshConfig in force (telemetry settings). */
  mesh?: () => MeshConfig;
  ready: () => boolean;
}

/** Services as pushed, clusters as running (endpoint states, ejections, breakers), certificate. */
export function configDump(sources: DumpSources): unknown {
  return {
    waypoint: sources.waypoint,
    ready: sources.ready(),
    services: sources.state.services(),
    clusters: [...sources.state.clusters().values()].map(dumpCluster),
    certificates: sources.secrets.certificates(),
    ...(sources.mesh === undefined ? {} : { mesh: sources.mesh() }),
    xds: {
      [WAYPOINT_SERVICE_TYPE_URL]: Object.fromEntries(
        sources.xds.versions(WAYPOINT_SERVICE_TYPE_URL),
      ),
    },
  };
}

export function dumpCluster(state: ClusterState): unknown {
  const { name, policy, problem } = state.cluster;
  return {
    name,
    ...(problem === undefined ? {} : { problem }),
    policy,
    circuitBreakers: state.breaker.counts(),
    endpoints: state.hosts().map((host) => ({
      endpoint: host.key,
      identity: host.endpoint.identity,
      healthy: host.endpoint.healthy,
      ejected: host.ejected,
      activeRequests: host.active,
    })),
  };
}
