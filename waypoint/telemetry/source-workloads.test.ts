import { create } from '@bufbuild/protobuf';
import t from 'tap';
import { AddressSchema, WorkloadSchema } from '../../api/gen/istio/workload/workload_pb.js';
import { ADDRESS_TYPE_URL, packResource } from '../../api/xds/type-urls.js';
import { SourceWorkloads } from './source-workloads.js';

function workload(name: string, ip: number[], fields: Record<string, string> = {}) {
  return packResource(
    ADDRESS_TYPE_URL,
    create(AddressSchema, {
      type: {
        case: 'workload',
        value: create(WorkloadSchema, {
          uid: `Kubernetes//Pod/demo/${name}`,
          name,
          namespace: 'demo',
          addresses: [Uint8Array.from(ip)],
          clusterId: 'Kubernetes',
          ...fields,
        }),
      },
    }),
  );
}

const upsert = (entries: [string, ReturnType<typeof workload>][]) => ({
  upserts: new Map(entries.map(([name, resource]) => [name, { version: '1', resource }])),
  removals: [],
});

t.test('workloads are found by any spelling of their address', async (t) => {
  const sources = new SourceWorkloads();
  sources.apply(
    upsert([
      [
        'a',
        workload('sleep-1', [10, 0, 0, 7], {
          workloadName: 'sleep',
          canonicalName: 'sleep',
          canonicalRevision: 'v1',
        }),
      ],
    ]),
  );
  t.same(sources.lookup('10.0.0.7'), {
    workload: 'sleep',
    namespace: 'demo',
    canonicalService: 'sleep',
    canonicalRevision: 'v1',
    cluster: 'Kubernetes',
  });
  t.equal(sources.lookup('::ffff:10.0.0.7')?.workload, 'sleep', 'IPv4-mapped');
  t.equal(sources.lookup('10.0.0.8'), undefined);
  t.equal(sources.lookup('not an ip'), undefined);
});

t.test('an update moves a workload; a removal forgets it', async (t) => {
  const sources = new SourceWorkloads();
  sources.apply(upsert([['a', workload('p', [10, 0, 0, 1])]]));
  t.equal(sources.lookup('10.0.0.1')?.workload, 'p', 'the pod name without a workload name');
  t.equal(sources.lookup('10.0.0.1')?.canonicalRevision, 'latest');
  sources.apply(upsert([['a', workload('p', [10, 0, 0, 2])]]));
  t.equal(sources.lookup('10.0.0.1'), undefined, 'the old address is gone');
  t.equal(sources.lookup('10.0.0.2')?.workload, 'p');
  sources.apply({ upserts: new Map(), removals: ['a'] });
  t.equal(sources.lookup('10.0.0.2'), undefined);
});

t.test('a resource that does not decode applies nothing', async (t) => {
  const sources = new SourceWorkloads();
  const bad = { ...workload('q', [10, 0, 0, 3]), typeUrl: 'type.googleapis.com/other' };
  t.throws(() =>
    sources.apply(
      upsert([
        ['q', workload('q', [10, 0, 0, 3])],
        ['bad', bad],
      ]),
    ),
  );
  t.equal(sources.lookup('10.0.0.3'), undefined);
});
