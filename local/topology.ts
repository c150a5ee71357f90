import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../core/errors.js';
import { MAX_NODES, type AddressPlan } from './addresses.js';
import { ip, runCommand } from './command.js';
import { listLeftovers } from './leftovers.js';
import {
  clusterNames,
  DEFAULT_STATE_ROOT,
  isNodeNetns,
  NODE_INTERFACE,
  type ClusterNames,
  type ClusterPrefix,
} from './names.js';
import { releaseSubnets, reserveSubnet } from './subnet.js';

/** Where `ip netns add` mounts a namespace. */
export const NETNS_DIR = '/run/netns';

export interface ClusterNode {
  /** 1-based. */
  readonly index: number;
  /** The Kubernetes node name (`spec.nodeName`, `--node`). */
  readonly name: string;
  readonly netns: string;
  readonly netnsPath: string;
  /** The node's address on the cluster bridge. */
  readonly ip: string;
  readonly podCidr: string;
  readonly podGateway: string;
  /** The bridge the CNI chain attaches this node's pods to, inside the node namespace. */
  readonly podBridge: string;
  /** IPAM state, sockets and agent state for this node. */
  readonly stateDir: string;
  /** Where the node agent listens for its CNI plugin (HTTP over a unix socket). */
  readonly cniSocket: string;
  /** Where the node agent serves ztunnel the enrollment protocol (zds). */
  readonly zdsSocket: string;
  /** The node agent's own state (and where its CNI plugin leaves events it could not send). */
  readonly agentStateDir: string;
}

/** A cluster's description; also kept as `cluster.json` in its state directory. */
export interface ClusterTopology {
  readonly prefix: ClusterPrefix;
  readonly stateRoot: string;
  readonly stateDir: string;
  /** Second octet of every address the cluster uses (see addresses.ts). */
  readonly octet: number;
  readonly bridge: string;
  readonly bridgeIp: string;
  readonly nodeSubnet: string;
  readonly clusterCidr: string;
  readonly serviceCidr: string;
  readonly nodes: readonly ClusterNode[];
}

export interface Cluster extends ClusterTopology {
  /** Removes everything the cluster made; safe to call twice. */
  destroy(): Promise<void>;
}

export class ClusterError extends MeshError {
  readonly code = 'AMBIT_LOCAL_CLUSTER';
  constructor(
    readonly prefix: ClusterPrefix,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`local cluster ${prefix}: ${message}`, options);
  }
}

const DESCRIPTION = 'cluster.json';

function nodeName(index: number): string {
  return `node-${index}`;
}

export function nodeByName(cluster: ClusterTopology, name: string): ClusterNode {
  const node = cluster.nodes.find((n) => n.name === name);
  if (!node) {
    throw new ClusterError(
      cluster.prefix,
      `no node ${JSON.stringify(name)}; nodes are ${cluster.nodes.map((n) => n.name).join(', ')}`,
    );
  }
  return node;
}

/**
 * Builds a cluster: a bridge in the root namespace, one namespace per node joined to it by
 * a veth, forwarding on in every node, and routes so that each node (and the root
 * namespace) reaches every other node's pod CIDR through that node's address. On failure
 * whatever was made is removed again.
 */
export async function createCluster(options: {
  prefix: ClusterPrefix;
  nodes: number;
  stateRoot?: string;
  /**
   * Where subnet claims are kept (default the state root). Clusters with different state
   * roots share one here, so two created at once never claim the same /16.
   */
  subnetRoot?: string;
}): Promise<Cluster> {
  const { prefix } = options;
  const stateRoot = options.stateRoot ?? DEFAULT_STATE_ROOT;
  if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > MAX_NODES)
    throw new ClusterError(prefix, `nodes must be 1 to ${MAX_NODES}, not ${options.nodes}`);
  const names = clusterNames(prefix, stateRoot);
  await mkdir(stateRoot, { recursive: true });
  try {
    await mkdir(names.stateDir);
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST';
    throw new ClusterError(
      prefix,
      `state directory ${names.stateDir} ${exists ? 'already exists: the prefix is taken' : 'cannot be made'}`,
      { cause: err },
    );
  }
  try {
    const plan = await reserveSubnet(prefix, options.subnetRoot ?? stateRoot);
    const topology = describe(names, stateRoot, plan, options.nodes);
    await build(topology, names, plan);
    await writeFile(join(names.stateDir, DESCRIPTION), JSON.stringify(topology, null, 2));
    return withDestroy(topology);
  } catch (err) {
    await destroyCluster(prefix, {
      stateRoot,
      ...(options.subnetRoot ? { subnetRoot: options.subnetRoot } : {}),
    }).catch(() => undefined);
    throw new ClusterError(prefix, 'creation failed; removed what was made', { cause: err });
  }
}

/** Reads a running cluster's description from its state directory. */
export async function loadCluster(
  prefix: ClusterPrefix,
  stateRoot: string = DEFAULT_STATE_ROOT,
): Promise<Cluster> {
  const file = join(clusterNames(prefix, stateRoot).stateDir, DESCRIPTION);
  try {
    return withDestroy(JSON.parse(await readFile(file, 'utf8')) as ClusterTopology);
  } catch (err) {
    throw new ClusterError(prefix, `cannot read ${file}`, { cause: err });
  }
}

/**
 * Removes everything carrying the prefix: processes inside its namespaces, pod and node
 * namespaces, root links (their routes go with them), firewall rules, the state directory
 * and the subnet reservation. Needs nothing but the prefix, so it also clears what a
 * crashed run left.
 */
