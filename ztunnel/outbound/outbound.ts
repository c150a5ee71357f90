import type { ConnectionRecord } from '../access-log.js';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { pipeBoth } from '../../core/hbone/pipe.js';
import { errorCode } from '../../core/errors.js';
import { originalDst, socketFd, type SocketAddress } from '../../core/net/socket.js';
import type { ProxyContext } from '../context.js';
import { connectFromPod, onConnectOutcome } from '../inpod/sockets.js';
import type { EnrolledPod } from '../inpod/pod.js';
import { connectionLabels, type ConnectionLabels, type ConnectionParties } from '../metrics.js';
import { resolveDestination, type Destination } from '../state/resolve.js';
import type { Workload } from '../state/types.js';
import { resolveHostname } from './dns.js';
import { refusedByTrafficPolicy, UnregisteredDestinationError } from './traffic-policy.js';
import { planTunnel } from './tunnel-target.js';

const randomIndex = (n: number): number => Math.floor(Math.random() * n);

/**
 * Connections an enrolled pod makes, captured on its 15001 listener: the original
 * destination decides between an HBONE tunnel (a mesh service or workload), plain TCP (a
 * destination outside the mesh) and a reset (a mesh service with nothing healthy behind it,
 * or, under the outbound traffic policy REGISTRY_ONLY, an address the registry does not know).
 */
export class Outbound {
  readonly #ctx: ProxyContext;

  constructor(ctx: ProxyContext) {
    this.#ctx = ctx;
  }

