/**
 * Steps 2 and 3: what HOST:PORT names (a service by hostname, short name or VIP, or a
 * workload by IP) and the tunnel the source's node tunnel opens for it: straight to an
 * endpoint, or to the waypoint (and why that waypoint). Decided by ztunnel's own
 * `resolveDestination` on the state a node tunnel would hold.
 */
import { isIP } from 'node:net';
import { USE_WAYPOINT } from '../../controlplane/model/labels.js';
import type { WaypointBinding } from '../../controlplane/model/waypoints.js';
import { resolveDestination } from '../../ztunnel/state/resolve.js';
import type { Service, Workload } from '../../ztunnel/state/types.js';
import { ExplainInputError } from './errors.js';
import type { EndpointRef, Outcome, Step } from './explanation.js';
import { addressOf, type MeshView } from './mesh-view.js';

export interface Target {
  readonly address: string;
  readonly port: number;
  /** The name the request used, for the default `Host` header. */
  readonly authority: string;
}

/** `host:port` or `[v6]:port`. */
export function parseTarget(to: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(to);
  const plain = /^([^:]+):(\d+)$/.exec(to);
  const match = v6 ?? plain;
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ExplainInputError(
      '--to',
      to,
      'must be HOST:PORT (a hostname, short name or IP, and a port)',
    );
  }
  return { host: match[1]!, port };
}

/**
 * The names a pod's resolver tries for `host` (the Kubernetes search path of a pod in
 * `namespace`: `<ns>.svc.<suffix>`, `svc.<suffix>`, `<suffix>`), the name itself first.
 */
function searchPath(host: string, namespace: string, suffix: string): string[] {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (host.endsWith('.')) return [name];
  return [name, `${name}.${namespace}.svc.${suffix}`, `${name}.svc.${suffix}`, `${name}.${suffix}`];
}

export type Resolved =
  | { kind: 'service'; service: Service; vip: string; port: number; hostname?: string }
  | { kind: 'workload'; workload: Workload; address: string; port: number }
  | { kind: 'outside'; address: string; port: number; hostname?: string };

export function resolveTarget(view: MeshView, to: string, source: Workload): Resolved {
  const { host, port } = parseTarget(to);
  if (isIP(host)) {
    const service = view.proxy.serviceByVip(host);
    if (service !== undefined) return { kind: 'service', service, vip: host, port };
    const workload = view.proxy.workloadByIp(host);
    if (workload !== undefined) return { kind: 'workload', workload, address: host, port };
    return { kind: 'outside', address: host, port };
  }
  for (const name of searchPath(host, source.namespace, view.served.domainSuffix)) {
    const entry = view.serviceByHostname(name, source.namespace);
    if (entry === undefined) continue;
    const vip = entry.vips.find((v) => !v.includes(':')) ?? entry.vips[0];
    if (vip === undefined) {
      throw new ExplainInputError(
        '--to',
        to,
        `${entry.namespace}/${name} is headless (no VIP): name a pod IP instead`,
      );
    }
    const service = view.proxy.serviceByVip(vip);
    if (service !== undefined) return { kind: 'service', service, vip, port, hostname: name };
  }
  throw new ExplainInputError(
    '--to',
    to,
    `no service is named ${host} (tried ${searchPath(host, source.namespace, view.served.domainSuffix).join(', ')})`,
  );
}

export function destinationStep(resolved: Resolved): Extract<Step, { kind: 'destination' }> {
  switch (resolved.kind) {
    case 'service': {
      const { service, vip, port } = resolved;
      const mapping = service.ports.find((p) => p.servicePort === port);
      const targetPort = mapping === undefined ? undefined : mapping.targetPort || port;
      return {
        kind: 'destination',
        summary:
          mapping === undefined
            ? `service ${service.key} (VIP ${vip}) has no port ${port}`
            : `service ${service.key} (VIP ${vip}), port ${port} → target port ${targetPort === 0 ? 'named per workload' : targetPort}`,
        target: 'service',
        service: service.key,
        vip,
        port,
        ...(targetPort !== undefined && { targetPort }),
      };
    }
    case 'workload':
      return {
        kind: 'destination',
        summary: `workload ${resolved.workload.namespace}/${resolved.workload.name} (${resolved.address}), port ${resolved.port}`,
        target: 'workload',
        workload: `${resolved.workload.namespace}/${resolved.workload.name}`,
        port: resolved.port,
      };
    case 'outside':
      return {
        kind: 'destination',
        summary: `${resolved.address} is not a service or workload of the mesh`,
        target: 'outside-mesh',
        port: resolved.port,
      };
  }
}

