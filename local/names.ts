import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { MeshError } from '../core/errors.js';

/**
 * One short random prefix per local cluster. Every host-wide name the cluster creates
 * (network namespaces, root-namespace links, firewall rule comments, its state directory)
 * starts with it, so `ambit local down` and the test harness find all of it from the prefix
 * alone. Short because Linux interface names hold at most 15 characters: the longest link
 * name is `<prefix>n<node>`, 9 characters for 999 nodes.
 */
export type ClusterPrefix = string & { readonly brand: 'ClusterPrefix' };

const PREFIX_SHAPE = /^am[a-z0-9]{4}$/;
const PREFIX_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Where clusters keep IPAM state, sockets and their description; tmpfs, like the netns. */
export const DEFAULT_STATE_ROOT = '/run/ambit';

/** The interface a node has on the cluster bridge, and a pod on its node's bridge. */
export const NODE_INTERFACE = 'eth0';
export const POD_INTERFACE = 'eth0';

export class InvalidPrefixError extends MeshError {
  readonly code = 'AMBIT_LOCAL_PREFIX';
  constructor(readonly value: string) {
    super(
      `${JSON.stringify(value)} is not a local cluster prefix: want "am" and 4 lowercase letters or digits`,
    );
  }
}

export function parsePrefix(value: string): ClusterPrefix {
  if (!PREFIX_SHAPE.test(value)) throw new InvalidPrefixError(value);
  return value as ClusterPrefix;
}

export function randomPrefix(): ClusterPrefix {
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += PREFIX_CHARS[randomInt(PREFIX_CHARS.length)];
  return `am${suffix}` as ClusterPrefix;
}

/** Every name a cluster uses, derived from its prefix. */
export interface ClusterNames {
  readonly prefix: ClusterPrefix;
  readonly stateDir: string;
  /** The cluster bridge in the root namespace. */
  readonly bridge: string;
  /** Comment on the cluster's firewall rules in the root namespace. */
  readonly firewallComment: string;
  nodeNetns(node: number): string;
  /** The root-namespace end of a node's veth (the other end is NODE_INTERFACE in the node). */
  nodeLink(node: number): string;
  /** The bridge for a node's pods, inside the node namespace. */
  podBridge(node: number): string;
  nodeStateDir(node: number): string;
  /** A pod's namespace, named after the first hex digits of its sandbox id. */
  podNetns(sandboxId: string): string;
}

export function clusterNames(
  prefix: ClusterPrefix,
  stateRoot: string = DEFAULT_STATE_ROOT,
): ClusterNames {
  const stateDir = join(stateRoot, prefix);
  return {
    prefix,
    stateDir,
    bridge: `${prefix}br`,
    firewallComment: `ambit:${prefix}`,
    nodeNetns: (node) => `${prefix}-n${node}`,
    nodeLink: (node) => `${prefix}n${node}`,
    podBridge: (node) => `${prefix}b${node}`,
    nodeStateDir: (node) => join(stateDir, `n${node}`),
    podNetns: (sandboxId) => `${prefix}-p${sandboxId.slice(0, 8)}`,
  };
}

const NETNS_NAME = /^(am[a-z0-9]{4})-(n\d+|p[0-9a-f]{8})$/;
const LINK_NAME = /^(am[a-z0-9]{4})(br|n\d+)$/;
const FIREWALL_COMMENT = /^ambit:(am[a-z0-9]{4})$/;

/** The prefix a network namespace name carries, if it is one a local cluster made. */
export function prefixOfNetns(name: string): ClusterPrefix | undefined {
  return NETNS_NAME.exec(name)?.[1] as ClusterPrefix | undefined;
}

/** The prefix a root-namespace link name carries, if it is one a local cluster made. */
export function prefixOfLink(name: string): ClusterPrefix | undefined {
  return LINK_NAME.exec(name)?.[1] as ClusterPrefix | undefined;
}

export function prefixOfFirewallComment(comment: string): ClusterPrefix | undefined {
  return FIREWALL_COMMENT.exec(comment)?.[1] as ClusterPrefix | undefined;
}

/** True for a node namespace name (`<prefix>-n<i>`), false for a pod's. */
export function isNodeNetns(name: string): boolean {
  return NETNS_NAME.exec(name)?.[2]?.startsWith('n') ?? false;
}
