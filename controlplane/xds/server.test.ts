import { create, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { bindClient } from '../../api/grpc/service.js';
import {
  AggregatedDiscoveryService,
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../api/gen/envoy/service/discovery/v3/discovery_pb.js';
import { AddressSchema } from '../../api/gen/istio/workload/workload_pb.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  unpackResource,
} from '../../api/xds/type-urls.js';
import { identityOf } from '../../core/identity/spiffe.js';
import { Writable } from 'node:stream';
import { createLogger, silentLogger, type Logger } from '../../core/telemetry/log.js';
import { Registry } from '../../core/telemetry/metrics.js';
import { DeltaXdsClient, type ResourceDelta } from '../../core/xds/client.js';
import { createTlsFixture, type TlsFixture } from '../../core/xds/testing/tls.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import { StaticTokenAuthenticator } from '../auth/static-tokens.js';
import { resourceVersion } from './snapshot.js';
import { XdsServer } from './server.js';

// The Delta ADS server and the one xDS client, end to end: real grpc-js over real TLS on
// 127.0.0.1, resources that are real istio.workload.Address messages.

const TOKEN = 'ztunnel-node-1-token';

let tls: TlsFixture;
t.before(async () => {
  tls = await createTlsFixture();
});
t.teardown(async () => tls.remove());

interface ControlPlane {
  xds: XdsServer;
  registry: Registry;
  port: number;
  /** Stops the gRPC server under the xDS server, dropping every connection. */
  stopGrpc(): void;
  /** Serves the same xDS server on a new gRPC server at the same port. */
  restartGrpc(): Promise<void>;
}

async function serveGrpc(
  xds: XdsServer,
  port: number,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  const { definition, implementation } = xds.service();
  server.addService(definition, implementation);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `127.0.0.1:${port}`,
      grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }]),
      (error, boundPort) => (error ? reject(error) : resolve(boundPort)),
    ),
  );
  return { server, port: bound };
}

async function controlPlane(
  t: Test,
  options: { debounceMs?: number; logger?: Logger } = {},
): Promise<ControlPlane> {
  const registry = new Registry();
  const identity = identityOf({
    trustDomain: 'cluster.local',
    namespace: 'istio-system',
    serviceAccount: 'ztunnel',
  });
  const xds = new XdsServer({
    logger: options.logger ?? silentLogger(),
    registry,
    authenticator: new StaticTokenAuthenticator([
      { token: TOKEN, caller: { identity, node: 'node-1' } },
    ]),
    ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
  });
  let grpcServer = await serveGrpc(xds, 0);
  const port = grpcServer.port;
  t.teardown(() => {
    xds.close();
    grpcServer.server.forceShutdown();
  });
  return {
    xds,
    registry,
    port,
    stopGrpc: () => grpcServer.server.forceShutdown(),
    restartGrpc: async () => {
      grpcServer = await serveGrpc(xds, port);
    },
  };
}

function workload(name: string, serviceAccount = 'default'): Uint8Array {
  return toBinary(
    AddressSchema,
    create(AddressSchema, {
      type: {
        case: 'workload',
        value: {
          uid: `Kubernetes//Pod/default/${name}`,
          name,
          namespace: 'default',
          serviceAccount,
        },
      },
    }),
  );
}

function addresses(workloads: Record<string, string>): Map<string, Uint8Array> {
  return new Map(
    Object.entries(workloads).map(([name, serviceAccount]) => [
      `Kubernetes//Pod/default/${name}`,
      workload(name, serviceAccount),
    ]),
  );
}

const uid = (name: string): string => `Kubernetes//Pod/default/${name}`;

interface Received {
  typeUrl: string;
  upserts: string[];
  removals: string[];
  at: number;
}

