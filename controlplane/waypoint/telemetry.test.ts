import t from 'tap';
import { compile, configOf, service } from './testing/mesh.js';

// Which Telemetry applies to a service at its waypoint (Istio's Telemetry API scopes): the
// most specific Telemetry that sets a section decides it.

function telemetry(namespace: string, name: string, body: string): string {
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${body}`;
}

const meshWide = telemetry(
  'istio-system',
  'mesh-default',
  `  accessLogging: [{ providers: [{ name: envoy }] }]
  tracing: [{ providers: [{ name: zipkin }], randomSamplingPercentage: 10 }]`,
);

t.test('root-namespace Telemetry applies mesh-wide', async (t) => {
  const config = configOf(compile(service('reviews'), meshWide), 'reviews');
  t.same(config.telemetry?.accessLogging, { providers: ['envoy'], disabled: false });
  t.same(config.telemetry?.tracing, {
    providers: ['zipkin'],
    randomSamplingPercentage: 10,
    disableSpanReporting: false,
  });
});

t.test('a namespace Telemetry overrides the sections it sets, only those', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      meshWide,
      telemetry('shop', 'quiet', '  accessLogging: [{ disabled: true }]'),
      telemetry('other', 'elsewhere', '  tracing: [{ randomSamplingPercentage: 99 }]'),
    ),
    'reviews',
  );
  t.same(config.telemetry?.accessLogging, { providers: [], disabled: true });
  t.equal(config.telemetry?.tracing?.randomSamplingPercentage, 10, 'tracing still mesh-wide');
});

t.test(
  'targetRefs to the service beat the waypoint Gateway, which beats the namespace',
  async (t) => {
    const compiled = compile(
      service('reviews'),
      service('ratings', undefined, '10.96.0.11'),
      telemetry('shop', 'a-namespace', '  tracing: [{ randomSamplingPercentage: 1 }]'),
      telemetry(
        'shop',
        'b-gateway',
        `  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: waypoint }]
  tracing: [{ randomSamplingPercentage: 20 }]`,
      ),
      telemetry(
        'shop',
        'c-service',
        `  targetRefs: [{ kind: Service, group: "", name: reviews }]
  tracing: [{ randomSamplingPercentage: 30 }]`,
      ),
      telemetry(
        'shop',
        'd-client-only',
        `  targetRefs: [{ kind: Service, group: "", name: ratings }]
  tracing: [{ match: { mode: CLIENT }, randomSamplingPercentage: 40 }]`,
      ),
    );
    t.equal(configOf(compiled, 'reviews').telemetry?.tracing?.randomSamplingPercentage, 30);
    t.equal(
      configOf(compiled, 'ratings').telemetry?.tracing?.randomSamplingPercentage,
      20,
      'a CLIENT-only entry does not apply at a waypoint',
    );
  },
);

t.test('a selector on the waypoint pod label applies; other selectors do not', async (t) => {
  const compiled = compile(
    service('reviews'),
    telemetry(
      'shop',
      'for-pods',
      `  selector: { matchLabels: { app: reviews } }
  accessLogging: [{ disabled: true }]`,
    ),
    telemetry(
      'shop',
      'for-waypoint',
      `  selector: { matchLabels: { gateway.networking.k8s.io/gateway-name: waypoint } }
  tracing: [{ disableSpanReporting: true }]`,
    ),
  );
  const config = configOf(compiled, 'reviews');
  t.equal(config.telemetry?.accessLogging, undefined);
  t.same(config.telemetry?.tracing, { providers: [], disableSpanReporting: true });
});

t.test('a Telemetry with both a selector and targetRefs is rejected', async (t) => {
  t.throws(
    () =>
      compile(
        telemetry(
          'shop',
          'both',
          `  selector: { matchLabels: { app: x } }
  targetRefs: [{ kind: Service, group: "", name: reviews }]`,
        ),
      ),
    /targetRefs/,
  );
});
