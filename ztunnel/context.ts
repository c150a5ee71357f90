import type { HbonePool } from '../core/hbone/pool.js';
import type { SecretManager } from '../core/identity/secret-manager.js';
import type { Logger } from '../core/telemetry/log.js';
import type { ConnectionAccessLog } from './access-log.js';
import type { ConnectionTracker } from './connections.js';
import type { TcpMetrics } from './metrics.js';
import type { PushedMeshConfig } from '../api/mesh/pushed.js';
import type { ProxyState } from './state/state.js';

/** What the inbound and outbound handlers share: built once by the ztunnel wiring. */
export interface ProxyContext {
  readonly state: ProxyState;
  /** MeshConfig as last pushed; read per connection. */
  readonly mesh: PushedMeshConfig;
  readonly secrets: SecretManager;
  readonly pool: HbonePool;
  readonly metrics: TcpMetrics;
  readonly connections: ConnectionTracker;
  readonly accessLog: ConnectionAccessLog;
  readonly logger: Logger;
}
