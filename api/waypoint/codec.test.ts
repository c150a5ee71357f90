import { create } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import t from 'tap';
import { WaypointServiceSchema } from '../gen/ambit/waypoint/v1/waypoint_pb.js';
import { packResource, WAYPOINT_SERVICE_TYPE_URL } from '../xds/type-urls.js';
import type { WaypointService } from './config.js';
import {
  decodeWaypointService,
  encodeWaypointService,
  WaypointConfigInvalidError,
  waypointServiceName,
} from './codec.js';

const HOST = 'reviews.shop.svc.cluster.local';

/** Every kind of field the type has, once. */
const config: WaypointService = {
  namespace: 'shop',
  name: 'reviews',
  hostname: HOST,
  vips: ['10.96.0.10', 'fd00::10'],
  ports: [
    { port: 9080, protocol: 'http' },
    { port: 9000, protocol: 'tcp' },
  ],
  http: [
    {
      origin: 'VirtualService shop/reviews http[0]',
      name: 'canary',
      matches: [
        {
          uri: { prefix: '/api' },
          ignoreUriCase: true,
          method: { exact: 'GET' },
          authority: { regex: 'reviews(:9080)?' },
          headers: [
            { name: 'x-user', match: { exact: 'jason' } },
            { name: 'x-gone', absent: true },
          ],
          withoutHeaders: [{ name: 'x-debug' }],
          queryParams: [{ name: 'q', match: { prefix: 'a' } }],
          port: 9080,
          sourceAddresses: ['10.1.0.20'],
        },
      ],
      action: {
        kind: 'route',
        destinations: [
          {
            cluster: `outbound|9080|v2|${HOST}`,
            weight: 30,
            headers: { request: { set: { 'x-v': '2' } }, response: { remove: ['server'] } },
            authority: 'v2.reviews',
          },
        ],
      },
      rewrite: { prefix: '/v2', authority: 'reviews' },
      headers: { request: { add: { 'x-a': 'b' } } },
      timeoutMs: 1500,
      retries: {
        attempts: 3,
        perTryTimeoutMs: 200,
        retryOn: ['5xx', 'retriable-status-codes'],
        retriableStatusCodes: [503],
        backoffBaseMs: 25,
      },
      fault: {
        delay: { fixedDelayMs: 100, percentage: 10 },
        abort: { httpStatus: 200, grpcStatus: 14, percentage: 0 },
      },
      mirrors: [{ cluster: `outbound|9080|v2|${HOST}`, percentage: 12.5 }],
      cors: {
        allowOrigins: [{ exact: 'https://a.example' }],
        allowMethods: ['GET'],
        allowHeaders: [],
        exposeHeaders: ['x-r'],
        maxAgeSeconds: 60,
        allowCredentials: true,
      },
    },
    {
      origin: 'HTTPRoute shop/r rules[0]',
      matches: [],
      action: {
        kind: 'redirect',
        redirect: { prefixRewrite: '/new', derivePort: 'request', status: 302 },
      },
      retries: { attempts: 0, retryOn: [], retriableStatusCodes: [], backoffBaseMs: 25 },
    },
    {
      origin: 'default',
      matches: [],
      action: { kind: 'direct', status: 500, body: 'no' },
      retries: { attempts: 0, retryOn: [], retriableStatusCodes: [], backoffBaseMs: 25 },
    },
  ],
  tcp: [
    {
      origin: 'default',
      ports: [9000],
      destinations: [{ cluster: `outbound|9000||${HOST}`, weight: 100 }],
    },
  ],
  clusters: [
    {
      name: `outbound|9000||${HOST}`,
      host: HOST,
      port: 9000,
      policy: {
        loadBalancer: {
          kind: 'CONSISTENT_HASH',
          hashOn: { cookie: { name: 's', ttlMs: 0, path: '/' } },
        },
        connectionPool: {
          maxConnections: 4294967295,
          http1MaxPendingRequests: 1,
          http2MaxRequests: 2,
          maxRequestsPerConnection: 0,
          maxRetries: 3,
          connectTimeoutMs: 10000,
          idleTimeoutMs: 0,
        },
      },
      endpoints: [],
      problem: 'nothing listens',
    },
    {
      name: `outbound|9080|v2|${HOST}`,
      host: HOST,
      port: 9080,
      subset: 'v2',
      policy: {
        loadBalancer: { kind: 'LEAST_REQUEST' },
        connectionPool: {
          maxConnections: 1,
          http1MaxPendingRequests: 1,
          http2MaxRequests: 1,
          maxRequestsPerConnection: 1,
          maxRetries: 1,
          connectTimeoutMs: 250,
        },
        outlierDetection: {
          consecutive5xxErrors: 5,
          consecutiveGatewayErrors: 2,
          intervalMs: 10000,
          baseEjectionTimeMs: 30000,
          maxEjectionPercent: 10,
          minHealthPercent: 0,
        },
      },
      endpoints: [
        {
          address: '10.1.0.6',
          port: 8080,
          identity: 'spiffe://cluster.local/ns/shop/sa/reviews',
          healthy: true,
        },
        {
          address: 'fd00::6',
          port: 8080,
          identity: 'spiffe://cluster.local/ns/shop/sa/reviews',
          healthy: false,
          plaintext: true,
        },
      ],
    },
  ],
  waypoint: 'shop/waypoint',
};

