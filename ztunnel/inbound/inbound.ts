import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HboneRequest } from '../../core/hbone/server.js';
import { pipeBoth } from '../../core/hbone/pipe.js';
import { errorCode } from '../../core/errors.js';
import { originalDst, socketFd, type SocketAddress } from '../../core/net/socket.js';
import type { Identity } from '../../core/identity/spiffe.js';
import { authorize } from '../authz/authorize.js';
import type { ProxyContext } from '../context.js';
import { connectFromPod, onConnectOutcome } from '../inpod/sockets.js';
import type { EnrolledPod } from '../inpod/pod.js';
import { DNS_PORT, INBOUND_HBONE_PORT, INBOUND_PLAINTEXT_PORT, OUTBOUND_PORT } from '../marks.js';
import { connectionLabels, type ConnectionLabels } from '../metrics.js';
import type { Workload } from '../state/types.js';

/**
 * The tunnel's own ports. A tunnel or a redirected connection aimed at one of them would
 * loop back into the tunnel, so it is refused (Istio's ztunnel calls this a self call).
 */
const ILLEGAL_PORTS = new Set([
  OUTBOUND_PORT,
  INBOUND_PLAINTEXT_PORT,
  INBOUND_HBONE_PORT,
  DNS_PORT,
]);

/** Why an inbound connection was refused, mapped to the HBONE status the contract gives. */
type Refusal = { status: 400 | 401 | 503; reason: string };

/**
 * Connections arriving at an enrolled pod: HBONE tunnels on 15008 (identity from the peer's
 * certificate) and redirected plaintext on 15006 (no identity). Both are checked against the
 * pod's L4 policies, then connected to the app from inside the pod's namespace, bound to the
 * original source address so the app sees who called.
 */
export class Inbound {
  readonly #ctx: ProxyContext;

  constructor(ctx: ProxyContext) {
    this.#ctx = ctx;
  }

