import { pipeline, type Duplex } from 'node:stream';
import { pipeBoth } from '../../core/hbone/pipe.js';
import type { Logger } from '../../core/telemetry/log.js';
import { clusterName } from '../../api/waypoint/schema.js';
import { hashKeyFor } from '../cluster/hash-key.js';
import { admitConnection } from './admission.js';
import { pickDestination } from '../router/select.js';
import type { WaypointState } from '../state.js';
import { UpstreamConnectError } from './errors.js';
import type { TunnelContext } from './handler.js';
import type { TunnelFactory } from './tunnels.js';

export interface TcpContext {
  readonly state: WaypointState;
  readonly tunnels: TunnelFactory;
  readonly random: () => number;
  readonly logger: Logger;
}

/**
 * A tunnel that does not carry HTTP, forwarded as Envoy's TCP proxy would: the first TCP
 * route for the port (or the service port's cluster), one endpoint by the cluster's load
 * balancer, and the bytes piped both ways. With nowhere to go, the tunnel is reset.
 * `ended` holds the bytes of a client that half-closed before detection finished.
 */
export async function forwardTcp(
  stream: Duplex,
  tunnel: TunnelContext,
  context: TcpContext,
  ended?: Buffer,
): Promise<void> {
  // AuthorizationPolicy first, as Envoy's network RBAC filter runs before the TCP proxy.
  if (!admitConnection(tunnel, context.logger)) {
    stream.destroy();
    return;
  }
  const { service, port } = tunnel.target;
  const route = service.tcp.find((r) => r.ports.length === 0 || r.ports.includes(port.port));
  const name =
    route === undefined
      ? clusterName(service.hostname, port.port, undefined)
      : pickDestination(route.destinations, context.random)?.cluster;
  const cluster = name === undefined ? undefined : context.state.cluster(name);
  const log = {
    service: `${service.namespace}/${service.hostname}`,
    port: port.port,
    cluster: name,
  };
  if (cluster === undefined) {
    context.logger.debug(log, 'TCP tunnel has no cluster; reset');
    stream.destroy();
    return;
  }
  const hash = hashKeyFor(cluster.cluster.policy.loadBalancer, {
    method: '',
    path: '',
    authority: '',
    headers: {},
    sourceAddress: tunnel.sourceAddress,
  });
  const host = cluster.pick(hash === undefined ? {} : { hashKey: hash.key });
  if (host === undefined || !cluster.breaker.tryConnection()) {
    context.logger.debug(
      { ...log, reason: host === undefined ? 'no healthy upstream' : 'overflow' },
      'TCP tunnel refused',
    );
    stream.destroy();
    return;
  }
  host.active++;
  try {
    let upstream: Duplex;
    try {
      upstream = await withTimeout(
        context.tunnels.open(host.endpoint, { forwardedFor: tunnel.sourceAddress }),
        host.key,
        cluster.cluster.policy.connectionPool.connectTimeoutMs,
      );
    } catch (err) {
      cluster.report(host, { kind: 'connect-failure' });
      context.logger.debug({ ...log, endpoint: host.key, err }, 'TCP upstream connect failed');
      stream.destroy();
      return;
    }
    // Envoy reports a TCP connect to outlier detection as a success (HTTP 200).
    cluster.report(host, { kind: 'response', status: 200 });
    if (stream.destroyed) {
      upstream.destroy();
      return;
    }
    await (ended === undefined ? pipeBoth(stream, upstream) : replyOnly(stream, upstream, ended));
  } catch (err) {
    context.logger.debug({ ...log, endpoint: host.key, err }, 'TCP tunnel ended');
  } finally {
    host.active--;
    cluster.breaker.releaseConnection();
  }
}

/** The client already half-closed: send what it sent, then carry only the answer back. */
function replyOnly(client: Duplex, upstream: Duplex, sent: Buffer): Promise<void> {
  upstream.end(sent);
  return new Promise((resolve, reject) =>
    pipeline(upstream, client, (err) => (err ? reject(err) : resolve())),
  );
}

/** `opening`, or a connect failure once `ms` pass first (a late tunnel is closed). */
function withTimeout(opening: Promise<Duplex>, target: string, ms: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new UpstreamConnectError(target, `no tunnel after ${ms} ms`));
    }, ms);
    opening.then(
      (stream) => {
        clearTimeout(timer);
        if (late) stream.destroy();
        else resolve(stream);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
