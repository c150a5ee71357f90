/**
 * DestinationRule (networking.istio.io): every field of istio/api destination_rule.proto in
 * its JSON form, with the rules of Istio's ValidateDestinationRule.
 */
import { isIPAddress, s } from '../schema/index.js';
import type { CheckContext, Infer } from '../schema/index.js';
import {
  dnsLabel,
  exportTo,
  labelMap,
  portNumber,
  portSelector,
  selectorLabels,
} from './networking-common.js';
import { fqdnProblem, wildcardDomainProblem } from './networking-hosts.js';

const nonNegativeInt32 = s.integer({ minimum: 0, maximum: 2147483647, format: 'int32' });
const uint32 = s.integer({ minimum: 0, maximum: 4294967295 });
const percentInt = s.integer({ minimum: 0, maximum: 100, format: 'int32' });

export const connectionPoolSettings = s
  .object({
    tcp: s
      .object({
        maxConnections: nonNegativeInt32.optional(),
        connectTimeout: s.duration().optional(),
        tcpKeepalive: s
          .object({
            probes: uint32.optional(),
            time: s.duration().optional(),
            interval: s.duration().optional(),
          })
          .optional(),
        maxConnectionDuration: s.duration().optional(),
        // "0s" turns the idle timeout off.
        idleTimeout: s.duration({ minimumMs: 0 }).optional(),
      })
      .optional(),
    http: s
      .object({
        http1MaxPendingRequests: nonNegativeInt32.optional(),
        http2MaxRequests: nonNegativeInt32.optional(),
        maxRequestsPerConnection: nonNegativeInt32.optional(),
        maxRetries: nonNegativeInt32.optional(),
        idleTimeout: s.duration().optional(),
        h2UpgradePolicy: s.enumOf('DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE').optional(),
        useClientProtocol: s.boolean().optional(),
        maxConcurrentStreams: nonNegativeInt32.optional(),
        http2KeepAlive: s
          .object({
            interval: s.duration(),
            timeout: s.duration(),
          })
          .optional(),
      })
      .check((h, ctx) => {
        if (h.h2UpgradePolicy === 'UPGRADE' && h.useClientProtocol) {
          ctx.issue('useClientProtocol', 'cannot be true when h2UpgradePolicy is UPGRADE');
        }
      }, 'useClientProtocol cannot be true with h2UpgradePolicy UPGRADE.')
      .optional(),
  })
  .check((c, ctx) => {
    if (c.tcp === undefined && c.http === undefined) ctx.issue('', 'must set tcp or http');
  }, 'Sets tcp, http or both.');
export type ConnectionPoolSettings = Infer<typeof connectionPoolSettings>;

export const outlierDetection = s
  .object({
    consecutiveErrors: s.integer({ format: 'int32' }).optional(),
    splitExternalLocalOriginErrors: s.boolean().optional(),
    consecutiveLocalOriginFailures: uint32.optional(),
    consecutiveGatewayErrors: uint32.optional(),
    consecutive5xxErrors: uint32.optional(),
    interval: s.duration().optional(),
    baseEjectionTime: s.duration().optional(),
    maxEjectionPercent: percentInt.optional(),
    minHealthPercent: percentInt.optional(),
    outlierDetectionHttpErrorCodes: s.array(s.integer({ minimum: 100, maximum: 599 })).optional(),
  })
  .check((o, ctx) => {
    if (!o.splitExternalLocalOriginErrors && (o.consecutiveLocalOriginFailures ?? 0) > 0) {
      ctx.issue(
        'consecutiveLocalOriginFailures',
        'needs splitExternalLocalOriginErrors to be true',
      );
    }
  }, 'consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors.');
export type OutlierDetection = Infer<typeof outlierDetection>;

function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}

export const consistentHashLB = s
  .object({
    httpHeaderName: s.string().optional(),
    httpCookie: s
      .object({
        name: s.string({ minLength: 1 }),
        path: s.string().optional(),
        ttl: s.duration({ minimumMs: 0 }).optional(),
        attributes: s
          .array(s.object({ name: s.string({ minLength: 1 }), value: s.string().optional() }))
          .check((attrs, ctx) => {
            const seen = new Set<string>();
            attrs.forEach((a, i) => {
              if (seen.has(a.name)) ctx.issue(`[${i}].name`, `duplicate attribute name ${a.name}`);
              seen.add(a.name);
            });
          }, 'Attribute names are unique.')
          .optional(),
      })
      .optional(),
    useSourceIp: s.boolean().optional(),
    httpQueryParameterName: s.string().optional(),
    ringHash: s.object({ minimumRingSize: s.integer({ minimum: 0 }).optional() }).optional(),
    maglev: s
      .object({
        tableSize: s.integer({ minimum: 1, maximum: 5000010 }).check((n, ctx) => {
          if (!isPrime(n)) ctx.issue('', 'must be a prime number');
        }, 'A prime below 5000011.'),
      })
      .optional(),
    minimumRingSize: s.integer({ minimum: 0 }).optional(),
  })
  .oneOf(['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'])
  .oneOf(['ringHash', 'maglev'])
  .check((c, ctx) => {
    if (c.minimumRingSize && (c.ringHash !== undefined || c.maglev !== undefined)) {
      ctx.issue('minimumRingSize', 'cannot be set together with ringHash or maglev');
    }
  }, 'The deprecated minimumRingSize excludes ringHash and maglev.');