function meshClient(
  t: Test,
  port: number,
  options: {
    /** Throws (so the client NACKs) for a workload with this service account. */
    rejectServiceAccount?: string;
    nodeId?: string;
  } = {},
): { client: DeltaXdsClient; received: Received[] } {
  const received: Received[] = [];
  const client = new DeltaXdsClient({
    address: `127.0.0.1:${port}`,
    tls: { ca: tls.ca, servername: tls.servername },
    token: TOKEN,
    node: { id: options.nodeId ?? 'ztunnel~10.0.0.1~node-1' },
    typeUrls: [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL],
    logger: silentLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    onResources: (typeUrl: string, delta: ResourceDelta) => {
      for (const { resource } of delta.upserts.values()) {
        if (typeUrl !== ADDRESS_TYPE_URL) continue;
        const address = unpackResource(ADDRESS_TYPE_URL, resource);
        if (
          address.type.case === 'workload' &&
          address.type.value.serviceAccount === options.rejectServiceAccount
        ) {
          throw new Error(`workload ${address.type.value.name} has a forbidden service account`);
        }
      }
      received.push({
        typeUrl,
        upserts: [...delta.upserts.keys()],
        removals: [...delta.removals],
        at: performance.now(),
      });
    },
  });
  t.teardown(() => client.close());
  client.start();
  return { client, received };
}

/** Sum of a metric's samples with these labels; `sample` picks e.g. a histogram's `_count`. */
async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
  sample = name,
): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const matching = values.filter(
    (value) =>
      (('metricName' in value ? value.metricName : undefined) ?? name) === sample &&
      Object.entries(labels).every(([key, want]) => value.labels[key] === want),
  );
  return matching.reduce((sum, value) => sum + value.value, 0);
}

