import type { PodUid } from './pod-source.js';

/** A pod as ztunnel is told about it (zds AddWorkload, plus the netns whose fd goes along). */
export interface ZdsWorkload {
  readonly uid: PodUid;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly netns: string;
}

export function sameWorkload(a: ZdsWorkload | undefined, b: ZdsWorkload | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.uid === b.uid &&
    a.name === b.name &&
    a.namespace === b.namespace &&
    a.serviceAccount === b.serviceAccount &&
    a.netns === b.netns
  );
}

/** ztunnel's side (the zds server). Each call settles once ztunnel acked, or at once when none is connected. */
export interface WorkloadPublisher {
  add(workload: ZdsWorkload): Promise<void>;
  del(uid: PodUid): Promise<void>;
}
