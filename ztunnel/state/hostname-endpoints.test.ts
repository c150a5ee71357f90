import t from 'tap';
import { TunnelProtocol } from '../../api/gen/istio/workload/workload_pb.js';
import { resolveDestination } from './resolve.js';
import { ProxyState } from './state.js';
import { addressDelta, service, workload } from './testing/deltas.js';

// A DNS ServiceEntry's endpoints carry a hostname and no address (Istio's ambient index does
// the same); the node tunnel resolves the name when it connects.

const KEY = 'egress/api.example.com';
const member = { [KEY]: { ports: [{ servicePort: 443, targetPort: 8443 }] } };

function registry(protocol: TunnelProtocol): ProxyState {
  const state = new ProxyState();
  state.applyAddresses(
    addressDelta([
      service({
        name: 'api',
        namespace: 'egress',
        hostname: 'api.example.com',
        vips: ['240.240.0.1'],
        ports: [{ servicePort: 443, targetPort: 443 }],
      }),
      workload({
        name: 'api',
        namespace: 'egress',
        uid: 'Kubernetes/networking.istio.io/ServiceEntry/egress/api/api.example.com',
        hostname: 'api.example.com',
        tunnelProtocol: protocol,
        services: member,
      }),
    ]),
  );
  return state;
}

t.test('an endpoint outside the mesh known by hostname is an endpoint', async (t) => {
  const d = resolveDestination(registry(TunnelProtocol.NONE), {
    address: '240.240.0.1',
    port: 443,
  });
  t.equal(d.kind, 'service');
  if (d.kind !== 'service' || d.endpoint === undefined) return;
  t.equal(d.endpoint.hostname, 'api.example.com');
  t.strictSame(d.endpoint.addresses, []);
  t.equal(d.port, 8443, 'its own target port');
});

t.test('a tunnelled endpoint needs an address, so a hostname alone is not one', async (t) => {
  const d = resolveDestination(registry(TunnelProtocol.HBONE), {
    address: '240.240.0.1',
    port: 443,
  });
  t.equal(d.kind, 'unavailable');
});
