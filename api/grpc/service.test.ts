import { once } from 'node:events';
import { create, equals } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { Test } from 'tap';
import {
  AggregatedDiscoveryService,
  DeltaDiscoveryRequestSchema,
  DeltaDiscoveryResponseSchema,
} from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
} from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import {
  IstioCertificateRequestSchema,
  IstioCertificateResponseSchema,
  IstioCertificateService,
} from '../gen/istio/v1/auth/ca_pb.js';
import type { IstioCertificateRequest } from '../gen/istio/v1/auth/ca_pb.js';
import { AddressSchema } from '../gen/istio/workload/workload_pb.js';
import { ADDRESS_TYPE_URL, packResource, unpackResource } from '../xds/type-urls.js';
import {
  addService,
  bindClient,
  GrpcCallError,
  GrpcStatusError,
  methodPath,
  serviceDefinition,
  unaryHandler,
} from './service.js';
import type { ServiceImplementation } from './service.js';

type Services = {
  ca?: Partial<ServiceImplementation<(typeof IstioCertificateService)['method']>>;
  ads?: Partial<ServiceImplementation<(typeof AggregatedDiscoveryService)['method']>>;
};

/** Starts a real grpc-js server on 127.0.0.1:0 and a client channel to it, both closed on teardown. */
async function serve(t: Test, services: Services): Promise<grpc.Client> {
  const server = new grpc.Server();
  if (services.ca) addService(server, IstioCertificateService, services.ca);
  if (services.ads) addService(server, AggregatedDiscoveryService, services.ads);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const channel = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.teardown(() => {
    channel.close();
    server.forceShutdown();
  });
  return channel;
}

t.test('the wire paths are /<package>.<Service>/<Method>', async (t) => {
  const ca = serviceDefinition(IstioCertificateService);
  t.equal(ca.createCertificate.path, '/istio.v1.auth.IstioCertificateService/CreateCertificate');
  t.equal(ca.createCertificate.requestStream, false);
  t.equal(ca.createCertificate.responseStream, false);
  const ads = serviceDefinition(AggregatedDiscoveryService);
  t.equal(
    ads.deltaAggregatedResources.path,
    '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources',
  );
  t.equal(ads.deltaAggregatedResources.requestStream, true);
  t.equal(ads.deltaAggregatedResources.responseStream, true);
  t.equal(
    methodPath(AggregatedDiscoveryService.method.streamAggregatedResources),
    '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
  );
});

t.test(
  'CreateCertificate carries csr, validity and metadata to the CA and the chain back',
  async (t) => {
    let received: IstioCertificateRequest | undefined;
    let token: grpc.MetadataValue | undefined;
    const channel = await serve(t, {
      ca: {
        createCertificate: unaryHandler(async (request, call) => {
          received = request;
          token = call.metadata.get('authorization')[0];
          return create(IstioCertificateResponseSchema, {
            certChain: ['leaf-for:' + request.csr, 'root'],
          });
        }),
      },
    });
    const ca = bindClient(IstioCertificateService, channel);
    const request = create(IstioCertificateRequestSchema, {
      csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
      validityDuration: 86400n,
      metadata: {
        ImpersonatedIdentity: 'spiffe://cluster.local/ns/default/sa/sleep',
        nested: { list: [1, 2.5, true, null, 'x'], empty: {} },
      },
    });
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Bearer test-token');
    const response = await ca.createCertificate(request, { metadata });

    t.ok(
      received && equals(IstioCertificateRequestSchema, received, request),
      'request arrives whole',
    );
    t.same(received?.metadata, request.metadata, 'the metadata Struct arrives whole');
    t.equal(received?.validityDuration, 86400n);
    t.equal(token, 'Bearer test-token', 'call metadata reaches the server');
    t.same(response.certChain, ['leaf-for:' + request.csr, 'root']);
  },
);

t.test('a CA refusal reaches the client as its gRPC status', async (t) => {
  const channel = await serve(t, {
    ca: {
      createCertificate: unaryHandler(async () => {
        throw new GrpcStatusError(grpc.status.UNAUTHENTICATED, 'no bearer token');
      }),
    },
  });
  const ca = bindClient(IstioCertificateService, channel);
  const error = await ca.createCertificate({ csr: 'x' }).catch((e: unknown) => e);
  t.type(error, GrpcCallError);
  t.match(error, {
    code: 'AMBIT_GRPC_CALL',
    status: grpc.status.UNAUTHENTICATED,
    details: 'no bearer token',
    path: '/istio.v1.auth.IstioCertificateService/CreateCertificate',
  });
});

