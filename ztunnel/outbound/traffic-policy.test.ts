import t from 'tap';
import { LoadBalancing_Mode, TunnelProtocol } from '../../api/gen/istio/workload/workload_pb.js';
import { resolveDestination } from '../state/resolve.js';
import { ProxyState } from '../state/state.js';
import { addressDelta, service, workload } from '../state/testing/deltas.js';
import { refusedByTrafficPolicy } from './traffic-policy.js';

function registry(): ProxyState {
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
    ]),
  );
  return state;
}

const cases = [
  { dst: '203.0.113.10', allowAny: false, registryOnly: false, name: 'a ServiceEntry address' },
  { dst: '10.1.0.50', allowAny: false, registryOnly: false, name: 'a pod outside the mesh' },
  { dst: '192.0.2.1', allowAny: false, registryOnly: true, name: 'an address nobody registered' },
];

t.test('REGISTRY_ONLY refuses only what the registry does not know', async (t) => {
  const state = registry();
  for (const c of cases) {
    const d = resolveDestination(state, { address: c.dst, port: 443 });
    t.equal(refusedByTrafficPolicy('ALLOW_ANY', d), c.allowAny, `ALLOW_ANY: ${c.name}`);
    t.equal(refusedByTrafficPolicy('REGISTRY_ONLY', d), c.registryOnly, `REGISTRY_ONLY: ${c.name}`);
  }
});
