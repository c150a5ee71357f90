import { createHash } from 'node:crypto';
import type { ClusterPrefix } from './names.js';

/**
 * A cluster's IPv4 plan, all inside 10.<octet>.0.0/16:
 *   10.o.0.0/24     the cluster bridge (10.o.0.1) and node i at 10.o.0.(i+1)
 *   10.o.i.0/24     node i's pod CIDR, gateway 10.o.i.1 on the node's pod bridge
 *   10.o.255.0/24   Service VIPs (never routed: the mesh or DNAT rules answer them)
 */
export const FIRST_OCTET = 128;
export const LAST_OCTET = 250;
export const MAX_NODES = 200;

export interface AddressPlan {
  readonly octet: number;
  readonly clusterCidr: string;
  readonly nodeSubnet: string;
  readonly bridgeIp: string;
  readonly serviceCidr: string;
  nodeIp(node: number): string;
  podCidr(node: number): string;
  podGateway(node: number): string;
  /** The n-th Service VIP, n from 1 to 254. */
  serviceVip(n: number): string;
}

export function addressPlan(octet: number): AddressPlan {
  const base = `10.${octet}`;
  return {
    octet,
    clusterCidr: `${base}.0.0/16`,
    nodeSubnet: `${base}.0.0/24`,
    bridgeIp: `${base}.0.1`,
    serviceCidr: `${base}.255.0/24`,
    nodeIp: (node) => `${base}.0.${node + 1}`,
    podCidr: (node) => `${base}.${node}.0/24`,
    podGateway: (node) => `${base}.${node}.1`,
    serviceVip: (n) => {
      if (!Number.isInteger(n) || n < 1 || n > 254)
        throw new RangeError(`service VIP index ${n} is outside 1..254`);
      return `${base}.255.${n}`;
    },
  };
}

/**
 * The order in which a cluster tries second octets: starting at one derived from its prefix
 * (so concurrent clusters rarely even try the same one), then every other in the range.
 */
export function octetCandidates(prefix: ClusterPrefix): number[] {
  const span = LAST_OCTET - FIRST_OCTET + 1;
  const start = createHash('sha256').update(prefix).digest().readUInt32BE(0) % span;
  return Array.from({ length: span }, (_, i) => FIRST_OCTET + ((start + i) % span));
}

/** Parses `a.b.c.d` or `a.b.c.d/len` into [network start, length]; undefined for non-IPv4. */
export function parseIpv4Cidr(value: string): [number, number] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(value);
  if (!match) return undefined;
  const bytes = match.slice(1, 5).map(Number);
  const length = match[5] === undefined ? 32 : Number(match[5]);
  if (bytes.some((b) => b > 255) || length > 32) return undefined;
  const address = bytes.reduce((acc, b) => acc * 256 + b, 0);
  return [address - (address % 2 ** (32 - length)), length];
}

/** Whether two IPv4 CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const pa = parseIpv4Cidr(a);
  const pb = parseIpv4Cidr(b);
  if (!pa || !pb) return false;
  const shorter = Math.min(pa[1], pb[1]);
  const size = 2 ** (32 - shorter);
  return Math.floor(pa[0] / size) === Math.floor(pb[0] / size);
}
