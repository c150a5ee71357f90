import type { Identity } from '../../core/identity/spiffe.js';

/** The Kubernetes uid of a pod, as the node agent sends it in the enrollment protocol. */
export type PodUid = string & { readonly brand: 'PodUid' };

/** A pod the node agent handed over: who it is and its network namespace. */
export interface EnrolledPod {
  readonly uid: PodUid;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly identity: Identity;
  /** An open fd of the pod's network namespace; sockets for the pod are made inside it. */
  readonly netns: number;
}