t.test('an unexpected handler failure is INTERNAL and hides its message', async (t) => {
  const failures: unknown[] = [];
  const channel = await serve(t, {
    ca: {
      createCertificate: unaryHandler(
        async () => {
          throw new Error('signing key at /secret/path unreadable');
        },
        (error) => failures.push(error),
      ),
    },
  });
  const error = await bindClient(IstioCertificateService, channel)
    .createCertificate({ csr: 'x' })
    .catch((e: unknown) => e);
  t.match(error, { status: grpc.status.INTERNAL, details: 'internal error' });
  t.equal(failures.length, 1, 'the failure is handed to the server for logging');
});

t.test('aborting a certificate request cancels the call', async (t) => {
  let serverSawCancel: Promise<unknown> = Promise.resolve();
  let arrived: () => void = () => {};
  const handlerCalled = new Promise<void>((resolve) => (arrived = resolve));
  const channel = await serve(t, {
    ca: {
      createCertificate: (call) => {
        serverSawCancel = once(call, 'cancelled');
        arrived();
      },
    },
  });
  const abort = new AbortController();
  const pending = bindClient(IstioCertificateService, channel)
    .createCertificate({ csr: 'x' }, { signal: abort.signal })
    .catch((e: unknown) => e);
  await handlerCalled;
  abort.abort();
  t.match(await pending, { status: grpc.status.CANCELLED });
  await serverSawCancel;
});

t.test('DeltaAggregatedResources streams an Address packed in Any both ways', async (t) => {
  const address = create(AddressSchema, {
    type: {
      case: 'workload',
      value: { uid: 'cluster1//Pod/default/sleep-1', addresses: [new Uint8Array([10, 0, 0, 7])] },
    },
  });
  const requests: DeltaDiscoveryRequest[] = [];
  const channel = await serve(t, {
    ads: {
      deltaAggregatedResources: (call) => {
        call.on('data', (request: DeltaDiscoveryRequest) => {
          requests.push(request);
          if (request.responseNonce !== '') return; // an ACK needs no answer
          call.write(
            create(DeltaDiscoveryResponseSchema, {
              typeUrl: request.typeUrl,
              nonce: 'n1',
              resources: [
                {
                  name: 'cluster1//Pod/default/sleep-1',
                  version: 'v1',
                  resource: packResource(ADDRESS_TYPE_URL, address),
                },
              ],
            }),
          );
        });
        call.on('end', () => call.end());
      },
    },
  });
  const ads = bindClient(AggregatedDiscoveryService, channel);
  const stream = ads.deltaAggregatedResources();
  const status = once(stream, 'status');
  const firstResponse = once(stream, 'data');
  stream.write(
    create(DeltaDiscoveryRequestSchema, {
      node: { id: 'ztunnel~10.0.0.1~ztunnel-x.istio-system~istio-system.svc.cluster.local' },
      typeUrl: ADDRESS_TYPE_URL,
      resourceNamesSubscribe: ['*'],
    }),
  );
  const [response] = (await firstResponse) as [DeltaDiscoveryResponse];
  t.equal(response.typeUrl, ADDRESS_TYPE_URL);
  t.equal(response.nonce, 'n1');
  const resource = response.resources[0];
  t.equal(resource?.name, 'cluster1//Pod/default/sleep-1');
  t.equal(resource?.version, 'v1');
  t.ok(resource?.resource, 'the resource carries an Any');
  if (resource?.resource) {
    t.ok(equals(AddressSchema, unpackResource(ADDRESS_TYPE_URL, resource.resource), address));
  }

  stream.write(
    create(DeltaDiscoveryRequestSchema, { typeUrl: ADDRESS_TYPE_URL, responseNonce: 'n1' }),
  );
  stream.end();
  const [final] = (await status) as [grpc.StatusObject];
  t.equal(final.code, grpc.status.OK, 'the stream closes cleanly when the client ends it');
  t.equal(requests.length, 2, 'the subscription and its ACK both reach the server');
  t.match(requests[0]?.node?.id, /^ztunnel~/);
  t.same(requests[0]?.resourceNamesSubscribe, ['*']);
  t.equal(requests[1]?.responseNonce, 'n1');
});

t.test('a method the server leaves out answers UNIMPLEMENTED', async (t) => {
  const channel = await serve(t, { ads: { deltaAggregatedResources: (call) => call.end() } });
  const stream = bindClient(AggregatedDiscoveryService, channel).streamAggregatedResources();
  const errored = once(stream, 'error');
  stream.end();
  const [error] = (await errored) as [grpc.ServiceError];
  t.equal(error.code, grpc.status.UNIMPLEMENTED);
});
