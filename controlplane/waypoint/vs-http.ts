/**
 * A VirtualService's HTTP routes for one port of a waypoint's service (Istio's
 * waypointInboundRoute and translateRoute): routes in order; a match that cannot apply on
 * this port is dropped, and a route left without matches with it; the first catch-all ends
 * the list.
 */
import type {
  HTTPRoute as IstioHttpRoute,
  VirtualServiceResource,
} from '../../api/resources/index.js';
import { durationMs } from '../../api/schema/index.js';
import type {
  HttpRoute,
  Mirror,
  RequestMatch,
  RouteAction,
  RouteDestination,
} from '../../api/waypoint/config.js';
import type { ObjectRef } from '../model/issues.js';
import { compact } from './compact.js';
import { translateHeaders } from './headers.js';
import { resolveHost } from './hosts.js';
import { refOf } from './refs.js';
import { retryPolicy } from './retry.js';
import type { RouteContext } from './route-context.js';
import {
  directAction,
  redirectAction,
  translateCors,
  translateFault,
  translateRewrite,
} from './vs-actions.js';
import { isCatchAll, translateMatch } from './vs-match.js';

interface Source {
  readonly ref: ObjectRef;
  readonly namespace: string;
}

function destinations(http: IstioHttpRoute, source: Source, ctx: RouteContext): RouteDestination[] {
  const routes = http.route ?? [];
  // With several destinations Istio drops the ones weighing 0; a single one takes everything.
  const kept = routes.length === 1 ? routes : routes.filter((r) => (r.weight ?? 0) > 0);
  return kept.map((r) => {
    const headers = translateHeaders(r.headers);
    const { destination } = r;
    return compact({
      cluster: ctx.clusters.resolve(
        {
          host: resolveHost(destination.host, source.namespace, ctx.compile.model.domainSuffix),
          subset: destination.subset,
          port: destination.port?.number,
        },
        ctx.match.port,
        source.ref,
      ),
      weight: routes.length === 1 ? 100 : (r.weight ?? 0),
      headers: headers.operations,
      authority: headers.authority,
    });
  });
}

/** Istio's MirrorPercent: 100 % unless set; set to 0, no mirroring. */
function mirrors(http: IstioHttpRoute, source: Source, ctx: RouteContext): Mirror[] | undefined {
  const resolve = (d: { host: string; subset?: string; port?: { number: number } }) =>
    ctx.clusters.resolve(
      {
        host: resolveHost(d.host, source.namespace, ctx.compile.model.domainSuffix),
        subset: d.subset,
        port: d.port?.number,
      },
      ctx.match.port,
      source.ref,
    );
  const out: Mirror[] = [];
  if (http.mirror !== undefined) {
    const legacy = http.mirrorPercent ?? http.mirror_percent;
    const percentage = http.mirrorPercentage?.value ?? legacy ?? 100;
    if (percentage > 0) out.push({ cluster: resolve(http.mirror), percentage });
  }
  for (const policy of http.mirrors ?? []) {
    const percentage = policy.percentage?.value ?? 100;
    if (percentage > 0) out.push({ cluster: resolve(policy.destination), percentage });
  }
  return out.length > 0 ? out : undefined;
}

function translate(
  http: IstioHttpRoute,
  matches: RequestMatch[],
  origin: string,
  source: Source,
  ctx: RouteContext,
): HttpRoute {
  const headers = translateHeaders(http.headers);
  const forwards = http.redirect === undefined && http.directResponse === undefined;
  let action: RouteAction;
  if (http.redirect !== undefined) action = redirectAction(http.redirect);
  else if (http.directResponse !== undefined) action = directAction(http.directResponse);
  else action = { kind: 'route', destinations: destinations(http, source, ctx) };
  return compact({
    origin,
    name: http.name,
    matches,
    action,
    rewrite: forwards ? translateRewrite(http.rewrite, headers.authority) : undefined,
    headers: headers.operations,
    timeoutMs: http.timeout === undefined ? undefined : durationMs(http.timeout),
    retries: retryPolicy(http.retries),
    fault: translateFault(http.fault),
    mirrors: forwards ? mirrors(http, source, ctx) : undefined,
    cors: translateCors(http.corsPolicy),
  });
}

export function virtualServiceHttpRoutes(
  vs: VirtualServiceResource,
  ctx: RouteContext,
): HttpRoute[] {
  const namespace = vs.metadata.namespace ?? 'default';
  const source: Source = { ref: refOf(vs), namespace };
  const out: HttpRoute[] = [];
  for (const [i, http] of (vs.spec.http ?? []).entries()) {
    const origin = `VirtualService ${namespace}/${vs.metadata.name} http[${i}]`;
    if (http.delegate !== undefined) {
      ctx.compile.issues.add({
        code: 'RouteFeatureUnsupported',
        object: source.ref,
        field: `spec.http[${i}].delegate`,
        reason: 'delegating to another VirtualService is not supported for waypoints',
      });
      continue;
    }
    const written = http.match ?? [];
    const matches: RequestMatch[] = [];
    let catchAll = written.length === 0;
    for (const match of written) {
      const translated = translateMatch(match, ctx.match);
      if (translated === undefined) continue;
      matches.push(translated);
      if (isCatchAll(translated)) {
        catchAll = true;
        break;
      }
    }
    if (written.length === 0 && ctx.match.pinPort) matches.push({ port: ctx.match.port });
    if (written.length > 0 && matches.length === 0) continue;
    out.push(translate(http, matches, origin, source, ctx));
    if (catchAll) break;
  }
  return out;
}
