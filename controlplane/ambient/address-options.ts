/** What the ambient index needs to know about the cluster it describes. */
export interface AddressOptions {
  /** Istio's cluster id; part of every workload uid. */
  readonly clusterId: string;
  /** The mesh trust domain; the workload API leaves it empty when it is `cluster.local`. */
  readonly trustDomain: string;
  /** The network of pod and service addresses; empty is the default network. */
  readonly network: string;
  /** The mesh root namespace, where mesh-wide policies live. */
  readonly rootNamespace: string;
}

export const DEFAULT_ADDRESS_OPTIONS: AddressOptions = {
  clusterId: 'Kubernetes',
  trustDomain: 'cluster.local',
  network: '',
  rootNamespace: 'istio-system',
};

/** Istio sends the trust domain only when it differs from the default (pickTrustDomain). */
export function wireTrustDomain(options: AddressOptions): string {
  return options.trustDomain === 'cluster.local' ? '' : options.trustDomain;
}