export type ConsistentHashLB = Infer<typeof consistentHashLB>;

const TOPOLOGY_LABELS = new Set([
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
  'topology.istio.io/subzone',
]);

const failover = s.array(s.object({ from: s.string().optional(), to: s.string().optional() }));

export const localityLbSetting = s
  .object({
    distribute: s
      .array(
        s.object({
          from: s.string().optional(),
          to: s.map(s.integer({ minimum: 1, maximum: 100 })).optional(),
        }),
      )
      .optional(),
    failover: failover.optional(),
    failoverPriority: s.array(s.string()).optional(),
    enabled: s.boolean().optional(),
  })
  .check((l, ctx) => {
    if (l.distribute?.length && l.failover?.length) {
      ctx.issue('failover', 'cannot be set together with distribute');
      return;
    }
    if (l.failover?.length) {
      l.failoverPriority?.forEach((p, i) => {
        if (TOPOLOGY_LABELS.has(p)) {
          ctx.issue(`failoverPriority[${i}]`, 'cannot name a topology label when failover is set');
        }
      });
    }
    l.distribute?.forEach((d, i) => {
      const total = Object.values(d.to ?? {}).reduce((a, b) => a + b, 0);
      if (total !== 100) ctx.issue(`distribute[${i}].to`, `weights must sum to 100 (got ${total})`);
    });
    l.failover?.forEach((f, i) => checkFailover(f, `failover[${i}]`, ctx));
  }, 'distribute excludes failover; distribute weights sum to 100; failover names distinct ' + 'regions without wildcards.');
export type LocalityLoadBalancerSetting = Infer<typeof localityLbSetting>;

function checkFailover(f: { from?: string; to?: string }, at: string, ctx: CheckContext): void {
  const from = f.from ?? '';
  const to = f.to ?? '';
  if (from === to) ctx.issue(at, 'from and to must be different regions');
  if (from.includes('/') || to.includes('/')) ctx.issue(at, 'must name regions only');
  if (from.includes('*') || to.includes('*')) ctx.issue(at, 'must not contain wildcards');
}

export const zoneAwareLbSetting = s
  .object({
    enabled: s.boolean().optional(),
    failover: failover.optional(),
    failoverPriority: s.array(s.string()).optional(),
    minClusterSize: s.integer({ minimum: 1 }).optional(),
  })
  .check((z, ctx) => {
    z.failoverPriority?.forEach((p, i) => {
      if (TOPOLOGY_LABELS.has(p)) {
        ctx.issue(`failoverPriority[${i}]`, 'cannot name a topology label');
      }
    });
    z.failover?.forEach((f, i) => checkFailover(f, `failover[${i}]`, ctx));
  });

export const loadBalancerSettings = s
  .object({
    simple: s
      .enumOf('UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST')
      .optional(),
    consistentHash: consistentHashLB.optional(),
    localityLbSetting: localityLbSetting.optional(),
    zoneAwareLbSetting: zoneAwareLbSetting.optional(),
    warmupDurationSecs: s.duration().optional(),
    warmup: s
      .object({
        duration: s.duration(),
        minimumPercent: s.number({ minimum: 0, maximum: 100 }).optional(),
        aggression: s
          .number({ minimum: 0 })
          .check((a, ctx) => {
            if (a <= 0) ctx.issue('', 'must be greater than 0');
          })
          .optional(),
      })
      .optional(),
  })
  .oneOf(['simple', 'consistentHash'])
  .oneOf(['localityLbSetting', 'zoneAwareLbSetting']);
export type LoadBalancerSettings = Infer<typeof loadBalancerSettings>;

