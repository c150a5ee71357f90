import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { MeshError } from '../core/errors.js';
import {
  addNetworkList,
  delNetworkList,
  type ChainOptions,
  type NetworkConfigList,
  type RuntimeConfig,
} from './cni-chain.js';
import { ip } from './command.js';
import { clusterNames, POD_INTERFACE } from './names.js';
import { NETNS_DIR, nodeByName, type ClusterNode, type ClusterTopology } from './topology.js';

/** Debian's containernetworking-plugins (bridge, host-local, loopback). */
export const CNI_PLUGIN_DIR = '/usr/lib/cni';

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface LocalPod extends PodRef {
  /** The node name. */
  readonly node: string;
  /** Stands in for the pod sandbox's container id in CNI calls. */
  readonly sandboxId: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly ip: string;
}

export interface PodNetworkOptions {
  /** A directory holding `ambit-cni`: when set, the chain ends with Ambit's plugin. */
  readonly ambitCniDir?: string;
  /** Extra environment for the plugins (for instance AMBIT_LOG_LEVEL). */
  readonly env?: Readonly<Record<string, string>>;
}

export class PodNetworkError extends MeshError {
  readonly code = 'AMBIT_LOCAL_POD';
  constructor(
    readonly pod: PodRef,
    readonly node: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`pod ${pod.namespace}/${pod.name} on ${node}: ${reason}`, options);
  }
}

const LOOPBACK: NetworkConfigList = {
  cniVersion: '1.0.0',
  name: 'loopback',
  plugins: [{ type: 'loopback' }],
};

/**
 * The pod network of one node: the bridge plugin puts the pod on the node's pod bridge
 * (gateway there, no masquerade: pods keep their addresses across nodes), host-local hands
 * out the node's pod CIDR with its state under the node's own directory, and Ambit's
 * plugin, when asked for, tells the node agent about the pod.
 */
export function podNetworkList(
  node: ClusterNode,
  options: PodNetworkOptions = {},
): NetworkConfigList {
  return {
    cniVersion: '1.0.0',
    name: 'ambit',
    plugins: [
      {
        type: 'bridge',
        bridge: node.podBridge,
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: node.podCidr, gateway: node.podGateway }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: join(node.stateDir, 'ipam'),
        },
      },
      ...(options.ambitCniDir
        ? [{ type: 'ambit-cni', agentSocket: node.cniSocket, stateDir: node.agentStateDir }]
        : []),
    ],
  };
}

/**
 * Creates a pod's network namespace and runs the node's CNI chain for it inside the node's
 * namespace, as the container runtime on that node would: loopback first, then the pod
 * network. On failure the pod is taken down again.
 */
export async function addPod(
  cluster: ClusterTopology,
  nodeName: string,
  pod: PodRef,
  options: PodNetworkOptions = {},
): Promise<LocalPod> {
  const node = nodeByName(cluster, nodeName);
  const sandboxId = createHash('sha256')
    .update(`${cluster.prefix}/${pod.namespace}/${pod.name}/${pod.uid}`)
    .digest('hex');
  const netns = clusterNames(cluster.prefix, cluster.stateRoot).podNetns(sandboxId);
  const partial = { ...pod, node: node.name, sandboxId, netns, netnsPath: join(NETNS_DIR, netns) };
  try {
    await ip(['netns', 'add', netns]);
  } catch (err) {
    throw new PodNetworkError(pod, node.name, `cannot create network namespace ${netns}`, {
      cause: err,
    });
  }
  try {
    const chain = chainOptions(node, options);
    await addNetworkList(LOOPBACK, runtimeConfig(partial, 'lo'), chain);
    const result = await addNetworkList(
      podNetworkList(node, options),
      runtimeConfig(partial, POD_INTERFACE),
      chain,
    );
    const address = result.ips?.find((i) => !i.address.includes(':'))?.address;
    if (!address) throw new Error('the CNI result has no IPv4 address');
    return { ...partial, ip: address.split('/')[0]! };
  } catch (err) {
    await removePod(cluster, { ...partial, ip: '' }, options).catch(() => undefined);
    throw new PodNetworkError(pod, node.name, 'CNI ADD failed; the pod was removed', {
      cause: err,
    });
  }
}

/** CNI DEL (pod network, then loopback) and the pod's namespace removed. */
export async function removePod(
  cluster: ClusterTopology,
  pod: LocalPod,
  options: PodNetworkOptions = {},
): Promise<void> {
  const node = nodeByName(cluster, pod.node);
  const chain = chainOptions(node, options);
  try {
    await delNetworkList(podNetworkList(node, options), runtimeConfig(pod, POD_INTERFACE), chain);
    await delNetworkList(LOOPBACK, runtimeConfig(pod, 'lo'), chain);
  } finally {
    await ip(['netns', 'del', pod.netns]).catch(() => undefined);
  }
}

function chainOptions(node: ClusterNode, options: PodNetworkOptions): ChainOptions {
  return {
    pluginDirs: [CNI_PLUGIN_DIR, ...(options.ambitCniDir ? [options.ambitCniDir] : [])],
    cacheDir: join(node.stateDir, 'cni'),
    netns: node.netns,
    ...(options.env ? { env: options.env } : {}),
  };
}

function runtimeConfig(
  pod: PodRef & { sandboxId: string; netnsPath: string },
  ifName: string,
): RuntimeConfig {
  return {
    containerId: pod.sandboxId,
    netnsPath: pod.netnsPath,
    ifName,
    // As containerd passes them to kubelet-managed pods.
    args: [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', pod.namespace],
      ['K8S_POD_NAME', pod.name],
      ['K8S_POD_INFRA_CONTAINER_ID', pod.sandboxId],
      ['K8S_POD_UID', pod.uid],
    ],
  };
}
