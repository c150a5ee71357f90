import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { HboneServer } from '../../core/hbone/server.js';
import type { SecretManager } from '../../core/identity/secret-manager.js';
import { NativeCallError } from '../../core/net/errors.js';
import { listenInNetns } from '../../core/net/socket.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { Inbound } from '../inbound/inbound.js';
import type { TcpMetrics } from '../metrics.js';
import { INBOUND_HBONE_PORT, INBOUND_PLAINTEXT_PORT, OUTBOUND_PORT } from '../marks.js';
import type { Outbound } from '../outbound/outbound.js';
import type { EnrolledPod } from './pod.js';

const { EAFNOSUPPORT } = constants.errno;

/**
 * Each port listens on both families: the capture rules redirect IPv6 too wherever the pod
 * has it, and a redirect with no listener would refuse every IPv6 connection of the pod.
 */
const LISTEN_ADDRESSES = ['0.0.0.0', '::'] as const;

/** A listening fd, or undefined for IPv6 on a kernel without it (nothing to capture then). */
function listenIpv4OrIpv6(netns: number, address: string, port: number): number | undefined {
  try {
    return listenInNetns(netns, { address, port, backlog: 1024, ipv6Only: true });
  } catch (err) {
    if (address === '::' && err instanceof NativeCallError && err.errno === EAFNOSUPPORT)
      return undefined;
    throw err;
  }
}

export interface WorkloadProxyDeps {
  readonly inbound: Inbound;
  readonly outbound: Outbound;
  readonly secrets: SecretManager;
  readonly metrics: TcpMetrics;
  readonly logger: Logger;
}

/**
 * The node tunnel's presence inside one enrolled pod: the three listeners, made inside the
 * pod's network namespace so that the capture rules there can redirect to them, and the
 * HBONE server presenting the pod's own certificate.
 */
export class WorkloadProxy {
  readonly pod: EnrolledPod;
  readonly #deps: WorkloadProxyDeps;
  readonly #servers: Server[] = [];
  readonly #hbone: HboneServer;
  #stopped = false;

  constructor(pod: EnrolledPod, deps: WorkloadProxyDeps) {
    this.pod = pod;
    this.#deps = deps;
    this.#hbone = new HboneServer({
      credentials: () => deps.secrets.current(pod.identity),
      onRequest: (request) => deps.inbound.tunnel(request, pod),
      onRefused: (reason) => deps.metrics.failed('inbound', reason),
      logger: deps.logger,
    });
  }

  /** Opens the listeners; throws (closing what it opened) if the namespace is unusable. */
  async start(): Promise<void> {
    const handlers: [number, (socket: Socket) => void][] = [
      [OUTBOUND_PORT, (socket) => this.#deps.outbound.handle(socket, this.pod)],
      [INBOUND_PLAINTEXT_PORT, (socket) => this.#deps.inbound.plaintext(socket, this.pod)],
      [INBOUND_HBONE_PORT, (socket) => this.#hbone.handle(socket)],
    ];
    try {
      for (const [port, handler] of handlers)
        for (const address of LISTEN_ADDRESSES) {
          const fd = listenIpv4OrIpv6(this.pod.netns, address, port);
          if (fd === undefined) continue;
          const server = createServer({ noDelay: true, allowHalfOpen: true }, handler);
          this.#servers.push(server);
          server.listen({ fd });
          await once(server, 'listening');
        }
    } catch (err) {
      await this.stop(0);
      throw err;
    }
  }

  /**
   * Stops accepting, lets open tunnels finish until the deadline, then closes the
   * namespace fd. Connections already carried by the tunnel keep their own sockets.
   */
  async stop(deadlineMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const server of this.#servers) server.close();
    this.#servers.length = 0;
    await this.#hbone.drain(deadlineMs);
    closeSync(this.pod.netns);
  }
}