async function waitForMetric(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
  atLeast: number,
): Promise<void> {
  let current = 0;
  const deadline = performance.now() + 5000;
  while ((current = await metric(registry, name, labels)) < atLeast) {
    if (performance.now() > deadline)
      throw new Error(`${name} stayed at ${current}, want ≥ ${atLeast}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function addressDeltas(received: Received[]): Received[] {
  return received.filter((delta) => delta.typeUrl === ADDRESS_TYPE_URL);
}

interface RawStream {
  call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  responses: DeltaDiscoveryResponse[];
  status: () => grpc.StatusObject | undefined;
}

/** A hand-driven stream, for clients that misbehave or subscribe by name. */
function rawStream(t: Test, port: number, authorization?: string): RawStream {
  const channel = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(tls.ca), {
    'grpc.ssl_target_name_override': tls.servername,
  });
  const metadata = new grpc.Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  const call = bindClient(AggregatedDiscoveryService, channel).deltaAggregatedResources({
    metadata,
  });
  const responses: DeltaDiscoveryResponse[] = [];
  let status: grpc.StatusObject | undefined;
  call.on('data', (response: DeltaDiscoveryResponse) => responses.push(response));
  call.on('status', (s: grpc.StatusObject) => (status = s));
  call.on('error', () => {});
  t.teardown(() => {
    call.cancel();
    channel.close();
  });
  return { call, responses, status: () => status };
}

function request(
  init: Parameters<typeof create<typeof DeltaDiscoveryRequestSchema>>[1],
): DeltaDiscoveryRequest {
  return create(DeltaDiscoveryRequestSchema, init);
}

t.test(
  'a client gets the snapshot, then only what changed, within a second of an update',
  async (t) => {
    const { xds, port } = await controlPlane(t);
    xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default', b: 'default' }));
    xds.update(AUTHORIZATION_TYPE_URL, new Map());
    const { client, received } = meshClient(t, port);
    await client.whenSynced();
    t.strictSame(addressDeltas(received)[0]?.upserts, [uid('a'), uid('b')]);
    t.strictSame(client.versions(ADDRESS_TYPE_URL).get(uid('a')), resourceVersion(workload('a')));

    const changedAt = performance.now();
    xds.update(ADDRESS_TYPE_URL, addresses({ a: 'reviews', b: 'default' }));
    await waitFor('the change', () => addressDeltas(received).length === 2);
    const change = addressDeltas(received)[1];
    t.strictSame(change?.upserts, [uid('a')], 'only the changed workload is sent');
    t.strictSame(change?.removals, []);
    t.ok((change?.at ?? Infinity) - changedAt < 1000, 'delivered within one second');

    xds.update(ADDRESS_TYPE_URL, addresses({ a: 'reviews' }));
    await waitFor('the removal', () => addressDeltas(received).length === 3);
    t.strictSame(addressDeltas(received)[2], {
      ...addressDeltas(received)[2],
      upserts: [],
      removals: [uid('b')],
    });
    t.strictSame([...client.versions(ADDRESS_TYPE_URL).keys()], [uid('a')]);
  },
);

/** A logger whose JSON lines the test can read. */
function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger('xds', { level: 'warn', destination }), lines };
}

t.test('a rejected update is counted and the client keeps its last good version', async (t) => {
  const { logger, lines } = capturedLogger();
  const { xds, registry, port } = await controlPlane(t, { logger });
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default', b: 'default' }));
  xds.update(AUTHORIZATION_TYPE_URL, new Map());
  const { client, received } = meshClient(t, port, { rejectServiceAccount: 'forbidden' });
  await client.whenSynced();
  const good = client.versions(ADDRESS_TYPE_URL).get(uid('a'));

  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'forbidden', b: 'default' }));
  await waitForMetric(registry, 'ambit_xds_nacks_total', { type: ADDRESS_TYPE_URL }, 1);
  t.equal(client.versions(ADDRESS_TYPE_URL).get(uid('a')), good, 'still on the last good version');
  await waitFor('the NACK log line', () => lines.some((line) => 'nonce' in line));
  t.match(
    lines.find((line) => 'nonce' in line),
    {
      level: 'warn',
      type: ADDRESS_TYPE_URL,
      nonce: /.+/,
      node: 'ztunnel~10.0.0.1~node-1',
      identity: 'spiffe://cluster.local/ns/istio-system/sa/ztunnel',
      error: { message: 'workload a has a forbidden service account' },
      resources: { count: 1, first: [uid('a')] },
    },
  );

  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'forbidden', b: 'ratings' }));
  await waitFor('the next change', () => addressDeltas(received).length === 2);
  t.strictSame(
    addressDeltas(received)[1]?.upserts,
    [uid('b')],
    'the rejected version is not resent',
  );
  t.equal(client.versions(ADDRESS_TYPE_URL).get(uid('a')), good);

  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'reviews', b: 'ratings' }));
  await waitFor('the fixed workload', () => addressDeltas(received).length === 3);
  t.strictSame(addressDeltas(received)[2]?.upserts, [uid('a')]);
  t.equal(
    client.versions(ADDRESS_TYPE_URL).get(uid('a')),
    resourceVersion(workload('a', 'reviews')),
  );
  t.equal(await metric(registry, 'ambit_xds_nacks_total', { type: ADDRESS_TYPE_URL }), 1);
});

t.test('a reconnecting client receives only what changed while it was away', async (t) => {
  const plane = await controlPlane(t);
  const { xds, registry, port } = plane;
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default', b: 'default', c: 'default' }));
  xds.update(AUTHORIZATION_TYPE_URL, new Map());
  const { client, received } = meshClient(t, port);
  await client.whenSynced();

  plane.stopGrpc();
  await waitFor('the server to see the client leave', () => xds.clients().length === 0);
  const published = xds.publishedVersion(ADDRESS_TYPE_URL);
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default', b: 'reviews', d: 'default' }));
  await waitFor(
    'the change to be published',
    () => xds.publishedVersion(ADDRESS_TYPE_URL) !== published,
  );
  const before = received.length;
  await plane.restartGrpc();

  await waitFor('the catch-up', () => addressDeltas(received.slice(before)).length === 1);
  const catchUp = addressDeltas(received.slice(before))[0];
  t.strictSame(catchUp?.upserts, [uid('b'), uid('d')], 'unchanged a is not resent');
  t.strictSame(catchUp?.removals, [uid('c')]);
  await waitFor('the other type', () => received.length - before === 2);
  const authorization = received
    .slice(before)
    .find((delta) => delta.typeUrl === AUTHORIZATION_TYPE_URL);
  t.strictSame(authorization?.upserts, [], 'an unchanged type gets an empty first response');
  t.strictSame([...client.versions(ADDRESS_TYPE_URL).keys()].sort(), [
    uid('a'),
    uid('b'),
    uid('d'),
  ]);
  t.equal(await metric(registry, 'ambit_xds_connected_clients'), 1);
});

t.test('a burst of updates is debounced into one or two pushes', async (t) => {
  const { xds, registry, port } = await controlPlane(t);
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'sa-0' }));
  xds.update(AUTHORIZATION_TYPE_URL, new Map());
  const { client, received } = meshClient(t, port);
  await client.whenSynced();
  const pushesBefore = await metric(registry, 'ambit_xds_pushes_total', { type: ADDRESS_TYPE_URL });

  for (let i = 1; i <= 50; i++) xds.update(ADDRESS_TYPE_URL, addresses({ a: `sa-${i}` }));
  const last = resourceVersion(workload('a', 'sa-50'));
  await waitFor('the last version', () => client.versions(ADDRESS_TYPE_URL).get(uid('a')) === last);

  const pushes =
    (await metric(registry, 'ambit_xds_pushes_total', { type: ADDRESS_TYPE_URL })) - pushesBefore;
  t.ok(pushes >= 1 && pushes <= 2, `50 updates made ${pushes} pushes`);
  t.ok(addressDeltas(received).length - 1 <= 2);
  t.ok(
    (await metric(
      registry,
      'ambit_xds_push_duration_seconds',
      { type: ADDRESS_TYPE_URL },
      'ambit_xds_push_duration_seconds_count',
    )) >= 2,
  );
});

t.test('a stream without a valid bearer token is refused; other clients carry on', async (t) => {
  const { xds, registry, port } = await controlPlane(t);
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default' }));
  xds.update(AUTHORIZATION_TYPE_URL, new Map());
  const { client, received } = meshClient(t, port);
  await client.whenSynced();

  const anonymous = rawStream(t, port);
  const wrong = rawStream(t, port, 'Bearer not-a-known-token');
  const notBearer = rawStream(t, port, `Basic ${TOKEN}`);
  for (const stream of [anonymous, wrong, notBearer]) {
    stream.call.write(request({ typeUrl: ADDRESS_TYPE_URL }));
  }
  await waitFor('three refusals', () => [anonymous, wrong, notBearer].every((s) => s.status()));
  for (const stream of [anonymous, wrong, notBearer]) {
    t.equal(stream.status()?.code, grpc.status.UNAUTHENTICATED);
    t.equal(stream.responses.length, 0);
  }
  t.equal(await metric(registry, 'ambit_xds_auth_failures_total'), 3);
  t.equal(await metric(registry, 'ambit_xds_connected_clients'), 1);

  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'reviews' }));
  await waitFor(
    'the authenticated client to get the change',
    () => addressDeltas(received).length === 2,
  );
  t.pass('the authenticated client still receives updates');
});

t.test('malformed and out-of-protocol requests affect only their own stream', async (t) => {
  const { xds, registry, port } = await controlPlane(t);
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default' }));
  xds.update(AUTHORIZATION_TYPE_URL, new Map());
  const { client, received } = meshClient(t, port);
  await client.whenSynced();

  const sloppy = rawStream(t, port, `Bearer ${TOKEN}`);
  sloppy.call.write(request({ node: { id: 'sloppy' } }));
  sloppy.call.write(request({ typeUrl: ADDRESS_TYPE_URL }));
  await waitFor('the first response', () => sloppy.responses.length === 1);
  sloppy.call.write(request({ typeUrl: ADDRESS_TYPE_URL, responseNonce: 'not-a-nonce-we-sent' }));
  await waitForMetric(registry, 'ambit_xds_bad_requests_total', { reason: 'stale_nonce' }, 1);
  t.equal(
    await metric(registry, 'ambit_xds_bad_requests_total', { reason: 'missing_type_url' }),
    1,
  );

  // Bytes that are no DeltaDiscoveryRequest: grpc-js ends that stream with INTERNAL.
  const channel = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(tls.ca), {
    'grpc.ssl_target_name_override': tls.servername,
  });
  t.teardown(() => channel.close());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${TOKEN}`);
  const garbage = channel.makeBidiStreamRequest(
    '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
    (bytes: Buffer) => bytes,
    (bytes: Buffer) => bytes,
    metadata,
  );
  let garbageStatus: grpc.StatusObject | undefined;
  garbage.on('status', (status: grpc.StatusObject) => (garbageStatus = status));
  garbage.on('error', () => {});
  garbage.on('data', () => {});
  garbage.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
  await waitFor('the malformed stream to end', () => garbageStatus !== undefined);
  t.equal(garbageStatus?.code, grpc.status.INTERNAL);

  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'reviews' }));
  await waitFor(
    'the well-behaved client to get the change',
    () => addressDeltas(received).length === 2,
  );
  sloppy.call.write(
    request({ typeUrl: ADDRESS_TYPE_URL, responseNonce: sloppy.responses[0]?.nonce ?? '' }),
  );
  await waitFor('the sloppy client to get it too', () => sloppy.responses.length === 2);
  t.equal(sloppy.status(), undefined, 'the sloppy stream is still open');
});

