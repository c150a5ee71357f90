import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { serviceDefinition } from '../../api/grpc/service.js';
import {
  AggregatedDiscoveryService,
  DeltaDiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../api/gen/envoy/service/discovery/v3/discovery_pb.js';
import { silentLogger } from '../telemetry/log.js';
import { DeltaXdsClient, type DeltaXdsClientOptions, type ResourceDelta } from './client.js';
import { XdsClientClosedError } from './errors.js';
import { createTlsFixture, type TlsFixture } from './testing/tls.js';
import { waitFor } from './testing/wait.js';

// The client against a scripted Delta ADS server (a real grpc-js server over real TLS whose
// responses the test writes by hand), to pin what the client puts on the wire. The client
// against Ambit's own server is tested in controlplane/xds/server.test.ts.

const ADDRESS = 'type.googleapis.com/istio.workload.Address';
const AUTHORIZATION = 'type.googleapis.com/istio.security.Authorization';

type ServerCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

interface ScriptedStream {
  call: ServerCall;
  token: string | undefined;
  requests: DeltaDiscoveryRequest[];
}

interface ScriptedServer {
  port: number;
  streams: ScriptedStream[];
}

let tls: TlsFixture;
t.before(async () => {
  tls = await createTlsFixture();
});
t.teardown(async () => tls.remove());

async function scriptedServer(t: Test): Promise<ScriptedServer> {
  const server = new grpc.Server();
  const scripted: ScriptedServer = { port: 0, streams: [] };
  const deltaAggregatedResources = (call: ServerCall): void => {
    const stream: ScriptedStream = {
      call,
      token: call.metadata.get('authorization')[0]?.toString(),
      requests: [],
    };
    scripted.streams.push(stream);
    call.on('data', (request: DeltaDiscoveryRequest) => stream.requests.push(request));
    call.on('error', () => {});
  };
  server.addService(
    serviceDefinition(AggregatedDiscoveryService) as grpc.ServiceDefinition,
    { deltaAggregatedResources } as grpc.UntypedServiceImplementation,
  );
  scripted.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }]),
      (error, port) => (error ? reject(error) : resolve(port)),
    ),
  );
  t.teardown(() => server.forceShutdown());
  return scripted;
}

function respond(
  call: ServerCall,
  typeUrl: string,
  nonce: string,
  resources: Record<string, string>,
  removed: string[] = [],
): void {
  call.write(
    create(DeltaDiscoveryResponseSchema, {
      typeUrl,
      nonce,
      systemVersionInfo: nonce,
      removedResources: removed,
      resources: Object.entries(resources).map(([name, version]) => ({
        name,
        version,
        resource: { typeUrl, value: new TextEncoder().encode(`${name}@${version}`) },
      })),
    }),
  );
}

function client(
  t: Test,
  port: number,
  options: Partial<DeltaXdsClientOptions> = {},
): { client: DeltaXdsClient; deltas: { typeUrl: string; delta: ResourceDelta }[] } {
  const deltas: { typeUrl: string; delta: ResourceDelta }[] = [];
  const xds = new DeltaXdsClient({
    address: `127.0.0.1:${port}`,
    tls: { ca: tls.ca, servername: tls.servername },
    token: 'secret-token',
    node: { id: 'ztunnel~10.0.0.1~node-1' },
    typeUrls: [ADDRESS, AUTHORIZATION],
    logger: silentLogger(),
    onResources: (typeUrl, delta) => {
      deltas.push({ typeUrl, delta });
    },
    backoff: { initialMs: 20, maxMs: 100 },
    ...options,
  });
  t.teardown(() => xds.close());
  xds.start();
  return { client: xds, deltas };
}

t.test('the client subscribes wildcard to every type with its node and bearer token', async (t) => {
  const server = await scriptedServer(t);
  client(t, server.port);
  await waitFor('both subscriptions', () => (server.streams[0]?.requests.length ?? 0) >= 2);
  const stream = server.streams[0];
  t.equal(stream?.token, 'Bearer secret-token');
  const [first, second] = stream?.requests ?? [];
  t.equal(first?.typeUrl, ADDRESS);
  t.equal(first?.node?.id, 'ztunnel~10.0.0.1~node-1');
  t.strictSame(first?.resourceNamesSubscribe, []);
  t.strictSame(first?.initialResourceVersions, {});
  t.equal(second?.typeUrl, AUTHORIZATION);
  t.equal(second?.node, undefined, 'the node goes on the first request of a stream only');
});

t.test('the client ACKs an applied response and is synced once every type is', async (t) => {
  const server = await scriptedServer(t);
  const { client: xds, deltas } = client(t, server.port);
  await waitFor('subscriptions', () => (server.streams[0]?.requests.length ?? 0) >= 2);
  const stream = server.streams[0] as ScriptedStream;
  let synced = false;
  void xds.whenSynced().then(() => (synced = true));
  respond(stream.call, ADDRESS, 'a1', { 'default/pod-a': 'v1' });
  await waitFor('the ACK', () => stream.requests.length >= 3);
  t.equal(stream.requests[2]?.responseNonce, 'a1');
  t.equal(stream.requests[2]?.errorDetail, undefined);
  t.notOk(synced, 'not synced before every type has answered');
  respond(stream.call, AUTHORIZATION, 'z1', {});
  await xds.whenSynced();
  t.strictSame(Object.fromEntries(xds.versions(ADDRESS)), { 'default/pod-a': 'v1' });
  t.equal(deltas[0]?.delta.upserts.get('default/pod-a')?.resource.typeUrl, ADDRESS);
});