export async function destroyCluster(
  prefix: ClusterPrefix,
  options: { stateRoot?: string; subnetRoot?: string } = {},
): Promise<void> {
  const stateRoot = options.stateRoot ?? DEFAULT_STATE_ROOT;
  const [leftovers] = await listLeftovers({ prefix, stateRoot });
  if (!leftovers) {
    await releaseSubnets(prefix, options.subnetRoot ?? stateRoot);
    return;
  }
  // Orderly shutdown is the owner's job; what still runs in the cluster's namespaces now
  // would only keep them (and their links) alive.
  for (const pid of leftovers.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  const pods = leftovers.netns.filter((n) => !isNodeNetns(n));
  const nodes = leftovers.netns.filter((n) => isNodeNetns(n));
  for (const netns of pods) await ignoreMissing(ip(['netns', 'del', netns]));
  for (const rule of leftovers.firewallRules)
    await ignoreMissing(runCommand('iptables', ['-w', ...deleteRuleArgs(rule)]));
  for (const link of leftovers.links) await ignoreMissing(ip(['link', 'del', link]));
  for (const netns of nodes) await ignoreMissing(ip(['netns', 'del', netns]));
  if (leftovers.stateDir) await rm(leftovers.stateDir, { recursive: true, force: true });
  await releaseSubnets(prefix, options.subnetRoot ?? stateRoot);
}

/** `-A CHAIN args…` from `iptables -S` → `-D CHAIN args…` (our comments hold no spaces). */
function deleteRuleArgs(rule: string): string[] {
  const [, ...rest] = rule.trim().split(/\s+/);
  return ['-D', ...rest.map((arg) => arg.replace(/^"(.*)"$/, '$1'))];
}

/** Another teardown (or the kernel, when a namespace went) may have removed it first. */
async function ignoreMissing(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (!/Cannot find device|No such file|does not exist|Bad rule/i.test(text)) throw err;
  }
}

function describe(
  names: ClusterNames,
  stateRoot: string,
  plan: AddressPlan,
  count: number,
): ClusterTopology {
  const nodes: ClusterNode[] = [];
  for (let index = 1; index <= count; index++) {
    const netns = names.nodeNetns(index);
    const stateDir = names.nodeStateDir(index);
    nodes.push({
      index,
      name: nodeName(index),
      netns,
      netnsPath: join(NETNS_DIR, netns),
      ip: plan.nodeIp(index),
      podCidr: plan.podCidr(index),
      podGateway: plan.podGateway(index),
      podBridge: names.podBridge(index),
      stateDir,
      cniSocket: join(stateDir, 'cni.sock'),
      zdsSocket: join(stateDir, 'zds.sock'),
      agentStateDir: join(stateDir, 'agent'),
    });
  }
  return {
    prefix: names.prefix,
    stateRoot,
    stateDir: names.stateDir,
    octet: plan.octet,
    bridge: names.bridge,
    bridgeIp: plan.bridgeIp,
    nodeSubnet: plan.nodeSubnet,
    clusterCidr: plan.clusterCidr,
    serviceCidr: plan.serviceCidr,
    nodes,
  };
}

async function build(topology: ClusterTopology, names: ClusterNames, plan: AddressPlan) {
  const { bridge } = topology;
  const subnetBits = plan.nodeSubnet.split('/')[1];
  await ip(['link', 'add', bridge, 'type', 'bridge']);
  await ip(['addr', 'add', `${topology.bridgeIp}/${subnetBits}`, 'dev', bridge]);
  await ip(['link', 'set', bridge, 'up']);
  // Hosts with br_netfilter and a DROP forward policy (Docker sets one) would drop frames
  // bridged between nodes; accept them explicitly.
  await runCommand('iptables', [
    '-w',
    '-I',
    'FORWARD',
    '-i',
    bridge,
    '-o',
    bridge,
    '-m',
    'comment',
    '--comment',
    names.firewallComment,
    '-j',
    'ACCEPT',
  ]);
  await Promise.all(
    topology.nodes.map(async (node) => {
      const link = names.nodeLink(node.index);
      await mkdir(node.stateDir);
      await ip(['netns', 'add', node.netns]);
      await ip([
        'link',
        'add',
        link,
        'type',
        'veth',
        'peer',
        'name',
        NODE_INTERFACE,
        'netns',
        node.netns,
      ]);
      await ip(['link', 'set', link, 'master', bridge, 'up']);
      await ip([
        '-n',
        node.netns,
        'addr',
        'add',
        `${node.ip}/${subnetBits}`,
        'dev',
        NODE_INTERFACE,
      ]);
      await ip(['-n', node.netns, 'link', 'set', NODE_INTERFACE, 'up']);
      await ip(['-n', node.netns, 'link', 'set', 'lo', 'up']);
      await runCommand('ip', [
        'netns',
        'exec',
        node.netns,
        'sysctl',
        '-qw',
        'net.ipv4.ip_forward=1',
      ]);
      // The root namespace reaches pods too (the control plane, host tools).
      await ip(['route', 'add', node.podCidr, 'via', node.ip, 'dev', bridge]);
      for (const other of topology.nodes) {
        if (other === node) continue;
        await ip([
          '-n',
          node.netns,
          'route',
          'add',
          other.podCidr,
          'via',
          other.ip,
          'dev',
          NODE_INTERFACE,
        ]);
      }
    }),
  );
}

function withDestroy(topology: ClusterTopology): Cluster {
  return {
    ...topology,
    destroy: () => destroyCluster(topology.prefix, { stateRoot: topology.stateRoot }),
  };
}
