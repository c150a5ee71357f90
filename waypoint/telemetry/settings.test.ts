import t from 'tap';
import { resolveMeshConfig, type MeshConfigSpec } from '../../api/mesh/config.js';
import type { ServiceTelemetry } from '../../api/waypoint/telemetry.js';
import { service } from '../proxy/testing/harness.js';
import { TelemetrySettings } from './settings.js';

const PROVIDERS: MeshConfigSpec['extensionProviders'] = [
  { name: 'file', envoyFileAccessLog: { path: '/dev/stdout' } },
  { name: 'zipkin', zipkin: { service: 'tracing/zipkin.tracing.svc.cluster.local', port: 9411 } },
  {
    name: 'otel',
    opentelemetry: { service: 'otel.tracing.svc', port: 4318, http: { path: '/v1/traces' } },
  },
  { name: 'otel-grpc', opentelemetry: { service: 'otel.tracing.svc', port: 4317 } },
];

function settings(spec: MeshConfigSpec): TelemetrySettings {
  const s = new TelemetrySettings();
  s.setMesh(resolveMeshConfig({ extensionProviders: PROVIDERS, ...spec }));
  return s;
}

const withTelemetry = (telemetry: Omit<ServiceTelemetry, 'workloads'>) =>
  service([], [], { telemetry: { ...telemetry, workloads: {} } });

t.test('access log: MeshConfig decides unless a Telemetry entry applies', async (t) => {
  const plain = service([], []);
  t.equal(settings({}).accessLog(plain), false, 'off by default');
  t.equal(settings({ accessLogFile: '/dev/stdout' }).accessLog(plain), true);
  t.equal(settings({ defaultProviders: { accessLogging: ['file'] } }).accessLog(plain), true);
  const off = withTelemetry({ accessLogging: { providers: [], disabled: true } });
  t.equal(settings({ accessLogFile: '/dev/stdout' }).accessLog(off), false, 'disabled wins');
  const on = withTelemetry({ accessLogging: { providers: [], disabled: false } });
  t.equal(settings({}).accessLog(on), true, "no providers: Istio's built-in envoy provider");
  const named = withTelemetry({ accessLogging: { providers: ['zipkin'], disabled: false } });
  t.equal(settings({}).accessLog(named), false, 'a provider that is not a file log');
});

t.test('a new MeshConfig takes effect on the next lookup', async (t) => {
  const s = settings({ accessLogFile: '/dev/stdout' });
  const plain = service([], []);
  t.equal(s.accessLog(plain), true);
  s.setMesh(resolveMeshConfig({}));
  t.equal(s.accessLog(plain), false);
});

t.test("tracing: providers and sampling from Telemetry, else MeshConfig's defaults", async (t) => {
  const plain = service([], []);
  t.equal(settings({}).tracing(plain), undefined, 'no provider: no tracer');
  t.same(settings({ defaultProviders: { tracing: ['zipkin'] } }).tracing(plain), {
    samplingPercent: 1,
    collector: {
      format: 'zipkin',
      host: 'zipkin.tracing.svc.cluster.local',
      port: 9411,
      path: '/api/v2/spans',
    },
  });
  t.equal(
    settings({ defaultProviders: { tracing: ['zipkin'] }, enableTracing: false }).tracing(plain),
    undefined,
    'enableTracing: false',
  );
  const traced = withTelemetry({
    tracing: {
      providers: ['otel-grpc', 'otel'],
      randomSamplingPercentage: 50,
      disableSpanReporting: false,
    },
  });
  t.same(
    settings({ defaultConfig: { tracing: { sampling: 5 } } }).tracing(traced),
    {
      samplingPercent: 50,
      collector: { format: 'otlp', host: 'otel.tracing.svc', port: 4318, path: '/v1/traces' },
    },
    'OTLP over gRPC is skipped for the next provider',
  );
  const silent = withTelemetry({ tracing: { providers: ['zipkin'], disableSpanReporting: true } });
  t.same(settings({ enableTracing: false }).tracing(silent), { samplingPercent: 1 });
});