t.test('a handler that throws NACKs with its message; the client keeps what it held', async (t) => {
  const server = await scriptedServer(t);
  const { client: xds } = client(t, server.port, {
    onResources: (_typeUrl, delta) => {
      if (delta.upserts.get('default/pod-a')?.version === 'bad')
        throw new Error('port 0 is invalid');
    },
  });
  await waitFor('subscriptions', () => (server.streams[0]?.requests.length ?? 0) >= 2);
  const stream = server.streams[0] as ScriptedStream;
  respond(stream.call, ADDRESS, 'a1', { 'default/pod-a': 'v1' });
  respond(stream.call, ADDRESS, 'a2', { 'default/pod-a': 'bad', 'default/pod-b': 'v1' });
  await waitFor('the NACK', () => stream.requests.length >= 4);
  const nack = stream.requests[3];
  t.equal(nack?.responseNonce, 'a2');
  t.equal(nack?.errorDetail?.message, 'port 0 is invalid');
  t.equal(nack?.errorDetail?.code, grpc.status.INVALID_ARGUMENT);
  t.strictSame(Object.fromEntries(xds.versions(ADDRESS)), { 'default/pod-a': 'v1' });
});

t.test('a resource without a body is NACKed without reaching the handler', async (t) => {
  const server = await scriptedServer(t);
  const { deltas } = client(t, server.port);
  await waitFor('subscriptions', () => (server.streams[0]?.requests.length ?? 0) >= 2);
  const stream = server.streams[0] as ScriptedStream;
  stream.call.write(
    create(DeltaDiscoveryResponseSchema, {
      typeUrl: ADDRESS,
      nonce: 'a1',
      resources: [{ name: 'default/pod-a', version: 'v1' }],
    }),
  );
  await waitFor('the NACK', () => stream.requests.length >= 3);
  t.match(stream.requests[2]?.errorDetail?.message, /default\/pod-a has no body/);
  t.equal(deltas.length, 0);
});

t.test('after the stream drops the client reconnects and declares what it holds', async (t) => {
  const server = await scriptedServer(t);
  let tokens = 0;
  const { client: xds } = client(t, server.port, { token: () => `token-${++tokens}` });
  await waitFor('subscriptions', () => (server.streams[0]?.requests.length ?? 0) >= 2);
  const first = server.streams[0] as ScriptedStream;
  respond(first.call, ADDRESS, 'a1', { 'default/pod-a': 'v1', 'default/pod-b': 'v7' });
  respond(first.call, ADDRESS, 'a2', {}, ['default/pod-b']);
  await waitFor('both ACKs', () => first.requests.length >= 4);
  first.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'going away' });
  await waitFor('a second stream', () => (server.streams[1]?.requests.length ?? 0) >= 2);
  const second = server.streams[1] as ScriptedStream;
  t.equal(second.token, 'Bearer token-2', 'the token is asked for again on reconnect');
  t.strictSame(second.requests[0]?.initialResourceVersions, { 'default/pod-a': 'v1' });
  t.strictSame(second.requests[1]?.initialResourceVersions, {});
  t.strictSame(Object.fromEntries(xds.versions(ADDRESS)), { 'default/pod-a': 'v1' });
});

t.test('a token source that fails is asked again after a backoff', async (t) => {
  const server = await scriptedServer(t);
  let calls = 0;
  client(t, server.port, {
    token: () => {
      if (++calls === 1) throw new Error('token file not written yet');
      return 'late-token';
    },
  });
  await waitFor('a stream', () => server.streams.length === 1);
  t.equal(server.streams[0]?.token, 'Bearer late-token');
  t.equal(calls, 2);
});

t.test('versions given at start are declared on the first stream', async (t) => {
  const server = await scriptedServer(t);
  client(t, server.port, {
    initialVersions: new Map([[AUTHORIZATION, new Map([['default/deny-all', 'v3']])]]),
  });
  await waitFor('subscriptions', () => (server.streams[0]?.requests.length ?? 0) >= 2);
  t.strictSame(server.streams[0]?.requests[1]?.initialResourceVersions, {
    'default/deny-all': 'v3',
  });
});

t.test('closing the client before it syncs rejects whenSynced', async (t) => {
  const server = await scriptedServer(t);
  const { client: xds } = client(t, server.port);
  const synced = xds.whenSynced();
  xds.close();
  await t.rejects(synced, XdsClientClosedError);
  await t.rejects(xds.whenSynced(), { code: 'AMBIT_XDS_CLIENT_CLOSED' });
});
