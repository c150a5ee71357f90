/**
 * Cross-object checks of VirtualServices: hosts that name no service, destinations whose
 * host or subset does not exist, two VirtualServices for one host, and VirtualServices no
 * waypoint applies. Pure: the model in, findings out.
 */
import type { Destination, VirtualServiceResource } from '../../api/resources/index.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshService } from '../model/services.js';
import { DestinationRuleIndex } from '../waypoint/destination-rules.js';
import {
  hostCovers,
  resolveHost,
  serviceForHostname,
  servicesByHostname,
} from '../waypoint/hosts.js';
import { compareAge } from '../waypoint/virtual-services.js';
import { message, type AnalysisMessage } from './message.js';
import { analyzed } from './resources.js';

export interface RoutingCheckOptions {
  readonly rootNamespace: string;
}

/** Only VirtualServices bound to the mesh (no `gateways`, or `mesh` among them) route mesh traffic. */
function appliesToMesh(vs: VirtualServiceResource): boolean {
  const gateways = vs.spec.gateways ?? [];
  return gateways.length === 0 || gateways.includes('mesh');
}

function namespaceOf(vs: VirtualServiceResource): string {
  return vs.metadata.namespace ?? 'default';
}

/** A VirtualService host that covers no Service or ServiceEntry host: it routes nothing. */
export function checkVirtualServiceHosts(model: MeshModel): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const vs of model.virtualServices.filter(appliesToMesh)) {
    const namespace = namespaceOf(vs);
    (vs.spec.hosts ?? []).forEach((host, i) => {
      const fqdn = resolveHost(host, namespace, model.domainSuffix);
      const covered = model.services.filter((s) => hostCovers(fqdn, s.hostname));
      if (covered.length === 0) {
        out.push(
          message('IST0101', analyzed(vs), {
            field: `spec.hosts[${i}]`,
            message: `Referenced host not found: "${host}" (${fqdn}) names no Service or ServiceEntry`,
            fix: 'correct the host, or create the Service (or ServiceEntry) it should route',
          }),
        );
        return;
      }
      const unbound = covered.filter((s) => s.waypoint.state !== 'bound');
      if (unbound.length === covered.length) {
        const names = unbound.map((s) => `${s.namespace}/${s.hostname}`).join(', ');
        out.push(
          message('AMB0007', analyzed(vs), {
            field: `spec.hosts[${i}]`,
            message: `no waypoint applies these routes: ${names} is not bound to a waypoint, and in ambient mode only a waypoint applies a VirtualService`,
            fix: `label the service or its namespace istio.io/use-waypoint=<waypoint>`,
          }),
        );
      }
    });
  }
  return out;
}

interface NamedDestination {
  readonly field: string;
  readonly destination: Destination;
}

function destinationsOf(vs: VirtualServiceResource): NamedDestination[] {
  const out: NamedDestination[] = [];
  (vs.spec.http ?? []).forEach((route, i) => {
    (route.route ?? []).forEach((d, j) =>
      out.push({ field: `spec.http[${i}].route[${j}].destination`, destination: d.destination }),
    );
    if (route.mirror !== undefined) {
      out.push({ field: `spec.http[${i}].mirror`, destination: route.mirror });
    }
    (route.mirrors ?? []).forEach((m, k) =>
      out.push({ field: `spec.http[${i}].mirrors[${k}].destination`, destination: m.destination }),
    );
  });
  for (const kind of ['tcp', 'tls'] as const) {
    (vs.spec[kind] ?? []).forEach((route, i) =>
      (route.route ?? []).forEach((d, j) =>
        out.push({
          field: `spec.${kind}[${i}].route[${j}].destination`,
          destination: d.destination,
        }),
      ),
    );
  }
  return out;
}

/**
 * A destination host no service has (the waypoint answers 503), or a subset no
 * DestinationRule for that host defines (503 NC at the waypoint).
 */