/** The Any a control plane would send with this JSON. */
function packJson(json: string, namespace = 'shop', hostname = HOST) {
  return packResource(
    WAYPOINT_SERVICE_TYPE_URL,
    create(WaypointServiceSchema, { namespace, hostname, configJson: json }),
  );
}

type Key = string | number;

/** The config's JSON with each value at a path replaced. */
function edited(...edits: [path: Key[], value: unknown][]): string {
  const copy: unknown = structuredClone(config);
  for (const [path, value] of edits) {
    let node = copy as Record<Key, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<Key, unknown>;
    node[path[path.length - 1] as Key] = value;
  }
  return JSON.stringify(copy);
}

function issuesOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    if (err instanceof WaypointConfigInvalidError) return err.issues;
    throw err;
  }
  return 'no error';
}

t.test('a config survives encoding and decoding unchanged', async (t) => {
  const any = encodeWaypointService(config);
  t.equal(any.typeUrl, 'type.googleapis.com/ambit.waypoint.v1.WaypointService');
  t.strictSame(decodeWaypointService(any), config);
  t.equal(waypointServiceName(config), `shop/${HOST}`);
});

t.test('the envelope carries namespace, hostname and JSON as fields 1, 2 and 3', async (t) => {
  const reader = new BinaryReader(encodeWaypointService(config).value);
  const fields: [number, string][] = [];
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    t.equal(wireType, WireType.LengthDelimited);
    fields.push([no, reader.string()]);
  }
  t.strictSame(fields, [
    [1, 'shop'],
    [2, HOST],
    [3, JSON.stringify(config)],
  ]);
});

t.test('encoding is deterministic, so an unchanged config keeps its xDS version', async (t) => {
  t.same(encodeWaypointService(structuredClone(config)).value, encodeWaypointService(config).value);
});

t.test('JSON that does not parse is refused with a coded error', async (t) => {
  t.throws(() => decodeWaypointService(packJson('{nope')), {
    code: 'AMBIT_WAYPOINT_CONFIG_INVALID',
    message: `WaypointService shop/${HOST} is invalid: is not JSON`,
  });
});

t.test('every problem is named by its field path', async (t) => {
  const json = edited(
    [['http', 0, 'matches', 0, 'uri'], { exact: '/a', prefix: '/b' }],
    [['http', 0, 'matches', 0, 'sourceAddresses'], ['not-an-ip']],
    [['http', 0, 'action', 'destinations', 0, 'weight'], -1],
    [['http', 1, 'action', 'kind'], 'teleport'],
    [['http', 2, 'retries', 'retryOn'], ['']],
    [['clusters', 0, 'policy', 'loadBalancer'], { kind: 'CONSISTENT_HASH', hashOn: {} }],
    [['clusters', 1, 'name'], 'mislabelled'],
    [['clusters', 1, 'endpoints', 0, 'identity'], 'reviews'],
    [['extra'], true],
  );
  t.strictSame(
    issuesOf(() => decodeWaypointService(packJson(json))),
    [
      { path: 'http[0].matches[0].uri.prefix', reason: 'cannot be set together with exact' },
      { path: 'http[0].matches[0].sourceAddresses[0]', reason: 'must be an IP address' },
      { path: 'http[0].action.destinations[0].weight', reason: 'must be between 0 and 4294967295' },
      { path: 'http[1].action.kind', reason: 'must be one of route, redirect, direct' },
      { path: 'http[2].retries.retryOn[0]', reason: 'must not be empty' },
      {
        path: 'clusters[0].policy.loadBalancer.hashOn',
        reason: 'must set one of header, cookie, sourceIp, queryParameter',
      },
      {
        path: 'clusters[1].endpoints[0].identity',
        reason: 'must be a SPIFFE id spiffe://<trust-domain>/ns/<namespace>/sa/<account>',
      },
      {
        path: 'clusters[1].name',
        reason: `must be outbound|9080|v2|${HOST} (from host, port and subset)`,
      },
      { path: 'extra', reason: 'unknown field' },
    ],
  );
});

t.test('routes must name clusters that exist', async (t) => {
  const json = edited(
    [['tcp', 0, 'destinations', 0, 'cluster'], 'outbound|1||nowhere'],
    [['http', 0, 'mirrors', 0, 'cluster'], 'outbound|2||nowhere'],
  );
  t.strictSame(
    issuesOf(() => decodeWaypointService(packJson(json))),
    [
      {
        path: 'http[0].mirrors[0].cluster',
        reason: 'names no cluster in clusters: outbound|2||nowhere',
      },
      {
        path: 'tcp[0].destinations[0].cluster',
        reason: 'names no cluster in clusters: outbound|1||nowhere',
      },
    ],
  );
});

t.test('the envelope and the JSON must name the same service', async (t) => {
  t.strictSame(
    issuesOf(() => decodeWaypointService(packJson(JSON.stringify(config), 'other', 'x.example'))),
    [
      { path: 'namespace', reason: "must equal the envelope's other" },
      { path: 'hostname', reason: "must equal the envelope's x.example" },
    ],
  );
});

t.test('another resource type is refused before any JSON is read', async (t) => {
  const any = {
    ...encodeWaypointService(config),
    typeUrl: 'type.googleapis.com/istio.workload.Address',
  };
  t.throws(() => decodeWaypointService(any), { code: 'AMBIT_XDS_RESOURCE_TYPE_MISMATCH' });
});