t.test('a client subscribing by name gets those resources and hears of missing ones', async (t) => {
  const { xds, port } = await controlPlane(t);
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default', b: 'default' }));
  const stream = rawStream(t, port, `Bearer ${TOKEN}`);
  stream.call.write(
    request({
      node: { id: 'waypoint' },
      typeUrl: ADDRESS_TYPE_URL,
      resourceNamesSubscribe: [uid('a'), uid('gone')],
    }),
  );
  await waitFor('the response', () => stream.responses.length === 1);
  const [response] = stream.responses;
  t.strictSame(
    response?.resources.map((resource) => resource.name),
    [uid('a')],
  );
  t.strictSame(response?.removedResources, [uid('gone')]);
  t.equal(response?.resources[0]?.resource?.typeUrl, ADDRESS_TYPE_URL);
  t.ok(response?.systemVersionInfo);
  t.ok(response?.nonce);

  stream.call.write(
    request({
      typeUrl: ADDRESS_TYPE_URL,
      responseNonce: response?.nonce ?? '',
      resourceNamesSubscribe: [uid('b')],
    }),
  );
  await waitFor('the added name', () => stream.responses.length === 2);
  t.strictSame(
    stream.responses[1]?.resources.map((resource) => resource.name),
    [uid('b')],
  );
  t.not(stream.responses[1]?.nonce, response?.nonce, 'every response has a fresh nonce');
});

