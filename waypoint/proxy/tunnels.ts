import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatAuthority } from '../../core/hbone/authority.js';
import type { HbonePool } from '../../core/hbone/pool.js';
import { HBONE_PORT } from '../../core/hbone/settings.js';
import type { WorkloadCredentials } from '../../core/identity/credentials.js';
import type { Identity } from '../../core/identity/spiffe.js';
import type { Endpoint } from '../../api/waypoint/config.js';

/** Opens byte streams to endpoints: how the waypoint reaches the mesh's workloads. */
export interface TunnelFactory {
  /**
   * A stream to `endpoint.address:endpoint.port`, open once it resolves. `forwardedFor` is
   * the source workload's IP, for a tunnel that carries one client's connection (TCP).
   */
  open(endpoint: Endpoint, options?: { forwardedFor?: string }): Promise<Duplex>;
}

export interface MeshTunnelsOptions {
  pool: HbonePool;
  /** The waypoint's own certificate, renewed behind this function. */
  credentials: () => Promise<WorkloadCredentials>;
  /** Where endpoints take HBONE; 15008 in a mesh. */
  port?: number;
}

/**
 * Tunnels as ztunnel makes them (DESIGN.md §1, HBONE row): CONNECT to the endpoint's node
 * tunnel on `address:15008` with `:authority` `address:port`, the waypoint's certificate, and
 * the endpoint's identity required of the peer; connections are pooled by the HbonePool. An
 * endpoint outside the ambient mesh (`plaintext`) gets a plain TCP connection instead, as
 * Istio's waypoint does.
 */
export class MeshTunnels implements TunnelFactory {
  readonly #pool: HbonePool;
  readonly #credentials: () => Promise<WorkloadCredentials>;
  readonly #port: number;

  constructor(options: MeshTunnelsOptions) {
    this.#pool = options.pool;
    this.#credentials = options.credentials;
    this.#port = options.port ?? HBONE_PORT;
  }

  async open(endpoint: Endpoint, options: { forwardedFor?: string } = {}): Promise<Duplex> {
    if (endpoint.plaintext === true) return plainConnection(endpoint);
    const source = await this.#credentials();
    const peer = { address: endpoint.address, port: this.#port };
    return this.#pool.connect({
      source,
      peer,
      // The control plane names each endpoint's SPIFFE id; api/waypoint validated it.
      peerIdentities: [endpoint.identity as Identity],
      authority: endpoint.authority ?? formatAuthority(endpoint),
      ...(options.forwardedFor === undefined
        ? {}
        : { headers: { forwarded: `for="${forwardedFor(options.forwardedFor)}"` } }),
      createSocket: () => connect({ host: peer.address, port: peer.port, noDelay: true }),
    });
  }
}

function plainConnection(endpoint: Endpoint): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: endpoint.address,
      port: endpoint.port,
      noDelay: true,
      allowHalfOpen: true,
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** RFC 7239: an IPv6 node is bracketed inside the quoted string. */
function forwardedFor(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
