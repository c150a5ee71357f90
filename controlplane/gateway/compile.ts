/**
 * The ingress gateway compiler: for every gateway pod some Gateway configures, the
 * GatewayProxy it runs (api/gateway/config.ts). Servers of every Gateway selecting the pod are
 * gathered per port (the first server's protocol decides the port; a server asking for
 * another is left out with an issue), routes come from the VirtualServices and HTTPRoutes
 * bound to them (the waypoint's route compilers), clusters and DestinationRules are resolved
 * as for a waypoint in the pod's namespace. Pure; never throws on validated config.
 */
import {
  gatewayProxyName,
  type GatewayListener,
  type GatewayProxy,
} from '../../api/gateway/config.js';
import type { ModelIssue } from '../model/issues.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { PodWorkload } from '../model/workloads.js';
import { ClusterSet } from '../waypoint/clusters.js';
import {
  compileContext,
  type CompileContext,
  type WaypointCompileOptions,
} from '../waypoint/context.js';
import { refOf } from '../waypoint/refs.js';
import { telemetryIndex, type TelemetryIndex } from '../waypoint/telemetry.js';
import type { GatewayCompileContext } from './context.js';
import { SecretIndex } from './credentials.js';
import { kubernetesGatewayServers } from './gateway-api.js';
import { istioGatewayServers, type PortServer } from './istio-gateway.js';
import { gatewayTelemetry } from './telemetry.js';
import { throughWaypoints } from './use-waypoint.js';
import { kubernetesGatewaySelectsPod, selectsPod } from './workloads.js';

export interface CompiledGateways {
  /** By resource name, `namespace/serviceAccount/name`. */
  readonly gateways: ReadonlyMap<string, GatewayProxy>;
  readonly issues: readonly ModelIssue[];
}

function listeners(servers: readonly PortServer[], pod: PodWorkload, ctx: CompileContext) {
  const byPort = new Map<
    number,
    { protocol: GatewayListener['protocol']; servers: PortServer[] }
  >();
  for (const entry of servers) {
    const existing = byPort.get(entry.port);
    if (existing === undefined)
      byPort.set(entry.port, { protocol: entry.protocol, servers: [entry] });
    else if (existing.protocol === entry.protocol) existing.servers.push(entry);
    else
      ctx.issues.add({
        code: 'RouteFeatureUnsupported',
        object: refOf(pod.resource),
        field: entry.server.origin,
        reason: `port ${entry.port} is already ${existing.protocol}; this server asks for ${entry.protocol}`,
      });
  }
  return [...byPort]
    .sort(([a], [b]) => a - b)
    .map(([port, { protocol, servers: list }]): GatewayListener => ({
      port,
      protocol,
      servers: list.map((s) => s.server),
    }));
}

function compilePod(
  pod: PodWorkload,
  ctx: CompileContext,
  secrets: SecretIndex,
  telemetry: TelemetryIndex,
): GatewayProxy | undefined {
  const { model } = ctx;
  const istio = model.gateways.filter((g) => selectsPod(g, pod));
  const kube = model.kubernetesGateways.filter((g) => kubernetesGatewaySelectsPod(g, pod));
  if (istio.length === 0 && kube.length === 0) return undefined;
  const gctx: GatewayCompileContext = {
    compile: ctx,
    clusters: new ClusterSet(ctx, pod.namespace),
    secrets,
    podNamespace: pod.namespace,
  };
  const servers = [
    ...istio.flatMap((g) => istioGatewayServers(g, model.virtualServices, gctx)),
    ...kube.flatMap((g) => kubernetesGatewayServers(g, model.httpRoutes, gctx)),
  ];
  const clusters = throughWaypoints(
    gctx.clusters.list(),
    model,
    ctx.servicesByHostname,
    pod.namespace,
    ctx.options.trustDomain,
  );
  return {
    namespace: pod.namespace,
    serviceAccount: pod.serviceAccount,
    name: pod.name,
    listeners: listeners(servers, pod, ctx),
    clusters,
    telemetry: gatewayTelemetry(pod, clusters, telemetry),
  };
}

export function compileGateways(
  model: MeshModel,
  options: WaypointCompileOptions,
): CompiledGateways {
  const ctx = compileContext(model, options);
  const secrets = new SecretIndex(model.secrets);
  const telemetry = telemetryIndex(model, options);
  const gateways = new Map<string, GatewayProxy>();
  for (const pod of model.pods) {
    if (pod.terminal) continue;
    const config = compilePod(pod, ctx, secrets, telemetry);
    if (config !== undefined) gateways.set(gatewayProxyName(config), config);
  }
  return { gateways, issues: ctx.issues.list };
}
