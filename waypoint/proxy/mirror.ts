import { request as httpRequest } from 'node:http';
import type { Logger } from '../../core/telemetry/log.js';
import type { ClusterState } from '../cluster/cluster-state.js';
import type { UpstreamRequest } from './attempt.js';
import type { RequestBody } from './body.js';
import type { HeaderMap } from './headers.js';
import type { Upstreams } from './upstreams.js';

export interface MirrorContext {
  readonly upstreams: Upstreams;
  readonly logger: Logger;
}

/**
 * Sends a copy of the request to the mirror cluster and forgets it, as Envoy's request
 * mirroring does: the authority gets Envoy's `-shadow` suffix, the response is thrown away,
 * and nothing about it (a failure, a slow answer) touches the main request. A body is sent
 * once the client has sent it whole; a body too large to keep is not mirrored.
 */
export async function mirror(
  cluster: ClusterState,
  request: UpstreamRequest,
  body: RequestBody | undefined,
  timeoutMs: number | undefined,
  context: MirrorContext,
): Promise<void> {
  const whole = body === undefined ? undefined : await body.whole();
  if (body !== undefined && whole === undefined) return;
  const host = cluster.pick({});
  if (host === undefined || !cluster.breaker.tryRequest()) return;
  const headers: HeaderMap = { ...request.headers, host: shadowAuthority(request.headers.host) };
  if (whole !== undefined) {
    delete headers['transfer-encoding'];
    headers['content-length'] = String(whole.length);
  }
  host.active++;
  const agent = context.upstreams.agent(cluster.cluster, host.endpoint);
  const req = httpRequest({
    ...agent.requestOptions(),
    method: request.method,
    path: request.path,
    headers,
    setHost: false,
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
  });
  req.once('response', (response) => {
    cluster.report(host, {
      kind: 'response',
      status: response.statusCode ?? 0,
      headers: response.headers,
    });
    response.resume();
  });
  req.once('timeout', () => req.destroy());
  req.once('error', (err) =>
    context.logger.debug({ err, cluster: cluster.cluster.name }, 'mirrored request failed'),
  );
  req.once('close', () => {
    host.active--;
    cluster.breaker.releaseRequest();
  });
  req.end(whole);
}

/**
 * Envoy's shadow host: `-shadow` after the host name, before any port
 * (`reviews:9080` → `reviews-shadow:9080`).
 */
export function shadowAuthority(authority: string | string[] | undefined): string {
  const text = Array.isArray(authority) ? (authority[0] ?? '') : (authority ?? '');
  const colon = text.lastIndexOf(':');
  if (colon > 0 && text.lastIndexOf(']') < colon && /^[0-9]+$/.test(text.slice(colon + 1)))
    return `${text.slice(0, colon)}-shadow${text.slice(colon)}`;
  return `${text}-shadow`;
}