t.test('the server lists connected clients with node, identity and what they hold', async (t) => {
  const { xds, registry, port } = await controlPlane(t);
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default', b: 'default' }));
  xds.update(AUTHORIZATION_TYPE_URL, new Map());
  const { client } = meshClient(t, port, { nodeId: 'ztunnel~10.0.0.7~node-7' });
  await client.whenSynced();
  await waitFor(
    'both ACKs',
    () => xds.clients()[0]?.types.every((type) => type.inFlightNonce === undefined) ?? false,
  );
  const [info] = xds.clients();
  t.equal(info?.nodeId, 'ztunnel~10.0.0.7~node-7');
  t.equal(info?.identity, 'spiffe://cluster.local/ns/istio-system/sa/ztunnel');
  t.strictSame(
    info?.types.map(({ typeUrl, wildcard, acked }) => ({ typeUrl, wildcard, acked })),
    [
      { typeUrl: ADDRESS_TYPE_URL, wildcard: true, acked: 2 },
      { typeUrl: AUTHORIZATION_TYPE_URL, wildcard: true, acked: 0 },
    ],
  );
  t.equal(await metric(registry, 'ambit_xds_connected_clients'), 1);
  client.close();
  await waitFor('the client to leave', () => xds.clients().length === 0);
  t.equal(await metric(registry, 'ambit_xds_connected_clients'), 0);
});

t.test('a client waits for a type that has no resources yet', async (t) => {
  const { xds, port } = await controlPlane(t);
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default' }));
  const { client, received } = meshClient(t, port);
  await waitFor('the address response', () => addressDeltas(received).length === 1);
  let synced = false;
  void client.whenSynced().then(() => (synced = true));
  t.notOk(synced);
  xds.update(AUTHORIZATION_TYPE_URL, new Map());
  await client.whenSynced();
  t.ok(received.some((delta) => delta.typeUrl === AUTHORIZATION_TYPE_URL));
});

t.test('closing the server ends every stream and refuses new ones', async (t) => {
  const { xds, registry, port } = await controlPlane(t);
  xds.update(ADDRESS_TYPE_URL, addresses({ a: 'default' }));
  xds.update(AUTHORIZATION_TYPE_URL, new Map());
  const { client } = meshClient(t, port);
  await client.whenSynced();
  xds.close();
  await waitFor('no clients', () => xds.clients().length === 0);
  t.equal(await metric(registry, 'ambit_xds_connected_clients'), 0);
  const late = rawStream(t, port, `Bearer ${TOKEN}`);
  late.call.write(request({ typeUrl: ADDRESS_TYPE_URL }));
  await waitFor('the refusal', () => late.status() !== undefined);
  t.equal(late.status()?.code, grpc.status.UNAVAILABLE);
});
