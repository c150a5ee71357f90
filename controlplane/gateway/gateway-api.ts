/**
 * The listeners of a Gateway API Gateway of class `istio` as one gateway pod runs them, with
 * the HTTPRoutes attached to them (Istio's conversion in pilot/pkg/config/kube/gateway):
 *
 * - an HTTPRoute attaches to a listener when a parentRef names the Gateway (and the listener
 *   by `sectionName` or `port`, when given) and the listener's `allowedRoutes` admits the
 *   route's namespace (Same by default);
 * - its `hostnames` meet the listener's `hostname` in the more specific of the two (no
 *   hostnames: the listener's); no meeting point, no attachment;
 * - HTTPS listeners terminate with the first `certificateRefs` Secret (same namespace);
 *   TLS listeners in Passthrough mode have no routes here (TLSRoute is not read).
 */
import type {
  HTTPRouteResource,
  KubernetesGatewayResource,
  Listener,
} from '../../api/resources/index.js';
import type { ServerTls, VirtualHost } from '../../api/gateway/config.js';
import { selectorMatches } from '../ambient/selector.js';
import { compact } from '../waypoint/compact.js';
import { gatewayHttpRoutes, type AttachedRoute } from '../waypoint/httproute.js';
import { refOf } from '../waypoint/refs.js';
import { sourceAddresses } from '../waypoint/sources.js';
import { compareAge } from '../waypoint/virtual-services.js';
import type { GatewayCompileContext, ListenerProtocol } from './context.js';
import { secretCredential } from './credentials.js';
import { intersectHosts } from './hosts.js';
import type { PortServer } from './istio-gateway.js';

/** The listener protocols the ingress gateway serves (HBONE and UDP it does not). */
const LISTENER_PROTOCOLS: ReadonlyMap<string, ListenerProtocol> = new Map([
  ['HTTP', 'http'],
  ['HTTPS', 'https'],
  ['TLS', 'tls'],
  ['TCP', 'tcp'],
]);

function allows(
  listener: Listener,
  gatewayNamespace: string,
  routeNamespace: string,
  ctx: GatewayCompileContext,
): boolean {
  const { from, selector } = listener.allowedRoutes.namespaces;
  if (from === 'All') return true;
  if (from === 'Same') return routeNamespace === gatewayNamespace;
  const labels = ctx.compile.model.namespaces.get(routeNamespace)?.labels ?? {};
  return selectorMatches(selector ?? {}, labels);
}

function attaches(
  route: HTTPRouteResource,
  gateway: KubernetesGatewayResource,
  listener: Listener,
): boolean {
  const routeNamespace = route.metadata.namespace ?? 'default';
  const gatewayNamespace = gateway.metadata.namespace ?? 'default';
  return (route.spec.parentRefs ?? []).some(
    (p) =>
      p.group === 'gateway.networking.k8s.io' &&
      p.kind === 'Gateway' &&
      p.name === gateway.metadata.name &&
      (p.namespace ?? routeNamespace) === gatewayNamespace &&
      (p.sectionName === undefined || p.sectionName === listener.name) &&
      (p.port === undefined || p.port === listener.port),
  );
}

function listenerTls(
  listener: Listener,
  gatewayNamespace: string,
  ctx: GatewayCompileContext,
): ServerTls | undefined {
  const tls = listener.tls;
  if (tls === undefined) return undefined;
  if (tls.mode === 'Passthrough') return { mode: 'passthrough' };
  const [ref] = tls.certificateRefs ?? [];
  if (ref === undefined) return { mode: 'simple', problem: 'no certificateRefs' };
  const namespace = ref.namespace ?? gatewayNamespace;
  if (ref.group !== '' || ref.kind !== 'Secret' || namespace !== gatewayNamespace)
    return {
      mode: 'simple',
      problem: 'certificateRefs[0] must name a Secret in the Gateway namespace',
    };
  return compact({
    mode: 'simple' as const,
    ...secretCredential(ctx.secrets, namespace, ref.name, false),
  });
}

export function kubernetesGatewayServers(
  gateway: KubernetesGatewayResource,
  routes: readonly HTTPRouteResource[],
  ctx: GatewayCompileContext,
): PortServer[] {
  const namespace = gateway.metadata.namespace ?? 'default';
  const fullName = `${namespace}/${gateway.metadata.name}`;
  const { model } = ctx.compile;
  const sorted = [...routes].sort(compareAge);
  const out: PortServer[] = [];
  for (const listener of gateway.spec.listeners) {
    const protocol = LISTENER_PROTOCOLS.get(listener.protocol);
    if (protocol === undefined) {
      ctx.compile.issues.add({
        code: 'RouteFeatureUnsupported',
        object: refOf(gateway),
        field: `spec.listeners[${listener.name}].protocol`,
        reason: `protocol ${listener.protocol} is not served by the ingress gateway`,
      });
      continue;
    }
    const listenerHost = listener.hostname ?? '*';
    const tls = listenerTls(listener, namespace, ctx);
    const byDomain = new Map<string, AttachedRoute[]>();
    if (protocol === 'http' || protocol === 'https') {
      for (const route of sorted) {
        const routeNamespace = route.metadata.namespace ?? 'default';
        if (
          !attaches(route, gateway, listener) ||
          !allows(listener, namespace, routeNamespace, ctx)
        )
          continue;
        const written = route.spec.hostnames ?? [];
        const hosts = written.length === 0 ? [listenerHost] : written;
        for (const host of hosts) {
          const met = intersectHosts(host.toLowerCase(), listenerHost);
          if (met === undefined) continue;
          const list = byDomain.get(met) ?? [];
          list.push({ route, ports: 'all' });
          byDomain.set(met, list);
        }
      }
    }
    const rc = {
      compile: ctx.compile,
      clusters: ctx.clusters,
      match: {
        port: listener.port,
        pinPort: false,
        sources: (labels: Readonly<Record<string, string>> | undefined, ns: string | undefined) =>
          sourceAddresses(model, labels, ns),
      },
    };
    const virtualHosts: VirtualHost[] = [...byDomain].map(([domain, attached]) => ({
      domains: [domain],
      routes: gatewayHttpRoutes(attached, rc),
    }));
    out.push({
      port: listener.port,
      protocol,
      server: compact({
        origin: `Gateway ${fullName} listeners[${listener.name}]`,
        hosts: [listenerHost],
        tls,
        virtualHosts,
        tcp: [],
      }),
    });
  }
  return out;
}
