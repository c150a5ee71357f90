import type { ClusterSet } from '../waypoint/clusters.js';
import type { CompileContext } from '../waypoint/context.js';
import type { SecretIndex } from './credentials.js';

/** What compiling the servers of one gateway pod reads. */
export interface GatewayCompileContext {
  readonly compile: CompileContext;
  readonly clusters: ClusterSet;
  readonly secrets: SecretIndex;
  /** The gateway pod's namespace: where its credential Secrets live. */
  readonly podNamespace: string;
}

/** How a server's port is served: HTTP, TLS (terminated or passed through), or TCP. */
export type ListenerProtocol = 'http' | 'https' | 'tls' | 'tcp';
