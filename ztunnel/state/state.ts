import { EventEmitter } from 'node:events';
import type { ResourceDelta } from '../../core/xds/client.js';
import { decodeAuthorization } from '../authz/decode.js';
import type { Authorization } from '../authz/policy.js';
import { buildIndex, type AddressIndex } from './address-index.js';
import { decodeAddress, type ServiceRecord, type WorkloadRecord } from './decode-address.js';
import { dumpState } from './dump.js';
import { canonicalIp, canonicalIpBytes, cidrContains } from '../../core/net/ip.js';
import type { Service, Workload } from './types.js';

/** One endpoint of a service for one service port: the workload and the port to dial on it. */
export interface Endpoint {
  readonly workload: Workload;
  readonly port: number;
}

interface PolicyIndex {
  readonly global: readonly Authorization[];
  readonly byNamespace: ReadonlyMap<string, readonly Authorization[]>;
}

/**
 * What the node tunnel knows about the mesh: workloads and services from
 * `istio.workload.Address`, policies from `istio.security.Authorization`, applied delta by
 * delta as the xDS client receives them. A delta is decoded whole before anything changes, so
 * one bad resource refuses the delta (the thrown error NACKs it) and leaves the state as it
 * was. Emits `change` after every delta that changed something.
 */
export class ProxyState extends EventEmitter<{ change: [] }> {
  readonly #workloadRecords = new Map<string, WorkloadRecord>();
  readonly #serviceRecords = new Map<string, ServiceRecord>();
  readonly #policies = new Map<string, Authorization>();
  #addresses: AddressIndex = buildIndex(new Map(), new Map());
  #policyIndex: PolicyIndex = { global: [], byNamespace: new Map() };

  /** Applies a delta of `istio.workload.Address`; throws InvalidResourceError, applying nothing. */
  applyAddresses(delta: ResourceDelta): void {
    const decoded = [...delta.upserts].map(
      ([name, update]) => [name, decodeAddress(name, update.resource)] as const,
    );
    for (const name of delta.removals) this.#forgetAddress(name);
    for (const [name, address] of decoded) {
      // A name holds one resource, whichever kind it was before.
      this.#forgetAddress(name);
      if (address.kind === 'workload') this.#workloadRecords.set(name, address.workload);
      else this.#serviceRecords.set(name, address.service);
    }
    if (decoded.length === 0 && delta.removals.length === 0) return;
    this.#addresses = buildIndex(this.#workloadRecords, this.#serviceRecords);
    this.emit('change');
  }

  /** Applies a delta of `istio.security.Authorization`; throws InvalidResourceError, applying nothing. */
  applyAuthorizations(delta: ResourceDelta): void {
    const decoded = [...delta.upserts].map(([name, update]) =>
      decodeAuthorization(name, update.resource),
    );
    for (const name of delta.removals) this.#policies.delete(name);
    for (const policy of decoded) this.#policies.set(policy.key, policy);
    if (decoded.length === 0 && delta.removals.length === 0) return;
    this.#policyIndex = indexPolicies(this.#policies.values());
    this.emit('change');
  }

  /** The workload an address names; never a host-network workload. */
  workloadByIp(ip: string): Workload | undefined {
    const key = canonicalIp(ip);
    return key === undefined ? undefined : this.#addresses.workloadsByIp.get(key);
  }

  workloadByUid(uid: string): Workload | undefined {
    return this.#addresses.workloads.get(uid);
  }

  workloadByName(namespace: string, name: string): Workload | undefined {
    return this.#addresses.workloadsByName.get(`${namespace}/${name}`);
  }

  /** The service a VIP belongs to: an exact VIP, else the narrowest VIP block holding it. */
  serviceByVip(ip: string): Service | undefined {
    const key = canonicalIp(ip);
    if (key === undefined) return undefined;
    const exact = this.#addresses.servicesByVip.get(key);
    if (exact !== undefined) return exact;
    const bytes = canonicalIpBytes(key);
    if (bytes === undefined) return undefined;
    return this.#addresses.cidrServices.find(({ cidr }) => cidrContains(cidr, bytes))?.service;
  }

  /**
   * The endpoints that may take a connection to `servicePort` (ztunnel's load_balance,
   * standard mode): healthy workloads backing the service (any, when the service allows
   * unhealthy ones) that have an address. The port is the workload's own mapping, else the
   * service's target port, else the service port; a workload without a mapping is left out
   * when the service has no target port either (a named target port it does not serve).
   * Empty when the service has no such port.
   */
  endpointsOf(service: Service, servicePort: number): Endpoint[] {
    const servicePortEntry = service.ports.find((p) => p.servicePort === servicePort);
    if (servicePortEntry === undefined) return [];
    const out: Endpoint[] = [];
    for (const workload of this.#addresses.members.get(service.key) ?? []) {
      if (!workload.healthy && !service.allowUnhealthy) continue;
      // A workload known only by hostname (a DNS ServiceEntry endpoint) is resolved by the
      // node tunnel when it connects, and only for plain TCP: a tunnel needs an address to
      // find the peer's node tunnel.
      if (
        workload.addresses.length === 0 &&
        (workload.hostname === '' || workload.protocol !== 'NONE')
      )
        continue;
      const own = workload.services.get(service.key)?.find((p) => p.servicePort === servicePort);
      if (own === undefined && servicePortEntry.targetPort === 0) continue;
      const port = own?.targetPort || servicePortEntry.targetPort || servicePort;
      out.push({ workload, port });
    }
    return out;
  }

  /**
   * The policies the node tunnel applies to connections to `workload` (ztunnel's assert_rbac):
   * its namespace's NAMESPACE policies, every GLOBAL policy, and the policies it lists by
   * name; a listed name not (yet) received is skipped.
   */
  policiesFor(workload: Workload): Authorization[] {
    const out = new Map<string, Authorization>();
    for (const p of this.#policyIndex.byNamespace.get(workload.namespace) ?? []) out.set(p.key, p);
    for (const p of this.#policyIndex.global) out.set(p.key, p);
    for (const name of workload.authorizationPolicies) {
      const policy = this.#policies.get(name);
      if (policy !== undefined) out.set(name, policy);
    }
    return [...out.values()];
  }

  /** Everything held, JSON-ready and sorted, for /config_dump. */
  dump(): object {
    return dumpState(this.#addresses, this.#policies.values());
  }

  #forgetAddress(name: string): void {
    this.#workloadRecords.delete(name);
    this.#serviceRecords.delete(name);
  }
}

function indexPolicies(policies: Iterable<Authorization>): PolicyIndex {
  const global: Authorization[] = [];
  const byNamespace = new Map<string, Authorization[]>();
  for (const policy of policies) {
    if (policy.scope === 'GLOBAL') global.push(policy);
    if (policy.scope !== 'NAMESPACE') continue;
    const list = byNamespace.get(policy.namespace);
    if (list === undefined) byNamespace.set(policy.namespace, [policy]);
    else list.push(policy);
  }
  return { global, byNamespace };
}