/** An endpoint a tunnel (or a plaintext connection) reaches, with the port the app listens on. */
export interface Hop {
  readonly workload: Workload;
  readonly address: string;
  readonly port: number;
}

export type Path =
  | {
      kind: 'waypoint';
      service?: Service;
      vip: string;
      port: number;
      /** `namespace/name` of the waypoint's service. */
      waypoint: string;
      waypointWorkload: Workload;
    }
  | { kind: 'direct' | 'plaintext'; hops: readonly Hop[] }
  | { kind: 'stop'; outcome: Outcome };

function hopRefs(view: MeshView, hops: readonly Hop[]): EndpointRef[] {
  return hops.map((h) => view.endpointRef(h.address, h.port, h.workload.healthy));
}

function bindingReason(
  binding: WaypointBinding | undefined,
  object: string,
  namespace: string,
): string | undefined {
  if (binding?.state !== 'bound') return undefined;
  const name = binding.waypoint.name;
  return binding.via === 'object'
    ? `${object} has ${USE_WAYPOINT}=${name}`
    : `namespace ${namespace} has ${USE_WAYPOINT}=${name}`;
}

/** Why traffic to the target goes through a waypoint, from the model's binding. */
function waypointReason(view: MeshView, resolved: Resolved): string {
  const model = view.served.model;
  if (resolved.kind === 'service') {
    const s = resolved.service;
    const service = model?.services.find(
      (m) => m.namespace === s.namespace && m.hostname === s.hostname,
    );
    const kind = service?.source === 'ServiceEntry' ? 'ServiceEntry' : 'Service';
    return (
      bindingReason(service?.waypoint, `${kind} ${s.namespace}/${s.name}`, s.namespace) ??
      'the control plane binds the service to it'
    );
  }
  if (resolved.kind === 'workload') {
    const w = resolved.workload;
    const pod = model?.pods.find((p) => p.namespace === w.namespace && p.name === w.name);
    return (
      bindingReason(pod?.waypoint, `Pod ${w.namespace}/${w.name}`, w.namespace) ??
      'the control plane binds the workload to it'
    );
  }
  return '';
}

/** The endpoints a plaintext client reaches a service through (kube-proxy's pick, at random). */
function serviceHops(view: MeshView, service: Service, port: number): Hop[] {
  return view.proxy.endpointsOf(service, port).map((e) => ({
    workload: e.workload,
    address: addressOf(e.workload),
    port: e.port,
  }));
}

