import { lookup } from 'node:dns/promises';
import { MeshError } from '../../core/errors.js';

/** A workload's hostname (a DNS ServiceEntry endpoint) did not resolve to an address. */
export class HostnameResolveError extends MeshError {
  readonly code = 'AMBIT_ZTUNNEL_DNS';
  constructor(
    readonly hostname: string,
    options: { cause: unknown },
  ) {
    super(`hostname ${hostname} did not resolve`, options);
  }
}

/**
 * The address to connect to for a workload known only by hostname, looked up when a
 * connection needs it (Istio's ztunnel resolves such workloads on demand too), in the family
 * of the address the client dialled when the name has one, else any.
 */
export async function resolveHostname(hostname: string, like: string): Promise<string> {
  const family = like.includes(':') ? 6 : 4;
  try {
    return (await lookup(hostname, { family })).address;
  } catch {
    try {
      return (await lookup(hostname)).address;
    } catch (cause) {
      throw new HostnameResolveError(hostname, { cause });
    }
  }
}
