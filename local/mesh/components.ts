import type { ClusterNode } from '../topology.js';

// How the mesh's programs are started on a local cluster: their ports and flags, and the
// Kubernetes objects the local runtime writes for what an API server would hold. One place,
// used by `ambit local` and by the test harness (test/support/mesh.ts).

/** The control plane's gRPC port on the cluster bridge (Istio's 15012). */
export const CONTROL_PLANE_PORT = 15012;
/** A name the control plane's serving certificate always carries (controlplane/ca/serving.ts). */
export const CONTROL_PLANE_SERVERNAME = 'istiod.istio-system.svc';
/** ztunnel's readiness port, on every address of its node. */
export const ZTUNNEL_READINESS_PORT = 15021;
/** A proxy's admin port (`/config_dump`), on the loopback of its namespace. */
export const PROXY_ADMIN_PORT = 15000;
/** A proxy's metrics port (`/metrics`, `/stats/prometheus`). */
export const PROXY_METRICS_PORT = 15020;
/** The node agent's /ready, on its node's loopback (Istio's CNI agent uses 8000 too). */
export const AGENT_ADMIN_PORT = 8000;
/** Where a waypoint takes HBONE (its Gateway's `mesh` listener). */
export const WAYPOINT_HBONE_PORT = 15008;
/** The namespace of the mesh's own programs. */
export const SYSTEM_NAMESPACE = 'istio-system';

/** Where the control plane listens and how its certificate is checked. */
export interface ControlPlaneAddress {
  /** `ip:port` on the cluster bridge. */
  readonly address: string;
  readonly rootCertFile: string;
  readonly servername: string;
}

/** One entry of the control plane's static tokens file. */
export interface TokenEntry {
  token: string;
  namespace: string;
  serviceAccount: string;
  node?: string;
}

export function controlPlaneArgs(options: {
  configDir: string;
  tokensFile: string;
  stateDir: string;
  address: string;
  monitoring: string;
}): string[] {
  return [
    'controlplane',
    '--config',
    options.configDir,
    '--tokens',
    options.tokensFile,
    '--state-dir',
    options.stateDir,
    '--listen',
    options.address,
    '--monitoring',
    options.monitoring,
  ];
}

export function agentArgs(node: ClusterNode, configDir: string): string[] {
  return [
    'cni-agent',
    '--node',
    node.name,
    '--config',
    configDir,
    '--cni-socket',
    node.cniSocket,
    '--zds-socket',
    node.zdsSocket,
    '--state-dir',
    node.agentStateDir,
    '--admin',
    `127.0.0.1:${AGENT_ADMIN_PORT}`,
  ];
}

export function ztunnelArgs(
  node: ClusterNode,
  controlPlane: ControlPlaneAddress,
  tokenFile: string,
): string[] {
  return [
    'ztunnel',
    '--node',
    node.name,
    ...controlPlaneFlags(controlPlane, tokenFile),
    '--zds-socket',
    node.zdsSocket,
  ];
}

export function waypointArgs(
  waypoint: { name: string; namespace: string; serviceAccount: string },
  controlPlane: ControlPlaneAddress,
  tokenFile: string,
): string[] {
  return proxyArgs('waypoint', waypoint, controlPlane, tokenFile);
}

/** `ambit gateway`: the same flags as a waypoint; `name` is the gateway pod's. */
export function gatewayArgs(
  gateway: { name: string; namespace: string; serviceAccount: string },
  controlPlane: ControlPlaneAddress,
  tokenFile: string,
): string[] {
  return proxyArgs('gateway', gateway, controlPlane, tokenFile);
}

function proxyArgs(
  program: 'waypoint' | 'gateway',
  proxy: { name: string; namespace: string; serviceAccount: string },
  controlPlane: ControlPlaneAddress,
  tokenFile: string,
): string[] {
  return [
    program,
    '--name',
    proxy.name,
    '--namespace',
    proxy.namespace,
    '--service-account',
    proxy.serviceAccount,
    ...controlPlaneFlags(controlPlane, tokenFile),
  ];
}

/** How every proxy reaches the control plane (xDS and the CA at one address) and as whom. */
function controlPlaneFlags(controlPlane: ControlPlaneAddress, tokenFile: string): string[] {
  return [
    '--xds-address',
    controlPlane.address,
    '--ca-root',
    controlPlane.rootCertFile,
    '--servername',
    controlPlane.servername,
    '--token-file',
    tokenFile,
  ];
}

export interface ContainerPort {
  containerPort: number;
  name?: string;
}

/** What the local runtime knows of a running pod, to write its Pod object. */
export interface RunningPod {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  ip: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  serviceAccount: string;
  ports?: readonly (number | ContainerPort)[];
}

/** The Pod object the API server would hold once the pod runs: scheduled, Running, Ready. */
export function podObject(pod: RunningPod): object {
  const ports = (pod.ports ?? []).map((p) =>
    typeof p === 'number' ? { containerPort: p, protocol: 'TCP' } : { ...p, protocol: 'TCP' },
  );
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: pod.name,
      namespace: pod.namespace,
      uid: pod.uid,
      labels: pod.labels,
      ...(pod.annotations ? { annotations: pod.annotations } : {}),
    },
    spec: {
      nodeName: pod.node,
      serviceAccountName: pod.serviceAccount,
      containers: [{ name: 'app', image: 'local', ports }],
    },
    status: {
      phase: 'Running',
      podIP: pod.ip,
      podIPs: [{ ip: pod.ip }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

export interface ServicePort {
  port: number;
  /** A number or a container port name; default the same as `port`. */
  targetPort?: number | string;
  name?: string;
  appProtocol?: string;
}

export interface ServiceSpec {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  ports: ServicePort[];
  labels?: Record<string, string>;
}

export function serviceObject(spec: ServiceSpec, clusterIP: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels ?? {} },
    spec: {
      clusterIP,
      clusterIPs: [clusterIP],
      selector: spec.selector,
      ports: spec.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        protocol: 'TCP',
        port: p.port,
        targetPort: p.targetPort ?? p.port,
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      })),
    },
  };
}
