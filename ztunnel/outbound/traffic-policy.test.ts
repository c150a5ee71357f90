import { create } from '@bufbuild/protobuf';
import t from 'tap';
import {
  LoadBalancing_Mode,
  NetworkAddressSchema,
  TunnelProtocol,
} from '../../api/gen/istio/workload/workload_pb.js';
import { resolveDestination } from '../state/resolve.js';
import { ProxyState } from '../state/state.js';
import { addressDelta, ipBytes, service, workload } from '../state/testing/deltas.js';
import { refusedByTrafficPolicy } from './traffic-policy.js';

function registry(): ProxyState {
  const block = service({
    name: 'corp',
    namespace: 'egress',
    hostname: 'corp.internal',
    ports: [{ servicePort: 5432, targetPort: 5432 }],
    loadBalancing: { mode: LoadBalancing_Mode.PASSTHROUGH },
  });
  if (block.type.case === 'service') {
    block.type.value.addresses = [
      create(NetworkAddressSchema, { address: ipBytes('198.51.100.0'), length: 24 }),
    ];
  }
  const state = new ProxyState();
  state.applyAddresses(
    addressDelta([
      // A ServiceEntry with resolution NONE: its addresses pass through to where the client
      // dialled, and a CIDR address admits the whole block.
      service({
        name: 'ext',
        namespace: 'egress',
        hostname: 'ext.example.com',
        vips: ['203.0.113.10'],
        ports: [{ servicePort: 443, targetPort: 443 }],
        loadBalancing: { mode: LoadBalancing_Mode.PASSTHROUGH },
      }),
      workload({ name: 'legacy', ips: ['10.1.0.50'], tunnelProtocol: TunnelProtocol.NONE }),
      block,
    ]),
  );
  return state;
}

const cases = [
  { dst: '203.0.113.10', allowAny: false, registryOnly: false, name: 'a ServiceEntry address' },
  {
    dst: '198.51.100.7',
    port: 5432,
    allowAny: false,
    registryOnly: false,
    name: 'an address in a ServiceEntry address block',
  },
  {
    dst: '203.0.113.10',
    port: 80,
    allowAny: false,
    registryOnly: true,
    name: 'a port the ServiceEntry does not declare',
  },
  { dst: '10.1.0.50', allowAny: false, registryOnly: false, name: 'a pod outside the mesh' },
  { dst: '192.0.2.1', allowAny: false, registryOnly: true, name: 'an address nobody registered' },
];

t.test('REGISTRY_ONLY refuses only what the registry does not know', async (t) => {
  const state = registry();
  for (const c of cases) {
    const d = resolveDestination(state, { address: c.dst, port: c.port ?? 443 });
    t.equal(refusedByTrafficPolicy('ALLOW_ANY', d), c.allowAny, `ALLOW_ANY: ${c.name}`);
    t.equal(refusedByTrafficPolicy('REGISTRY_ONLY', d), c.registryOnly, `REGISTRY_ONLY: ${c.name}`);
  }
});
