/** A pod's uid (metadata.uid, or K8S_POD_UID from the CNI call): what ztunnel keys pods by. */
export type PodUid = string & { readonly brand: 'PodUid' };

export function podUid(value: string): PodUid {
  return value as PodUid;
}

export type Labels = Readonly<Record<string, string>>;

/** A pod as the node agent needs it: who it is, and what decides its enrollment. */
export interface PodInfo {
  /** Absent when the source does not carry one (hand-written YAML); the CNI call's uid is used. */
  readonly uid?: PodUid;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly serviceAccount: string;
  readonly podIP?: string;
  readonly hostNetwork: boolean;
}

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Labels;
}

/**
 * Where the agent learns about pods on its node and their namespaces: a config directory
 * today, the Kubernetes API later. Lookups are synchronous over the source's current view.
 */
export interface PodSource {
  /** Resolves once the first complete view is available. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A pod scheduled on this node (or on no node in particular), by namespace and name. */
  pod(namespace: string, name: string): PodInfo | undefined;
  namespace(name: string): NamespaceInfo | undefined;
  /** Called after any pod or namespace changed; returns the function that unsubscribes. */
  onChange(listener: () => void): () => void;
}
