import t from 'tap';
import { resolveDestination, type Destination } from '../state/resolve.js';
import { ProxyState } from '../state/state.js';
import { addressDelta, service, waypointByHostname, workload } from '../state/testing/deltas.js';
import { planTunnel } from './tunnel-target.js';

// Where a tunnel goes and what it asks for, as Istio's ztunnel does it: straight to the
// endpoint's 15008 naming the endpoint, or to a waypoint pod naming the VIP.

const key = (name: string) => `default/${name}.default.svc.cluster.local`;
const member = (svc: string, servicePort: number, targetPort: number) => ({
  [key(svc)]: { ports: [{ servicePort, targetPort }] },
});
const first = () => 0;

function mesh(): ProxyState {
  const state = new ProxyState();
  state.applyAddresses(
    addressDelta([
      service({
        name: 'reviews',
        vips: ['10.96.0.10'],
        ports: [{ servicePort: 80, targetPort: 9080 }],
      }),
      workload({ name: 'reviews-v1', ips: ['10.1.0.5'], services: member('reviews', 80, 9080) }),
      service({
        name: 'waypoint',
        vips: ['10.96.0.99'],
        ports: [{ servicePort: 15008, targetPort: 15008 }],
      }),
      workload({
        name: 'waypoint-x',
        ips: ['10.1.0.99'],
        services: member('waypoint', 15008, 15008),
      }),
      service({
        name: 'ratings',
        vips: ['10.96.0.30'],
        ports: [{ servicePort: 9080, targetPort: 9080 }],
        waypoint: waypointByHostname('default', 'waypoint.default.svc.cluster.local'),
      }),
      workload({ name: 'ratings-v1', ips: ['10.1.0.30'], services: member('ratings', 9080, 9080) }),
    ]),
  );
  return state;
}

function meshDestination(state: ProxyState, address: string, port: number) {
  const destination: Destination = resolveDestination(state, { address, port }, first);
  if (destination.kind !== 'service' && destination.kind !== 'workload')
    throw new Error(`expected a mesh destination, got ${destination.kind}`);
  return destination;
}

t.test(
  'a service without a waypoint tunnels to the endpoint, naming its target port',
  async (t) => {
    const state = mesh();
    const original = { address: '10.96.0.10', port: 80 };
    const planned = planTunnel(
      state,
      meshDestination(state, original.address, 80),
      original,
      first,
    );
    t.ok(planned.ok);
    if (!planned.ok) return;
    t.same(planned.plan.peer, { address: '10.1.0.5', port: 15008 });
    t.equal(planned.plan.authority, '10.1.0.5:9080');
    t.same(planned.plan.peerIdentities, ['spiffe://cluster.local/ns/default/sa/reviews-v1']);
    t.equal(planned.plan.peerWorkload.name, 'reviews-v1');
  },
);

t.test('a service with a waypoint tunnels to a waypoint pod, naming the VIP', async (t) => {
  const state = mesh();
  const original = { address: '10.96.0.30', port: 9080 };
  const planned = planTunnel(
    state,
    meshDestination(state, original.address, 9080),
    original,
    first,
  );
  t.ok(planned.ok);
  if (!planned.ok) return;
  t.same(planned.plan.peer, { address: '10.1.0.99', port: 15008 });
  t.equal(
    planned.plan.authority,
    '10.96.0.30:9080',
    ':authority is the address the client asked for',
  );
  t.equal(planned.plan.peerWorkload.name, 'waypoint-x');
});

t.test('a waypoint with no healthy pod cannot be planned', async (t) => {
  const state = mesh();
  state.applyAddresses(addressDelta([], ['Kubernetes//Pod/default/waypoint-x']));
  const original = { address: '10.96.0.30', port: 9080 };
  const destination = resolveDestination(state, original, first);
  if (destination.kind !== 'service') {
    t.fail(`resolved to ${destination.kind}`);
    return;
  }
  t.same(planTunnel(state, destination, original, first), {
    ok: false,
    reason: 'waypoint has no healthy endpoint',
  });
});

t.test('a workload addressed directly is tunnelled to with the port the client used', async (t) => {
  const state = mesh();
  const original = { address: '10.1.0.5', port: 9080 };
  const planned = planTunnel(
    state,
    meshDestination(state, original.address, 9080),
    original,
    first,
  );
  t.ok(planned.ok);
  if (planned.ok) t.equal(planned.plan.authority, '10.1.0.5:9080');
});
