import t from 'tap';
import type { ObjectMeta, OwnerReference } from '../../api/resources/index.js';
import { podWorkloadName } from './workload-name.js';

function owner(kind: string, name: string, controller = true): OwnerReference {
  const apiVersion = kind === 'Job' ? 'batch/v1' : 'apps/v1';
  return { apiVersion, kind, name, uid: `uid-${name}`, controller };
}

/** A pod a controller made: its name generated from `generateName`. */
function generated(
  name: string,
  owners: OwnerReference[],
  labels: Record<string, string> = {},
): ObjectMeta {
  return {
    name,
    generateName: name.slice(0, name.lastIndexOf('-') + 1),
    namespace: 'shop',
    labels,
    ownerReferences: owners,
  };
}

t.test('a Deployment’s pod is named after the Deployment', async (t) => {
  const meta = generated(
    'reviews-v1-7d4f8b9c6d-x2x9k',
    [owner('ReplicaSet', 'reviews-v1-7d4f8b9c6d')],
    {
      'pod-template-hash': '7d4f8b9c6d',
    },
  );
  t.equal(podWorkloadName(meta), 'reviews-v1');
});

t.test('a ReplicaSet’s pod without the template hash is named after the ReplicaSet', async (t) => {
  const rs = owner('ReplicaSet', 'reviews-v1-7d4f8b9c6d');
  t.equal(podWorkloadName(generated('reviews-v1-7d4f8b9c6d-x2x9k', [rs])), 'reviews-v1-7d4f8b9c6d');
  t.equal(
    podWorkloadName(
      generated('reviews-v1-7d4f8b9c6d-x2x9k', [rs], { 'pod-template-hash': 'other' }),
    ),
    'reviews-v1-7d4f8b9c6d',
    'a hash the ReplicaSet name does not end with is not stripped',
  );
});

t.test('an Argo Rollout’s pod is named after the Rollout', async (t) => {
  const meta = generated('checkout-5b9f7c8d4-abcde', [owner('ReplicaSet', 'checkout-5b9f7c8d4')], {
    'rollouts-pod-template-hash': '5b9f7c8d4',
  });
  t.equal(podWorkloadName(meta), 'checkout');
});

t.test('a DeploymentConfig’s pod is named after the DeploymentConfig', async (t) => {
  const meta = generated('legacy-3-abcde', [owner('ReplicationController', 'legacy-3')], {
    deploymentconfig: 'legacy',
  });
  t.equal(podWorkloadName(meta), 'legacy');
});

t.test('a CronJob’s pod is named after the CronJob; a Job of its own keeps its name', async (t) => {
  t.equal(
    podWorkloadName(generated('backup-28641600-q7k2p', [owner('Job', 'backup-28641600')])),
    'backup',
  );
  t.equal(podWorkloadName(generated('migrate-q7k2p', [owner('Job', 'migrate')])), 'migrate');
  t.equal(
    podWorkloadName(generated('migrate-1234567-q7k2p', [owner('Job', 'migrate-1234567')])),
    'migrate-1234567',
    'a suffix of fewer than 8 digits is not a schedule time',
  );
});

t.test('a StatefulSet’s or DaemonSet’s pod is named after its owner', async (t) => {
  const statefulSet = generated('db-0', [owner('StatefulSet', 'db')]);
  t.equal(podWorkloadName(statefulSet), 'db');
  t.equal(
    podWorkloadName(generated('node-agent-8xk2q', [owner('DaemonSet', 'node-agent')])),
    'node-agent',
  );
});

t.test('only the controlling owner of a generated pod names its workload', async (t) => {
  const ownedOnly = generated('reviews-x2x9k', [owner('ReplicaSet', 'reviews-rs', false)]);
  t.equal(podWorkloadName(ownedOnly), 'reviews-x2x9k');
  const notGenerated: ObjectMeta = {
    name: 'reviews-manual',
    ownerReferences: [owner('StatefulSet', 'reviews')],
  };
  t.equal(podWorkloadName(notGenerated), 'reviews-manual', 'a pod named by hand keeps its name');
  t.equal(podWorkloadName({ name: 'standalone' }), 'standalone');
});

t.test('the workload-name label overrides every controller', async (t) => {
  const meta = generated(
    'reviews-v1-7d4f8b9c6d-x2x9k',
    [owner('ReplicaSet', 'reviews-v1-7d4f8b9c6d')],
    {
      'pod-template-hash': '7d4f8b9c6d',
      'service.istio.io/workload-name': 'reviews-canary',
    },
  );
  t.equal(podWorkloadName(meta), 'reviews-canary');
});