export const clientTLSSettings = s
  .object({
    mode: s.enumOf('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL').optional(),
    clientCertificate: s.string().optional(),
    privateKey: s.string().optional(),
    caCertificates: s.string().optional(),
    credentialName: s.string().optional(),
    subjectAltNames: s.array(s.string()).optional(),
    sni: s.string().optional(),
    insecureSkipVerify: s.boolean().optional(),
    caCrl: s.string().optional(),
  })
  .check((t, ctx) => {
    if (t.insecureSkipVerify) {
      if (t.mode === 'SIMPLE' && (t.caCertificates || t.credentialName || t.subjectAltNames)) {
        ctx.issue(
          'insecureSkipVerify',
          'cannot be true with caCertificates, credentialName or subjectAltNames',
        );
      }
      if (t.mode === 'MUTUAL' && (t.caCertificates || t.subjectAltNames)) {
        ctx.issue('insecureSkipVerify', 'cannot be true with caCertificates or subjectAltNames');
      }
    }
    if ((t.mode === 'SIMPLE' || t.mode === 'MUTUAL') && t.credentialName) {
      if (t.clientCertificate || t.caCertificates || t.privateKey || t.caCrl) {
        ctx.issue(
          'credentialName',
          'cannot be set together with clientCertificate, privateKey, caCertificates or caCrl',
        );
      }
      return;
    }
    if (t.mode === 'MUTUAL') {
      if (!t.clientCertificate) ctx.issue('clientCertificate', 'is required for MUTUAL mode');
      if (!t.privateKey) ctx.issue('privateKey', 'is required for MUTUAL mode');
    }
  }, 'MUTUAL needs clientCertificate and privateKey unless credentialName is set; ' + 'credentialName excludes inline certificates; insecureSkipVerify excludes CA checks.');
export type ClientTLSSettings = Infer<typeof clientTLSSettings>;

const portTrafficPolicy = s
  .object({
    port: portSelector,
    loadBalancer: loadBalancerSettings.optional(),
    connectionPool: connectionPoolSettings.optional(),
    outlierDetection: outlierDetection.optional(),
    tls: clientTLSSettings.optional(),
  })
  .check((p, ctx) => {
    if (!p.loadBalancer && !p.connectionPool && !p.outlierDetection && !p.tls) {
      ctx.issue('', 'must set loadBalancer, connectionPool, outlierDetection or tls');
    }
  }, 'Sets at least one policy besides port.');

export const trafficPolicy = s
  .object({
    loadBalancer: loadBalancerSettings.optional(),
    connectionPool: connectionPoolSettings.optional(),
    outlierDetection: outlierDetection.optional(),
    tls: clientTLSSettings.optional(),
    portLevelSettings: s.array(portTrafficPolicy, { maxItems: 4096 }).optional(),
    tunnel: s
      .object({
        protocol: s.enumOf('CONNECT', 'POST').optional(),
        targetHost: s.string().check((h, ctx) => {
          if (fqdnProblem(h) !== undefined && !isIPAddress(h)) {
            ctx.issue('', 'must be a fully qualified domain name or an IP address');
          }
        }),
        targetPort: portNumber,
      })
      .optional(),
    proxyProtocol: s.object({ version: s.enumOf('V1', 'V2').optional() }).optional(),
    retryBudget: s
      .object({
        percent: s.number({ minimum: 0, maximum: 100 }).optional(),
        minRetryConcurrency: uint32.optional(),
        budgetInterval: s.duration().optional(),
      })
      .optional(),
  })
  .oneOf(['tunnel', 'proxyProtocol'])
  .check((p, ctx) => {
    if (Object.keys(p).length === 0) ctx.issue('', 'must set at least one policy');
  }, 'Sets at least one policy; tunnel excludes proxyProtocol.');
export type TrafficPolicy = Infer<typeof trafficPolicy>;

export const subset = s.object({
  name: s.string().check(dnsLabel, 'A DNS-1123 label.'),
  labels: labelMap.optional(),
  trafficPolicy: trafficPolicy.optional(),
});
export type Subset = Infer<typeof subset>;

export const destinationRuleSpec = s.object({
  host: s.string().check((h, ctx) => {
    const problem = wildcardDomainProblem(h);
    if (problem !== undefined) ctx.issue('', problem);
  }, 'A service host, possibly with a leading wildcard.'),
  trafficPolicy: trafficPolicy.optional(),
  subsets: s
    .array(subset)
    .check((subsets, ctx) => {
      const seen = new Set<string>();
      subsets.forEach((sub, i) => {
        if (seen.has(sub.name)) ctx.issue(`[${i}].name`, `duplicate subset name ${sub.name}`);
        seen.add(sub.name);
      });
    }, 'Subset names are unique.')
    .optional(),
  exportTo: exportTo(false).optional(),
  workloadSelector: s.object({ matchLabels: selectorLabels.optional() }).optional(),
});
export type DestinationRuleSpec = Infer<typeof destinationRuleSpec>;
