import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { parseResources } from '../../api/resources/index.js';
import { decodeWaypointService } from '../../api/waypoint/codec.js';
import type { WaypointService } from '../../api/waypoint/config.js';
import { WAYPOINT_SERVICE_TYPE_URL } from '../../api/xds/type-urls.js';
import { identityOf } from '../../core/identity/spiffe.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { Registry } from '../../core/telemetry/metrics.js';
import { DeltaXdsClient } from '../../core/xds/client.js';
import { createTlsFixture } from '../../core/xds/testing/tls.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import { AmbientIndex } from '../ambient/index.js';
import { StaticTokenAuthenticator } from '../auth/static-tokens.js';
import { XdsServer } from '../xds/server.js';
import { service, WAYPOINT_NAMESPACE } from './testing/mesh.js';

// The one publication path, end to end: config → ambient index → Delta ADS server over real
// gRPC and TLS → the one xDS client, subscribed to the waypoint type only, as a waypoint is.

const TOKEN = 'waypoint-token';
const NAME = 'shop/reviews.shop.svc.cluster.local';

function resources(...documents: string[]) {
  const { resources: parsed, errors } = parseResources(
    [WAYPOINT_NAMESPACE, ...documents].join('\n---\n'),
    'x.yaml',
  );
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return parsed;
}

const canary = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews } }]
    timeout: 2s
  - route: [{ destination: { host: reviews } }]`;

t.test(
  'a client subscribed to WaypointService receives each service’s config and its changes',
  async (t) => {
    const tls = await createTlsFixture();
    t.teardown(() => tls.remove());
    const index = new AmbientIndex({ logger: silentLogger() });
    const xds = new XdsServer({
      logger: silentLogger(),
      registry: new Registry(),
      authenticator: new StaticTokenAuthenticator([
        {
          token: TOKEN,
          caller: {
            identity: identityOf({
              trustDomain: 'cluster.local',
              namespace: 'shop',
              serviceAccount: 'waypoint',
            }),
          },
        },
      ]),
      debounceMs: 10,
    });
    t.teardown(index.subscribe((typeUrl, published) => xds.update(typeUrl, published)));
    const server = new grpc.Server();
    const { definition, implementation } = xds.service();
    server.addService(definition, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        '127.0.0.1:0',
        grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }]),
        (error, bound) => (error ? reject(error) : resolve(bound)),
      ),
    );
    t.teardown(() => {
      xds.close();
      server.forceShutdown();
    });

    const held = new Map<string, WaypointService>();
    const client = new DeltaXdsClient({
      address: `127.0.0.1:${port}`,
      tls: { ca: tls.ca, servername: tls.servername },
      token: TOKEN,
      node: { id: 'waypoint~10.1.0.100~waypoint-abc.shop~shop.svc.cluster.local' },
      typeUrls: [WAYPOINT_SERVICE_TYPE_URL],
      logger: silentLogger(),
      backoff: { initialMs: 20, maxMs: 200 },
      onResources: (typeUrl, delta) => {
        t.equal(typeUrl, WAYPOINT_SERVICE_TYPE_URL);
        for (const [name, { resource }] of delta.upserts)
          held.set(name, decodeWaypointService(resource));
        for (const name of delta.removals) held.delete(name);
      },
    });
    t.teardown(() => client.close());
    client.start();

    index.updateFromResources(resources(service('reviews')));
    await waitFor('the default config', () => held.has(NAME));
    t.strictSame(held.get(NAME), index.waypointServices().get(NAME));
    t.same(
      held.get(NAME)?.http.map((r) => r.origin),
      ['default'],
    );

    index.updateFromResources(resources(service('reviews'), canary));
    await waitFor('the VirtualService routes', () => held.get(NAME)?.http.length === 2);
    t.same(
      held.get(NAME)?.http.map((r) => [r.origin, r.timeoutMs]),
      [
        ['VirtualService shop/reviews http[0]', 2000],
        ['VirtualService shop/reviews http[1]', undefined],
      ],
    );

    index.updateFromResources(resources());
    await waitFor('the removal of the service', () => !held.has(NAME));
  },
);
