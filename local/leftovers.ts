import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ip, ipJson, runCommand } from './command.js';
import {
  DEFAULT_STATE_ROOT,
  prefixOfFirewallComment,
  prefixOfLink,
  prefixOfNetns,
  type ClusterPrefix,
} from './names.js';
import { listReservations } from './subnet.js';

/** Everything on this host that carries one cluster prefix. */
export interface ClusterLeftovers {
  readonly prefix: ClusterPrefix;
  /** Network namespace names (nodes and pods). */
  readonly netns: string[];
  /** Processes running inside those namespaces. */
  readonly pids: number[];
  /** Links in the root namespace (the cluster bridge, the root ends of node veths). */
  readonly links: string[];
  /** Root-namespace `iptables -S` lines tagged with the cluster's comment. */
  readonly firewallRules: string[];
  /** The state directory, when it exists. */
  stateDir: string | undefined;
  /** Subnet reservation files. */
  readonly subnetFiles: string[];
}

export interface LeftoverOptions {
  stateRoot?: string;
  /** Only this cluster's; otherwise every prefix found. */
  prefix?: ClusterPrefix;
}

/**
 * Finds what local clusters left on this host, by name: for `ambit local down`, and for
 * the test harness removing what a crashed run left behind.
 */
export async function listLeftovers(options: LeftoverOptions = {}): Promise<ClusterLeftovers[]> {
  const stateRoot = options.stateRoot ?? DEFAULT_STATE_ROOT;
  const found = new Map<ClusterPrefix, ClusterLeftovers>();
  const entry = (prefix: ClusterPrefix | undefined): ClusterLeftovers | undefined => {
    if (prefix === undefined || (options.prefix !== undefined && prefix !== options.prefix))
      return undefined;
    let leftovers = found.get(prefix);
    if (!leftovers) {
      leftovers = {
        prefix,
        netns: [],
        pids: [],
        links: [],
        firewallRules: [],
        stateDir: undefined,
        subnetFiles: [],
      };
      found.set(prefix, leftovers);
    }
    return leftovers;
  };

  for (const { name } of await ipJson<{ name: string }>(['netns', 'list'])) {
    const leftovers = entry(prefixOfNetns(name));
    if (!leftovers) continue;
    leftovers.netns.push(name);
    leftovers.pids.push(...(await netnsPids(name)));
  }
  for (const { ifname } of await ipJson<{ ifname: string }>(['link', 'show']))
    entry(prefixOfLink(ifname))?.links.push(ifname);
  for (const rule of await forwardRules()) {
    const comment = /--comment "?([^"\s]+)"?/.exec(rule)?.[1];
    if (comment !== undefined) entry(prefixOfFirewallComment(comment))?.firewallRules.push(rule);
  }
  for (const name of await listDir(stateRoot)) {
    const leftovers = entry(prefixOfDirectory(name));
    if (leftovers) leftovers.stateDir = join(stateRoot, name);
  }
  for (const reservation of await listReservations(stateRoot))
    entry(prefixOfDirectory(reservation.prefix))?.subnetFiles.push(reservation.file);
  return [...found.values()];
}

function prefixOfDirectory(name: string): ClusterPrefix | undefined {
  // A state directory is named exactly like the prefix; reuse the link rule (`<prefix>br`).
  return prefixOfLink(`${name}br`);
}

async function netnsPids(name: string): Promise<number[]> {
  let out: string;
  try {
    out = await ip(['netns', 'pids', name]);
  } catch {
    // A name whose namespace is already gone (its mount went away): no processes in it.
    return [];
  }
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
}

/** The root namespace's FORWARD rules, where a cluster's bridge rule lives. */
async function forwardRules(): Promise<string[]> {
  const { stdout } = await runCommand('iptables', ['-w', '-S', 'FORWARD']);
  return stdout.split('\n').filter((line) => line.startsWith('-A '));
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