export function tunnel(
  view: MeshView,
  source: Workload,
  captured: boolean,
  resolved: Resolved,
): { step: Extract<Step, { kind: 'tunnel' }>; path: Path } {
  if (resolved.kind === 'outside') {
    const outcome: Outcome = {
      kind: 'outside-mesh',
      summary: `plain TCP to ${resolved.address}:${resolved.port}: outside the mesh, no policy applies`,
    };
    return {
      step: {
        kind: 'tunnel',
        summary: 'no tunnel: the destination is outside the mesh',
        via: 'none',
        reason: outcome.summary,
      },
      path: { kind: 'stop', outcome },
    };
  }
  if (!captured) {
    // Without a node tunnel at the source nothing sends the connection to a waypoint: it
    // reaches an endpoint in plaintext (kube-proxy picks one for a VIP), whose node tunnel
    // still applies its policies.
    const hops =
      resolved.kind === 'service'
        ? serviceHops(view, resolved.service, resolved.port)
        : [{ workload: resolved.workload, address: resolved.address, port: resolved.port }];
    return {
      step: {
        kind: 'tunnel',
        summary: `no tunnel: the connection goes in plaintext straight to ${hops.length === 1 ? 'the endpoint' : `one of ${hops.length} endpoints`}, bypassing any waypoint`,
        via: 'plaintext',
        reason: 'the source is not captured by a node tunnel',
        endpoints: hopRefs(view, hops),
      },
      path: { kind: 'plaintext', hops },
    };
  }
  const address = resolved.kind === 'service' ? resolved.vip : resolved.address;
  const destination = resolveDestination(view.proxy, { address, port: resolved.port }, () => 0);
  const from = source.node === '' ? 'the node tunnel' : `the node tunnel on ${source.node}`;
  switch (destination.kind) {
    case 'unavailable':
    case 'passthrough': {
      const outcome: Outcome =
        destination.kind === 'unavailable'
          ? {
              kind: 'unavailable',
              summary: `connection reset by ${from}: ${destination.reason}`,
              connectionReset: true,
            }
          : {
              kind: 'outside-mesh',
              summary: `plain TCP to ${address}:${resolved.port}: passthrough, no policy applies`,
            };
      return {
        step: { kind: 'tunnel', summary: outcome.summary, via: 'none', reason: outcome.summary },
        path: { kind: 'stop', outcome },
      };
    }
  }
  if (destination.waypoint !== undefined) {
    const waypointService = view.proxy.serviceByVip(destination.waypoint.address);
    const candidates = waypointService
      ? view.proxy
          .endpointsOf(waypointService, destination.waypoint.hboneMtlsPort)
          .map((e) => e.workload)
      : [view.proxy.workloadByIp(destination.waypoint.address)].filter(
          (w): w is Workload => w?.healthy === true,
        );
    const name = waypointService
      ? `${waypointService.namespace}/${waypointService.name}`
      : destination.waypoint.address;
    const reason = waypointReason(view, resolved);
    const waypointWorkload = candidates[0];
    const endpoints = candidates.map((w) =>
      view.endpointRef(addressOf(w), destination.waypoint?.hboneMtlsPort ?? 15008, w.healthy),
    );
    if (waypointWorkload === undefined) {
      const outcome: Outcome = {
        kind: 'unavailable',
        summary: `connection reset by ${from}: waypoint ${name} has no healthy endpoint`,
        connectionReset: true,
      };
      return {
        step: {
          kind: 'tunnel',
          summary: outcome.summary,
          via: 'waypoint',
          waypoint: name,
          reason,
          waypointEndpoints: [],
        },
        path: { kind: 'stop', outcome },
      };
    }
    return {
      step: {
        kind: 'tunnel',
        summary: `HBONE from ${from} to waypoint ${name} (${endpoints.map((e) => `${e.address}:${e.port}`).join(', ')}), :authority ${address}:${resolved.port}, because ${reason}`,
        via: 'waypoint',
        waypoint: name,
        waypointEndpoints: endpoints,
        reason,
      },
      path: {
        kind: 'waypoint',
        ...(resolved.kind === 'service' && { service: resolved.service }),
        vip: address,
        port: resolved.port,
        waypoint: name,
        waypointWorkload,
      },
    };
  }
  const hops: Hop[] =
    destination.kind === 'service'
      ? view.proxy.endpointsOf(destination.service, resolved.port).map((e) => ({
          workload: e.workload,
          address: addressOf(e.workload, address),
          port: e.port,
        }))
      : [{ workload: destination.workload, address, port: destination.port }];
  const mesh = hops.every((h) => h.workload.protocol === 'HBONE');
  return {
    step: {
      kind: 'tunnel',
      summary: `${mesh ? 'HBONE' : 'plain TCP'} from ${from} straight to ${hops.length === 1 ? 'the endpoint' : `one of ${hops.length} endpoints, chosen at random`}: ${hops.map((h) => `${h.workload.namespace}/${h.workload.name} ${h.address}:${h.port}`).join(', ')}`,
      via: 'direct',
      reason: 'no waypoint is bound to the destination',
      endpoints: hopRefs(view, hops),
    },
    path: { kind: 'direct', hops },
  };
}