  handle(client: Socket, pod: EnrolledPod): void {
    client.on('error', () => {
      // An error on the captured socket ends the connection; pipeBoth or the failure path
      // below reports it. Without a listener it would crash the process.
    });
    let original: SocketAddress;
    try {
      original = originalDst(socketFd(client));
    } catch (err) {
      this.#fail(client, 'no_original_dst', err, pod);
      return;
    }
    const destination = resolveDestination(this.#ctx.state, original, randomIndex);
    if (refusedByTrafficPolicy(this.#ctx.mesh.config.outboundTrafficPolicy.mode, destination)) {
      this.#fail(
        client,
        'registry_only',
        new UnregisteredDestinationError(original),
        pod,
        original,
      );
      return;
    }
    switch (destination.kind) {
      case 'passthrough':
        this.#passthrough(client, pod, original);
        return;
      case 'unavailable':
        this.#fail(client, 'no_healthy_upstream', new Error(destination.reason), pod, original);
        return;
      default: {
        const peer = destination.kind === 'service' ? destination.endpoint : destination.workload;
        if (peer && peer.protocol === 'NONE' && !destination.waypoint) {
          void this.#direct(client, pod, original, peer, destination);
          return;
        }
        void this.#tunnel(client, pod, original, destination);
      }
    }
  }

  /**
   * An endpoint outside the mesh: plain TCP to the endpoint itself (its hostname resolved
   * now, for a DNS ServiceEntry), as kube-proxy would have sent it.
   */
  async #direct(
    client: Socket,
    pod: EnrolledPod,
    original: SocketAddress,
    peer: Workload,
    destination: Extract<Destination, { kind: 'service' | 'workload' }>,
  ): Promise<void> {
    const v6 = original.address.includes(':');
    let address = peer.addresses.find((a) => a.includes(':') === v6) ?? peer.addresses[0];
    if (address === undefined) {
      try {
        address = await resolveHostname(peer.hostname, original.address);
      } catch (err) {
        this.#fail(client, errorCode(err), err, pod, original);
        return;
      }
      if (client.destroyed) return;
    }
    const service = destination.kind === 'service' ? destination.service : undefined;
    this.#passthrough(
      client,
      pod,
      { ...original, address, port: destination.port },
      {
        destination: peer,
        ...(service && {
          service: { hostname: service.hostname, namespace: service.namespace, name: service.name },
        }),
      },
    );
  }

  #passthrough(
    client: Socket,
    pod: EnrolledPod,
    original: SocketAddress,
    known: Pick<ConnectionParties, 'destination' | 'service'> = {},
  ): void {
    let upstream: Socket;
    try {
      upstream = connectFromPod(pod, original);
    } catch (err) {
      this.#fail(client, 'socket', err, pod, original);
      return;
    }
    const source = this.#ctx.state.workloadByName(pod.namespace, pod.name);
    const labels = connectionLabels({ reporter: 'source', source, mtls: false, ...known });
    onConnectOutcome(
      upstream,
      () => this.#carry(client, upstream, labels, pod, original),
      (err) => this.#fail(client, errorCode(err), err, pod, original),
    );
  }

  async #tunnel(
    client: Socket,
    pod: EnrolledPod,
    original: SocketAddress,
    destination: Extract<Destination, { kind: 'service' | 'workload' }>,
  ): Promise<void> {
    const { state, secrets, pool } = this.#ctx;
    const planned = planTunnel(state, destination, original, randomIndex);
    if (!planned.ok) {
      this.#fail(client, 'no_healthy_upstream', new Error(planned.reason), pod, original);
      return;
    }
    const { plan } = planned;
    let stream: Duplex;
    try {
      const credentials = await secrets.get(pod.identity);
      stream = await pool.connect({
        source: credentials,
        peer: plan.peer,
        peerIdentities: plan.peerIdentities,
        authority: plan.authority,
        headers: { forwarded: `for="${client.remoteAddress ?? 'unknown'}"` },
        createSocket: () => connectFromPod(pod, plan.peer),
      });
    } catch (err) {
      this.#fail(client, errorCode(err), err, pod, original);
      return;
    }
    if (client.destroyed) {
      stream.destroy();
      return;
    }
    const service =
      destination.kind === 'service'
        ? {
            hostname: destination.service.hostname,
            namespace: destination.service.namespace,
            name: destination.service.name,
          }
        : undefined;
    const labels = connectionLabels({
      reporter: 'source',
      source: state.workloadByName(pod.namespace, pod.name),
      destination: plan.peerWorkload,
      service,
      mtls: true,
    });
    this.#carry(client, stream, labels, pod, original, plan.authority);
  }

  /** Pipes a connection to its end; the bytes are the captured client socket's counters. */
  #carry(
    client: Socket,
    upstream: Duplex,
    labels: ConnectionLabels,
    pod: EnrolledPod,
    original: SocketAddress,
    hboneAddr?: string,
  ): void {
    const { metrics, connections, logger, accessLog } = this.#ctx;
    const startedAt = performance.now();
    metrics.opened(labels);
    const done = connections.add(client, {
      direction: 'outbound',
      source: `${pod.namespace}/${pod.name}`,
      destination: `${original.address}:${original.port}`,
    });
    void pipeBoth(client, upstream)
      .catch((err: unknown) =>
        logger.debug({ err, dst: `${original.address}:${original.port}` }, 'outbound ended'),
      )
      .finally(() => {
        done();
        metrics.closed(labels, { received: client.bytesRead, sent: client.bytesWritten });
        if (accessLog.enabled)
          accessLog.complete(
            { ...connection(client, original, labels, startedAt), hboneAddr },
            { sent: client.bytesRead, recv: client.bytesWritten },
          );
      });
  }

  #fail(
    client: Socket,
    reason: string,
    err: unknown,
    pod: EnrolledPod,
    original?: SocketAddress,
  ): void {
    this.#ctx.metrics.failed('outbound', reason);
    const { accessLog, state } = this.#ctx;
    if (accessLog.enabled && original !== undefined) {
      const source = state.workloadByName(pod.namespace, pod.name);
      const labels = connectionLabels({ reporter: 'source', source, mtls: false });
      accessLog.failed(connection(client, original, labels, performance.now()), reason);
    }
    this.#ctx.logger.warn(
      {
        workload: `${pod.namespace}/${pod.name}`,
        dst: original && `${original.address}:${original.port}`,
        reason,
        err,
      },
      'outbound connection failed',
    );
    // A reset, not a clean close: the client must not mistake a failure for an empty reply.
    client.resetAndDestroy();
  }
}

/** The connection as the access log names it. */
function connection(
  client: Socket,
  original: SocketAddress,
  labels: ConnectionLabels,
  startedAt: number,
): ConnectionRecord {
  return {
    direction: 'outbound',
    src: `${client.remoteAddress ?? 'unknown'}:${client.remotePort ?? 0}`,
    dst: `${original.address}:${original.port}`,
    labels,
    startedAt,
  };
}
