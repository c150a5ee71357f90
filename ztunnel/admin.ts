import type { SecretManager } from '../core/identity/secret-manager.js';
import type { DeltaXdsClient } from '../core/xds/client.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../api/xds/type-urls.js';
import type { ConnectionTracker } from './connections.js';
import type { PodManager } from './inpod/manager.js';
import type { PushedMeshConfig } from '../api/mesh/pushed.js';
import type { ProxyState } from './state/state.js';

export interface DumpSources {
  node: string;
  state: ProxyState;
  mesh: PushedMeshConfig;
  secrets: SecretManager;
  pods: PodManager;
  connections: ConnectionTracker;
  xds: DeltaXdsClient;
  ready: () => boolean;
}

/** `/config_dump`: the proxy state, enrolled pods, certificates (no keys) and connections. */
export function configDump(sources: DumpSources): unknown {
  return {
    node: sources.node,
    ready: sources.ready(),
    ...(sources.state.dump() as Record<string, unknown>),
    outboundTrafficPolicy: sources.mesh.config.outboundTrafficPolicy,
    pods: sources.pods.pods().map((pod) => ({
      uid: pod.uid,
      name: pod.name,
      namespace: pod.namespace,
      serviceAccount: pod.serviceAccount,
      identity: pod.identity,
    })),
    certificates: sources.secrets.certificates(),
    connections: sources.connections.list(),
    xds: {
      [ADDRESS_TYPE_URL]: sources.xds.versions(ADDRESS_TYPE_URL).size,
      [AUTHORIZATION_TYPE_URL]: sources.xds.versions(AUTHORIZATION_TYPE_URL).size,
    },
  };
}