export function checkVirtualServiceDestinations(
  model: MeshModel,
  options: RoutingCheckOptions,
): AnalysisMessage[] {
  const byHostname = servicesByHostname(model.services);
  const rules = new DestinationRuleIndex(model.destinationRules, {
    domainSuffix: model.domainSuffix,
    rootNamespace: options.rootNamespace,
  });
  const out: AnalysisMessage[] = [];
  for (const vs of model.virtualServices.filter(appliesToMesh)) {
    const namespace = namespaceOf(vs);
    for (const { field, destination } of destinationsOf(vs)) {
      const fqdn = resolveHost(destination.host, namespace, model.domainSuffix);
      const service = serviceForHostname(byHostname.get(fqdn) ?? [], namespace);
      if (service === undefined) {
        out.push(
          message('IST0101', analyzed(vs), {
            field: `${field}.host`,
            message: `Referenced host not found: "${destination.host}" (${fqdn}); requests routed there get 503`,
            fix: 'correct the host, or create the Service (or ServiceEntry) it names',
          }),
        );
        continue;
      }
      const { subset } = destination;
      if (subset === undefined) continue;
      const proxyNamespace = waypointNamespace(service) ?? namespace;
      const rule = rules.lookup(fqdn, proxyNamespace, service.namespace);
      if (rule?.subsets.some((s) => s.name === subset) === true) continue;
      out.push(
        message('IST0101', analyzed(vs), {
          field: `${field}.subset`,
          message:
            rule === undefined
              ? `Referenced host+subset in destinationrule not found: "${fqdn}+${subset}": no DestinationRule for ${fqdn}; requests routed there get 503 (NC)`
              : `Referenced host+subset in destinationrule not found: "${fqdn}+${subset}": DestinationRule ${rule.source.namespace}/${rule.source.name} defines ${rule.subsets.map((s) => s.name).join(', ') || 'no subsets'}; requests routed there get 503 (NC)`,
          fix: `add subset ${subset} to the DestinationRule for ${fqdn}, or route to a subset it defines`,
        }),
      );
    }
  }
  return out;
}

function waypointNamespace(service: MeshService): string | undefined {
  return service.waypoint.state === 'bound' ? service.waypoint.waypoint.namespace : undefined;
}

/**
 * Two VirtualServices in one namespace for the same host (Istio's
 * ConflictingMeshGatewayVirtualServiceHosts). Ambit, like Istio's waypoints since 1.28,
 * applies them one after the other, oldest first, but which routes win then depends on age.
 */
export function checkConflictingVirtualServices(model: MeshModel): AnalysisMessage[] {
  const byHost = new Map<string, VirtualServiceResource[]>();
  for (const vs of model.virtualServices.filter(appliesToMesh)) {
    const namespace = namespaceOf(vs);
    const hosts = new Set(
      (vs.spec.hosts ?? []).map((h) => resolveHost(h, namespace, model.domainSuffix)),
    );
    for (const host of hosts) {
      const key = `${namespace}|${host}`;
      byHost.set(key, [...(byHost.get(key) ?? []), vs]);
    }
  }
  const out: AnalysisMessage[] = [];
  for (const [key, list] of byHost) {
    if (list.length < 2) continue;
    const host = key.slice(key.indexOf('|') + 1);
    const sorted = [...list].sort(compareAge);
    const names = sorted.map((vs) => `${namespaceOf(vs)}/${vs.metadata.name}`).join(', ');
    for (const vs of sorted) {
      const i = (vs.spec.hosts ?? []).findIndex(
        (h) => resolveHost(h, namespaceOf(vs), model.domainSuffix) === host,
      );
      out.push(
        message('IST0109', analyzed(vs), {
          field: `spec.hosts[${i}]`,
          message: `The VirtualServices ${names} associated with mesh gateway define the same host ${host}, which can lead to undefined behavior (the waypoint applies their routes oldest first)`,
          fix: 'merge the conflicting VirtualServices into a single resource',
        }),
      );
    }
  }
  return out;
}
