import t from 'tap';
import { decodeWaypointService, encodeWaypointService } from '../../api/waypoint/codec.js';
import type { WaypointService } from '../../api/waypoint/config.js';
import { compile } from './testing/mesh.js';

// Egress through a waypoint: a ServiceEntry bound to it compiles like a Service, and its
// endpoints outside the mesh are reached in plain TCP (no node tunnel there to take HBONE).

function entry(resolution: string, endpoints: string, addresses = '[240.240.0.1]'): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: shop }
spec:
  hosts: [api.example.com]
  addresses: ${addresses}
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: 8080 }, { number: 5432, name: tcp-pg, protocol: TCP }]
  location: MESH_EXTERNAL
  resolution: ${resolution}
  endpoints: ${endpoints}`;
}

function compiled(...documents: string[]): WaypointService {
  const config = compile(...documents).services.get('shop/api.example.com');
  if (config === undefined) throw new Error('no WaypointService for api.example.com');
  // What the waypoint gets must pass its own checks on decode.
  return decodeWaypointService(encodeWaypointService(config));
}

t.test('STATIC endpoints of a ServiceEntry are plaintext, for HTTP and TCP ports', async (t) => {
  const config = compiled(
    entry('STATIC', '[{ address: 192.0.2.4 }]', '[240.240.0.1, 240.241.0.0/16]'),
  );
  t.strictSame(config.vips, ['240.240.0.1'], 'an address block is no VIP for the waypoint');
  const byPort = (port: number) => config.clusters.find((c) => c.port === port)?.endpoints;
  t.strictSame(byPort(80), [
    {
      address: '192.0.2.4',
      port: 8080,
      identity: 'spiffe://cluster.local/ns/shop/sa/default',
      healthy: true,
      plaintext: true,
    },
  ]);
  t.equal(byPort(5432)?.[0]?.plaintext, true);
  t.ok(
    config.tcp.some((r) => r.ports.includes(5432)),
    'the TCP port has a TCP route',
  );
});

t.test('DNS endpoints reach the waypoint as host names it resolves itself', async (t) => {
  const config = compiled(entry('DNS', '[{ address: eu.api.example.com }]'));
  const endpoints = config.clusters.find((c) => c.port === 80)?.endpoints;
  t.strictSame(
    endpoints?.map((e) => [e.address, e.port, e.plaintext]),
    [['eu.api.example.com', 8080, true]],
  );
});

t.test('an endpoint that takes HBONE is never addressed by host name', async (t) => {
  const config = compiled(
    entry('DNS', '[{ address: eu.api.example.com, labels: { networking.istio.io/tunnel: http } }]'),
  );
  t.strictSame(config.clusters.find((c) => c.port === 80)?.endpoints, []);
});

t.test('the waypoint refuses a host name on an endpoint it would tunnel to', async (t) => {
  const config = compiled(entry('STATIC', '[{ address: 192.0.2.4 }]'));
  const cluster = config.clusters[0]!;
  const bad: WaypointService = {
    ...config,
    clusters: [
      {
        ...cluster,
        endpoints: [
          { ...cluster.endpoints[0]!, address: 'eu.api.example.com', plaintext: undefined },
        ],
      },
    ],
  };
  t.throws(() => decodeWaypointService(encodeWaypointService(bad)), /must be an IP address/);
});
