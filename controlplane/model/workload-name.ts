/**
 * The name of the workload a pod belongs to, as Istio derives it for telemetry
 * (pkg/kube GetWorkloadMetaFromPod): the `service.istio.io/workload-name` label, else the
 * pod's controller with the suffix its own controller added taken off, else the pod's name.
 */
import type { ObjectMeta, OwnerReference } from '../../api/resources/index.js';
import {
  DEPLOYMENT_CONFIG,
  POD_TEMPLATE_HASH,
  ROLLOUTS_POD_TEMPLATE_HASH,
  WORKLOAD_NAME,
} from './labels.js';
import type { Labels } from './namespaces.js';

/** A CronJob names each Job `<cronjob>-<scheduled time in minutes>`. */
const CRONJOB_JOB = /^(.+)-\d{8,10}$/;

/** `name` without `-<hash>`, when `name` ends with a non-empty `hash`; undefined otherwise. */
function withoutHash(name: string, hash: string | undefined): string | undefined {
  if (hash === undefined || hash === '' || !name.endsWith(hash)) return undefined;
  // Istio tests the bare hash but trims `-<hash>`: a name ending in the hash alone stays whole.
  return name.endsWith(`-${hash}`) ? name.slice(0, -(hash.length + 1)) : name;
}

/** The name of what runs the controller: a Deployment for its ReplicaSet, a CronJob for its Job. */
function controllerWorkload(controller: OwnerReference, labels: Labels): string {
  const { kind, name } = controller;
  if (kind === 'ReplicaSet') {
    // A Deployment, else an Argo Rollout, names its ReplicaSets `<name>-<pod-template-hash>`.
    const owner =
      withoutHash(name, labels[POD_TEMPLATE_HASH]) ??
      withoutHash(name, labels[ROLLOUTS_POD_TEMPLATE_HASH]);
    if (owner !== undefined) return owner;
  }
  if (kind === 'ReplicationController') {
    const config = labels[DEPLOYMENT_CONFIG];
    if (config !== undefined && config !== '') return config;
  }
  if (kind === 'Job') {
    const cronJob = CRONJOB_JOB.exec(name)?.[1];
    if (cronJob !== undefined) return cronJob;
  }
  // StatefulSet, DaemonSet, a Job of its own, or any other controller: the owner's own name.
  return name;
}

export function podWorkloadName(metadata: ObjectMeta): string {
  const labels = metadata.labels ?? {};
  const override = labels[WORKLOAD_NAME];
  if (override !== undefined) return override;
  // Only a pod whose name a controller generated is traced to that controller.
  if ((metadata.generateName ?? '') === '') return metadata.name;
  const controller = metadata.ownerReferences?.find((owner) => owner.controller === true);
  if (controller === undefined) return metadata.name;
  return controllerWorkload(controller, labels) || metadata.name;
}
