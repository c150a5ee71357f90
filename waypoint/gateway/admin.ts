import type { GatewayListener } from '../../api/gateway/config.js';
import type { MeshConfig } from '../../api/mesh/config.js';
import { GATEWAY_PROXY_TYPE_URL } from '../../api/gateway/config.js';
import type { SecretManager } from '../../core/identity/secret-manager.js';
import type { DeltaXdsClient } from '../../core/xds/client.js';
import { dumpCluster } from '../admin.js';
import type { GatewayState } from './state.js';

export interface GatewayDumpSources {
  gateway: string;
  state: GatewayState;
  ports: () => number[];
  secrets: Pick<SecretManager, 'certificates'>;
  xds: Pick<DeltaXdsClient, 'versions'>;
  ready: () => boolean;
  mesh: () => MeshConfig;
}

/** Listeners as pushed (TLS material left out: only where it came from), clusters as running. */
export function gatewayConfigDump(sources: GatewayDumpSources): unknown {
  return {
    gateway: sources.gateway,
    ready: sources.ready(),
    listening: sources.ports(),
    listeners: (sources.state.config?.listeners ?? []).map(redact),
    clusters: [...sources.state.clusters.clusters().values()].map(dumpCluster),
    certificates: sources.secrets.certificates(),
    mesh: sources.mesh(),
    xds: {
      [GATEWAY_PROXY_TYPE_URL]: Object.fromEntries(sources.xds.versions(GATEWAY_PROXY_TYPE_URL)),
    },
  };
}

function redact(listener: GatewayListener): unknown {
  return {
    ...listener,
    servers: listener.servers.map((server) => {
      const tls = server.tls;
      if (tls?.credential === undefined) return server;
      const { source } = tls.credential;
      return { ...server, tls: { ...tls, credential: { source, material: 'redacted' } } };
    }),
  };
}
