import type { OutboundTrafficMode } from '../../api/mesh/config.js';
import { MeshError } from '../../core/errors.js';
import type { Destination } from '../state/resolve.js';

/** A connection refused because its destination is not in the registry (REGISTRY_ONLY). */
export class UnregisteredDestinationError extends MeshError {
  readonly code = 'AMBIT_ZTUNNEL_REGISTRY_ONLY';
  constructor(readonly destination: { address: string; port: number }) {
    super(
      `${destination.address}:${destination.port} is not a workload, service or ServiceEntry ` +
        'address the mesh knows, and the outbound traffic policy is REGISTRY_ONLY',
    );
  }
}

/**
 * MeshConfig `outboundTrafficPolicy`: with REGISTRY_ONLY a connection to an address the
 * registry does not know (no workload, service VIP or ServiceEntry address) is refused; with
 * ALLOW_ANY it passes through. Known destinations outside the mesh (a ServiceEntry, a pod
 * not captured) are admitted either way: registering them is how users allow them.
 */
export function refusedByTrafficPolicy(
  mode: OutboundTrafficMode,
  destination: Destination,
): boolean {
  return (
    mode === 'REGISTRY_ONLY' &&
    destination.kind === 'passthrough' &&
    destination.unregistered === true
  );
}