  /** One CONNECT stream on the pod's 15008 listener (the HBONE server validated the authority). */
  tunnel(request: HboneRequest, pod: EnrolledPod): void {
    const target = request.authority;
    const checked = this.#admit(pod, target, request.peerIdentity, request.peerAddress);
    if ('status' in checked) {
      this.#refused(pod, target, checked, request.peerAddress, request.peerIdentity);
      request.reject(checked.status, checked.reason);
      return;
    }
    const app = this.#connectApp(pod, target, request.peerAddress);
    if (!app) {
      request.reject(503, 'could not open a socket in the pod');
      return;
    }
    onConnectOutcome(
      app,
      () => {
        const stream = request.accept();
        const labels = connectionLabels({
          reporter: 'destination',
          source: this.#ctx.state.workloadByIp(request.peerAddress),
          sourcePrincipal: request.peerIdentity,
          destination: checked.workload,
          mtls: true,
        });
        this.#carry(app, stream, labels, pod, request.peerAddress, target);
      },
      (err) => {
        this.#ctx.metrics.failed('inbound', errorCode(err));
        this.#ctx.logger.info(
          { workload: podName(pod), dst: `${target.address}:${target.port}`, err },
          'app refused the connection',
        );
        request.reject(503, 'upstream connect failed');
      },
    );
  }

  /** One redirected plaintext connection on the pod's 15006 listener. */
  plaintext(client: Socket, pod: EnrolledPod): void {
    client.on('error', () => {
      // Ended by pipeBoth or the refusal below; a listener keeps the process alive.
    });
    let target: SocketAddress;
    try {
      target = originalDst(socketFd(client));
    } catch (err) {
      this.#ctx.metrics.failed('inbound', 'no_original_dst');
      this.#ctx.logger.warn(
        { workload: podName(pod), err },
        'inbound plaintext without a destination',
      );
      client.resetAndDestroy();
      return;
    }
    const source = client.remoteAddress ?? '';
    const checked = this.#admit(pod, target, undefined, source);
    if ('status' in checked) {
      this.#refused(pod, target, checked, source);
      client.resetAndDestroy();
      return;
    }
    const app = this.#connectApp(pod, target, source);
    if (!app) {
      client.resetAndDestroy();
      return;
    }
    onConnectOutcome(
      app,
      () => {
        const labels = connectionLabels({
          reporter: 'destination',
          source: this.#ctx.state.workloadByIp(source),
          destination: checked.workload,
          mtls: false,
        });
        this.#carry(app, client, labels, pod, source, target);
      },
      (err) => {
        this.#ctx.metrics.failed('inbound', errorCode(err));
        client.resetAndDestroy();
      },
    );
  }

  /** Decides whether a connection may reach the pod's app at `target`. */
  #admit(
    pod: EnrolledPod,
    target: SocketAddress,
    peerIdentity: Identity | undefined,
    sourceIp: string,
  ): Refusal | { workload: Workload } {
    if (ILLEGAL_PORTS.has(target.port))
      return { status: 400, reason: `port ${target.port} belongs to the node tunnel` };
    const workload = this.#ctx.state.workloadByName(pod.namespace, pod.name);
    if (!workload) return { status: 503, reason: 'workload not known to the node tunnel yet' };
    if (!workload.addresses.includes(target.address))
      return { status: 400, reason: `${target.address} is not an address of ${podName(pod)}` };
    const decision = authorize(
      {
        ...(peerIdentity ? { sourceIdentity: peerIdentity } : {}),
        sourceIp,
        destinationIp: target.address,
        destinationPort: target.port,
      },
      this.#ctx.state.policiesFor(workload),
    );
    if (!decision.allowed)
      return {
        status: 401,
        reason: `denied by ${decision.policy ?? 'policy'}: ${decision.reason}`,
      };
    return { workload };
  }

  #connectApp(pod: EnrolledPod, target: SocketAddress, source: string): Socket | undefined {
    try {
      return connectFromPod(pod, target, source);
    } catch (err) {
      this.#ctx.metrics.failed('inbound', errorCode(err));
      this.#ctx.logger.warn({ workload: podName(pod), err }, 'could not open a socket in the pod');
      return undefined;
    }
  }

  #refused(
    pod: EnrolledPod,
    target: SocketAddress,
    refusal: Refusal,
    source: string,
    peerIdentity?: Identity,
  ): void {
    const reason =
      refusal.status === 401 ? 'denied' : refusal.status === 400 ? 'bad_request' : 'unavailable';
    this.#ctx.metrics.failed('inbound', reason);
    const { accessLog, state } = this.#ctx;
    if (accessLog.enabled) {
      const labels = connectionLabels({
        reporter: 'destination',
        source: state.workloadByIp(source),
        ...(peerIdentity === undefined ? {} : { sourcePrincipal: peerIdentity }),
        destination: state.workloadByName(pod.namespace, pod.name),
        mtls: peerIdentity !== undefined,
      });
      accessLog.failed(
        {
          direction: 'inbound',
          src: source,
          dst: `${target.address}:${target.port}`,
          labels,
          startedAt: performance.now(),
        },
        reason,
      );
    }
    this.#ctx.logger.info(
      {
        workload: podName(pod),
        dst: `${target.address}:${target.port}`,
        identity: peerIdentity ?? 'none',
        status: refusal.status,
        reason: refusal.reason,
      },
      'inbound connection refused',
    );
  }

  /** Pipes to the end; the app-side socket's counters give the bytes of each direction. */
  #carry(
    app: Socket,
    client: Duplex,
    labels: ConnectionLabels,
    pod: EnrolledPod,
    source: string,
    target: SocketAddress,
  ): void {
    const { metrics, connections, logger, accessLog } = this.#ctx;
    const startedAt = performance.now();
    metrics.opened(labels);
    const done = connections.add(app, {
      direction: 'inbound',
      source,
      destination: `${target.address}:${target.port}`,
    });
    void pipeBoth(client, app)
      .catch((err: unknown) => logger.debug({ err, workload: podName(pod) }, 'inbound ended'))
      .finally(() => {
        done();
        metrics.closed(labels, { received: app.bytesWritten, sent: app.bytesRead });
        if (accessLog.enabled)
          accessLog.complete(
            {
              direction: 'inbound',
              src: source,
              dst: `${target.address}:${target.port}`,
              labels,
              startedAt,
            },
            { sent: app.bytesWritten, recv: app.bytesRead },
          );
      });
  }
}

function podName(pod: EnrolledPod): string {
  return `${pod.namespace}/${pod.name}`;
}
