/**
 * What happens to a request before routing, in the order of Istio's waypoint filter chain:
 * path normalization (the HTTP connection manager), then jwt_authn (RequestAuthentication),
 * then RBAC (AuthorizationPolicy). Answers 400 for a path that cannot be normalized, 401
 * with Envoy's jwt_authn text for a bad token, 403 `RBAC: access denied` for a denial. A
 * tunnel that carries no HTTP is authorized once, when it starts.
 */
import type { WaypointService } from '../../api/waypoint/config.js';
import { canonicalIpBytes } from '../../core/net/ip.js';
import { identityParts, parseIdentity } from '../../core/identity/spiffe.js';
import type { Logger } from '../../core/telemetry/log.js';
import { authenticate, type Authentication } from '../authn/authenticate.js';
import type { JwksCache } from '../authn/jwks-cache.js';
import type { PeerAttributes } from '../authz/attributes.js';
import { authorize, authorizeConnection } from '../authz/evaluate.js';
import { normalizePath, type PathNormalization } from '../authz/normalize-path.js';
import type { Downstream } from './downstream.js';
import type { TunnelContext } from './handler.js';
import { replyLocally } from './local-reply.js';
import { addFlag, type RequestRecord } from './record.js';

/** Envoy's RBAC filter's body for a denied request. */
export const RBAC_DENIED = 'RBAC: access denied';

export interface AdmissionContext {
  readonly jwks: JwksCache;
  readonly logger: Logger;
  /** MeshConfig `pathNormalization` in force now (read per request: a push applies next). */
  readonly pathNormalization?: () => PathNormalization;
}

const peers = new WeakMap<TunnelContext, PeerAttributes>();

/** The peer as policies see it, computed once per tunnel. An unparsable identity is unknown. */
function peerOf(tunnel: TunnelContext): PeerAttributes {
  let peer = peers.get(tunnel);
  if (peer === undefined) {
    // A gateway's client outside the mesh has no identity at all.
    let parts: ReturnType<typeof identityParts> | undefined;
    try {
      if (tunnel.sourceIdentity !== undefined)
        parts = identityParts(parseIdentity(tunnel.sourceIdentity));
    } catch {
      parts = undefined;
    }
    peer = {
      principal: parts && `${parts.trustDomain}/ns/${parts.namespace}/sa/${parts.serviceAccount}`,
      namespace: parts?.namespace,
      trustDomain: parts?.trustDomain,
      sourceIp: canonicalIpBytes(tunnel.sourceAddress),
    };
    peers.set(tunnel, peer);
  }
  return peer;
}

/**
 * Normalizes the path, authenticates and authorizes the request. Returns the path (with its
 * query) routing and the upstream request use, or undefined when the request was answered.
 * May edit `downstream.headers` as jwt_authn does (token removed, claims added).
 */
export async function admitRequest(
  downstream: Downstream,
  tunnel: TunnelContext,
  service: WaypointService,
  record: RequestRecord,
  context: AdmissionContext,
): Promise<string | undefined> {
  const normalized = normalizePath(downstream.path, context.pathNormalization?.());
  if (!normalized.ok) {
    // Envoy's reply to a path it cannot normalize: 400 without a body.
    replyLocally(downstream, record, 400, '');
    return undefined;
  }
  const policies = service.policies ?? [];
  const jwtRules = service.jwtRules ?? [];
  if (policies.length === 0 && jwtRules.length === 0) return normalized.full;

  let authentication: Authentication = { kind: 'anonymous' };
  if (jwtRules.length > 0) {
    const query = normalized.full.slice(normalized.path.length + 1);
    authentication = await authenticate(
      jwtRules,
      downstream.headers,
      query,
      (rule) => context.jwks.keys(rule),
      Date.now() / 1000,
    );
    if (authentication.kind === 'failed') {
      replyLocally(downstream, record, 401, authentication.message, {
        'www-authenticate': `Bearer realm="http://${downstream.authority}${normalized.path}", error="invalid_token"`,
      });
      return undefined;
    }
  }
  if (policies.length === 0) return normalized.full;

  const decision = authorize(policies, {
    peer: peerOf(tunnel),
    method: downstream.method.toUpperCase(),
    path: normalized.path,
    authority: downstream.authority,
    headers: downstream.headers,
    destinationIp: canonicalIpBytes(tunnel.destination.address),
    destinationPort: tunnel.destination.port,
    jwt: authentication.kind === 'verified' ? authentication.identity : undefined,
  });
  if (decision.audited) {
    context.logger.info(
      { service: record.service, identity: record.sourceIdentity, allowed: decision.allowed },
      'request audited',
    );
  }
  if (decision.allowed) return normalized.full;
  addFlag(record, 'RBAC');
  context.logger.debug(
    { service: record.service, identity: record.sourceIdentity, policy: decision.policy ?? 'none' },
    'request denied by policy',
  );
  replyLocally(downstream, record, 403, RBAC_DENIED);
  return undefined;
}

/**
 * Authorizes a tunnel that carries no HTTP (a TCP port, or a sniffed port that held no
 * HTTP); false when the connection must be closed, as Envoy's network RBAC filter does.
 */
export function admitConnection(tunnel: TunnelContext, logger: Logger): boolean {
  const policies = tunnel.target.service.policies ?? [];
  if (policies.length === 0) return true;
  const decision = authorizeConnection(policies, {
    peer: peerOf(tunnel),
    destinationIp: canonicalIpBytes(tunnel.destination.address),
    destinationPort: tunnel.destination.port,
  });
  if (!decision.allowed) {
    logger.debug(
      {
        service: `${tunnel.target.service.namespace}/${tunnel.target.service.hostname}`,
        identity: tunnel.sourceIdentity,
        policy: decision.policy ?? 'none',
      },
      'connection denied by policy',
    );
  }
  return decision.allowed;
}
