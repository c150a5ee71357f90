import { create } from '@bufbuild/protobuf';
import t from 'tap';
import {
  GatewayAddressSchema,
  LoadBalancing_Mode,
  TunnelProtocol,
  WorkloadStatus,
} from '../../api/gen/istio/workload/workload_pb.js';
import { resolveDestination, type Destination } from './resolve.js';
import { ProxyState } from './state.js';
import { addressDelta, ipBytes, service, waypointByHostname, workload } from './testing/deltas.js';

const key = (name: string) => `default/${name}.default.svc.cluster.local`;
const member = (svc: string, servicePort: number, targetPort: number) => ({
  [key(svc)]: { ports: [{ servicePort, targetPort }] },
});

function mesh(): ProxyState {
  const state = new ProxyState();
  state.applyAddresses(
    addressDelta([
      service({
        name: 'reviews',
        vips: ['10.96.0.10'],
        ports: [{ servicePort: 9080, targetPort: 9080 }],
      }),
      workload({ name: 'reviews-v1', ips: ['10.1.0.5'], services: member('reviews', 9080, 9080) }),
      workload({ name: 'reviews-v2', ips: ['10.1.0.6'], services: member('reviews', 9080, 19080) }),
      workload({
        name: 'reviews-v3',
        ips: ['10.1.0.7'],
        services: member('reviews', 9080, 9080),
        status: WorkloadStatus.UNHEALTHY,
      }),
      service({
        name: 'drained',
        vips: ['10.96.0.20'],
        ports: [{ servicePort: 80, targetPort: 80 }],
      }),
      workload({
        name: 'drained-v1',
        ips: ['10.1.0.20'],
        services: member('drained', 80, 80),
        status: WorkloadStatus.UNHEALTHY,
      }),
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
        name: 'productpage',
        vips: ['10.96.0.30'],
        ports: [{ servicePort: 9080, targetPort: 9080 }],
        waypoint: waypointByHostname('default', 'waypoint.default.svc.cluster.local'),
      }),
      service({
        name: 'orphaned',
        vips: ['10.96.0.31'],
        ports: [{ servicePort: 80, targetPort: 80 }],
        waypoint: waypointByHostname('default', 'gone.default.svc.cluster.local'),
      }),
      service({
        name: 'external',
        vips: ['10.96.0.40'],
        ports: [{ servicePort: 443, targetPort: 443 }],
        loadBalancing: { mode: LoadBalancing_Mode.PASSTHROUGH },
      }),
      workload({ name: 'legacy', ips: ['10.1.0.50'], tunnelProtocol: TunnelProtocol.NONE }),
      workload({
        name: 'guarded',
        ips: ['10.1.0.60'],
        waypoint: create(GatewayAddressSchema, {
          destination: { case: 'address', value: { address: ipBytes('10.1.0.99') } },
          hboneMtlsPort: 15008,
        }),
      }),
    ]),
  );
  return state;
}

/** A destination reduced to names and ports, so that table rows stay one line. */
function brief(d: Destination): string {
  switch (d.kind) {
    case 'service':
      return d.waypoint
        ? `service ${d.service.name} via waypoint ${d.waypoint.address}:${d.waypoint.hboneMtlsPort} port ${d.port}`
        : `service ${d.service.name} endpoint ${d.endpoint.name}:${d.port}`;
    case 'workload':
      return d.waypoint
        ? `workload ${d.workload.name} via waypoint ${d.waypoint.address}:${d.waypoint.hboneMtlsPort} port ${d.port}`
        : `workload ${d.workload.name}:${d.port}`;
    case 'passthrough':
      return d.unregistered ? 'passthrough (unregistered)' : 'passthrough';
    case 'unavailable':
      return `unavailable: ${d.reason}`;
  }
}

const first = () => 0;
const second = () => 1;

const cases: { name: string; dst: string; port: number; pick?: () => number; want: string }[] = [
  {
    name: 'a VIP goes to an endpoint on its target port',
    dst: '10.96.0.10',
    port: 9080,
    pick: first,
    want: 'service reviews endpoint reviews-v1:9080',
  },
  {
    name: "the endpoint's own port mapping wins",
    dst: '10.96.0.10',
    port: 9080,
    pick: second,
    want: 'service reviews endpoint reviews-v2:19080',
  },
  {
    name: 'a VIP port the service lacks is unavailable, not passthrough',
    dst: '10.96.0.10',
    port: 80,
    want: 'unavailable: service default/reviews.default.svc.cluster.local has no port 80',
  },
  {
    name: 'a service with only unhealthy endpoints is unavailable',
    dst: '10.96.0.20',
    port: 80,
    want: 'unavailable: service default/drained.default.svc.cluster.local has no healthy endpoint for port 80',
  },
  {
    name: 'a service with a waypoint goes to the waypoint VIP, keeping the service port',
    dst: '10.96.0.30',
    port: 9080,
    want: 'service productpage via waypoint 10.96.0.99:15008 port 9080',
  },
  {
    name: 'a service whose waypoint is not known is unavailable',
    dst: '10.96.0.31',
    port: 80,
    want: 'unavailable: waypoint default/gone.default.svc.cluster.local of service default/orphaned.default.svc.cluster.local is not known',
  },
  {
    name: 'a PASSTHROUGH service goes to the address asked for',
    dst: '10.96.0.40',
    port: 443,
    want: 'passthrough',
  },
  {
    name: 'a port a PASSTHROUGH service does not declare is passthrough, but not registered',
    dst: '10.96.0.40',
    port: 80,
    want: 'passthrough (unregistered)',
  },
  {
    name: 'a workload IP goes to that workload on the same port',
    dst: '10.1.0.7',
    port: 8080,
    want: 'workload reviews-v3:8080',
  },
  {
    name: 'a workload outside the mesh is passthrough',
    dst: '10.1.0.50',
    port: 8080,
    want: 'passthrough',
  },
  {
    name: 'a workload with its own waypoint goes through it',
    dst: '10.1.0.60',
    port: 8080,
    want: 'workload guarded via waypoint 10.1.0.99:15008 port 8080',
  },
  {
    name: 'an unknown IP is passthrough, marked as unknown to the registry',
    dst: '192.0.2.1',
    port: 80,
    want: 'passthrough (unregistered)',
  },
];

t.test('resolveDestination', async (t) => {
  const state = mesh();
  for (const c of cases) {
    t.equal(
      brief(resolveDestination(state, { address: c.dst, port: c.port }, c.pick)),
      c.want,
      c.name,
    );
  }
});

t.test('pick chooses among the healthy endpoints only', async (t) => {
  const seen: number[] = [];
  resolveDestination(mesh(), { address: '10.96.0.10', port: 9080 }, (n) => {
    seen.push(n);
    return 0;
  });
  t.strictSame(seen, [2], 'two healthy endpoints of three');
});

t.test('without pick, every healthy endpoint is eventually chosen', async (t) => {
  const state = mesh();
  const chosen = new Set<string>();
  for (let i = 0; i < 200 && chosen.size < 2; i++) {
    const d = resolveDestination(state, { address: '10.96.0.10', port: 9080 });
    if (d.kind === 'service' && d.endpoint) chosen.add(d.endpoint.name);
  }
  t.strictSame([...chosen].sort(), ['reviews-v1', 'reviews-v2']);
});
