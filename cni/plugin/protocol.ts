/**
 * What the CNI plugin and the node agent say to each other: a small JSON API over HTTP on the
 * agent's unix socket, and the files the plugin leaves in the state directory when the agent
 * cannot be reached. Both sides import these types, so a field renamed on one side fails the
 * build on the other.
 */

/** Where the agent listens when the net conf names no `agentSocket`. */
export const DEFAULT_AGENT_SOCKET = '/var/run/ambit/cni.sock';
/** The agent's state directory when the net conf names no `stateDir`. */
export const DEFAULT_STATE_DIR = '/var/run/ambit/cni-state';
/** Under the state directory: CNI events recorded while the agent was unreachable. */
export const PENDING_DIR = 'pending';

export const AGENT_PATHS = {
  add: '/v1/cni/add',
  del: '/v1/cni/del',
  check: '/v1/cni/check',
} as const;

/** The pod a sandbox belongs to, from CNI_ARGS (K8S_POD_NAME, K8S_POD_NAMESPACE, K8S_POD_UID). */
export interface PodRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

/** POST /v1/cni/add and /v1/cni/check. */
export interface SandboxRequest {
  readonly containerId: string;
  /** Path of the sandbox's network namespace (CNI_NETNS). */
  readonly netns: string;
  readonly ifname: string;
  readonly pod: PodRef;
  /** The pod's addresses from the previous plugin's result, without prefix lengths. */
  readonly ips: readonly string[];
}

/** POST /v1/cni/del. The netns may already be gone, so only the container id is certain. */
export interface DeleteRequest {
  readonly containerId: string;
  readonly pod?: PodRef;
}

/**
 * 200 answer to add and check. `enrolled` says whether the pod's traffic is captured; a pod
 * outside the mesh is a success with `enrolled: false`.
 */
export interface SandboxResponse {
  readonly enrolled: boolean;
}

/**
 * Any non-200 answer. `code` is the agent's stable error code; 409 on add means a pod in the
 * mesh could not be enrolled (the plugin fails ADD, so the pod never runs uncaptured); 409 on
 * check means what is installed differs from what should be.
 */
export interface ErrorResponse {
  readonly error: string;
  readonly code: string;
}

/** A CNI event the agent missed, as the plugin writes it into `<stateDir>/pending/`. */
export type PendingEvent =
  | { readonly command: 'add'; readonly request: SandboxRequest; readonly at: string }
  | { readonly command: 'del'; readonly request: DeleteRequest; readonly at: string };
