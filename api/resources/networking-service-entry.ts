/**
 * ServiceEntry and WorkloadEntry (networking.istio.io): every field of istio/api
 * service_entry.proto and workload_entry.proto in their JSON form, with the rules of Istio's
 * ValidateServiceEntry and ValidateWorkloadEntry.
 */
import { isCIDR, isDnsLabelAnyCase, isIPAddress, keyPath, s } from '../schema/index.js';
import type { CheckContext, Infer } from '../schema/index.js';
import { dnsLabel, exportTo, labelMap, portNumber, selectorLabels } from './networking-common.js';
import { fqdnProblem, isWildcarded, wildcardDomainProblem } from './networking-hosts.js';
import {
  isHTTPProtocol,
  isTLSProtocol,
  parsePortProtocol,
  PORT_PROTOCOLS,
} from './networking-gateway.js';

const UNIX_PREFIX = 'unix://';

const workloadEntryFields = s.object({
  address: s.string({ maxLength: 256 }).optional(),
  ports: s.map(portNumber).optional(),
  labels: labelMap.optional(),
  network: s.string({ maxLength: 2048 }).optional(),
  locality: s.string({ maxLength: 2048 }).optional(),
  weight: s.integer({ minimum: 0, maximum: 4294967295 }).optional(),
  serviceAccount: s.string({ maxLength: 253 }).optional(),
});
type WorkloadEntryFields = Infer<typeof workloadEntryFields>;

interface EndpointRules {
  /** Names of the ServiceEntry's ports, which endpoint ports must use. */
  servicePorts?: ReadonlySet<string>;
  /** DNS resolution takes host names as addresses; STATIC takes IPs and sockets only. */
  allowFQDN: boolean;
}

/** Istio's validateWorkloadEntry, for WorkloadEntry specs and ServiceEntry endpoints. */
function checkEndpoint(
  we: WorkloadEntryFields,
  rules: EndpointRules,
  ctx: CheckContext,
  at = '',
): void {
  const field = (f: string) => (at === '' ? f : `${at}.${f}`);
  const address = we.address ?? '';
  if (address === '' && !we.network) {
    ctx.issue(field('address'), 'is required unless network is set');
    return;
  }
  if (address.startsWith(UNIX_PREFIX)) {
    const path = address.slice(UNIX_PREFIX.length);
    if (path === '' || (!path.startsWith('@') && (!path.startsWith('/') || path.endsWith('/')))) {
      ctx.issue(
        field('address'),
        'must be an absolute path to a socket file or an abstract socket',
      );
    }
    if (we.ports !== undefined && Object.keys(we.ports).length > 0) {
      ctx.issue(field('ports'), 'must not be set for a unix domain socket address');
    }
    if (rules.servicePorts !== undefined && rules.servicePorts.size !== 1) {
      ctx.issue(field('address'), 'a unix domain socket endpoint needs exactly one service port');
    }
  } else if (address !== '' && !isIPAddress(address)) {
    if (!rules.allowFQDN) ctx.issue(field('address'), 'must be an IP address');
    else if (fqdnProblem(address) !== undefined) {
      ctx.issue(field('address'), 'must be an IP address or a fully qualified domain name');
    }
  }
  for (const name of Object.keys(we.ports ?? {})) {
    const at = keyPath(field('ports'), name);
    if (rules.servicePorts !== undefined && !rules.servicePorts.has(name)) {
      ctx.issue(at, 'must name a port of the service entry');
    }
    if (!isDnsLabelAnyCase(name)) ctx.issue(at, 'must be a DNS-1123 label');
  }
}

export const workloadEntrySpec = workloadEntryFields.check(
  (we, ctx) => checkEndpoint(we, { allowFQDN: true }, ctx),
  'Needs address (an IP, a host name or unix://path) unless network is set; port names are ' +
    'DNS labels; a socket address has no ports.',
);
export type WorkloadEntrySpec = Infer<typeof workloadEntrySpec>;

export const serviceEntryPort = s.object({
  number: portNumber,
  protocol: s
    .string({ maxLength: 256 })
    .check((p, ctx) => {
      if (p !== '' && parsePortProtocol(p) === undefined) {
        ctx.issue('', `must be one of ${PORT_PROTOCOLS.join(', ')}`);
      }
    }, 'A protocol Istio knows, or empty to sniff.')
    .optional(),
  name: s.string({ maxLength: 256 }).check(dnsLabel, 'A DNS-1123 label.'),
  targetPort: portNumber.optional(),
});
export type ServiceEntryPort = Infer<typeof serviceEntryPort>;

const serviceEntryFields = s
  .object({
    hosts: s.array(
      s.string().check((h, ctx) => {
        if (h === '*') ctx.issue('', 'must not be "*"');
        else {
          const problem = wildcardDomainProblem(h);
          if (problem !== undefined) ctx.issue('', problem);
        }
      }, 'A DNS name, possibly with a leading wildcard; "*" alone is not allowed.'),
      { minItems: 1, maxItems: 256 },
    ),
    addresses: s
      .array(
        s.string({ maxLength: 64 }).check((a, ctx) => {
          if (!isIPAddress(a) && !isCIDR(a)) ctx.issue('', 'must be an IP address or a CIDR block');
        }),
        { maxItems: 256 },
      )
      .optional(),
    ports: s
      .array(serviceEntryPort, { maxItems: 256 })
      .check((ports, ctx) => {
        const names = new Set<string>();
        const numbers = new Set<number>();
        ports.forEach((p, i) => {
          if (names.has(p.name)) ctx.issue(`[${i}].name`, `duplicate port name ${p.name}`);
          if (numbers.has(p.number))
            ctx.issue(`[${i}].number`, `duplicate port number ${p.number}`);
          names.add(p.name);
          numbers.add(p.number);
        });
      }, 'Port names and numbers are unique.')
      .optional(),
    location: s.enumOf('MESH_EXTERNAL', 'MESH_INTERNAL').optional(),
    resolution: s.enumOf('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS').optional(),
    endpoints: s.array(workloadEntryFields, { maxItems: 4096 }).optional(),
    workloadSelector: s.object({ labels: selectorLabels.optional() }).optional(),
    exportTo: exportTo(true).optional(),
    subjectAltNames: s.array(s.string()).optional(),
  })
  .oneOf(['workloadSelector', 'endpoints']);

function serviceEntryRules(se: Infer<typeof serviceEntryFields>, ctx: CheckContext): void {
  const resolution = se.resolution ?? 'NONE';
  const endpoints = se.endpoints ?? [];
  const ports = se.ports ?? [];
  const servicePorts = new Set(ports.map((p) => p.name));
  if (
    (se.addresses ?? []).some((a) => a.includes('/')) &&
    resolution !== 'NONE' &&
    resolution !== 'STATIC'
  ) {
    ctx.issue('addresses', 'CIDR blocks are allowed only with NONE or STATIC resolution');
  }
  switch (resolution) {
    case 'NONE':
      if (endpoints.length > 0) ctx.issue('endpoints', 'must be empty with NONE resolution');
      break;
    case 'STATIC':
      endpoints.forEach((e, i) =>
        checkEndpoint(e, { servicePorts, allowFQDN: false }, ctx, `endpoints[${i}]`),
      );
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      if (endpoints.length === 0) {
        const i = se.hosts.findIndex((h) => fqdnProblem(h) !== undefined);
        if (i >= 0) {
          ctx.issue(
            `hosts[${i}]`,
            `must be a fully qualified name without wildcards for ${resolution} resolution without endpoints`,
          );
        }
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
        ctx.issue('endpoints', 'may hold at most one endpoint with DNS_ROUND_ROBIN resolution');
      }
      endpoints.forEach((e, i) =>
        checkEndpoint(e, { servicePorts, allowFQDN: true }, ctx, `endpoints[${i}]`),
      );
      break;
    case 'DYNAMIC_DNS':
      se.hosts.forEach((h, i) => {
        if (!isWildcarded(h))
          ctx.issue(`hosts[${i}]`, 'must be a wildcard with DYNAMIC_DNS resolution');
      });
      if ((se.addresses ?? []).length > 0)
        ctx.issue('addresses', 'must be empty with DYNAMIC_DNS resolution');
      if (endpoints.length > 0) ctx.issue('endpoints', 'must be empty with DYNAMIC_DNS resolution');
      ports.forEach((p, i) => {
        const proto = parsePortProtocol(p.protocol ?? '');
        if (proto !== 'HTTP' && proto !== 'TLS' && proto !== 'GRPC' && proto !== 'HTTP2') {
          ctx.issue(
            `ports[${i}].protocol`,
            'must be HTTP, TLS, GRPC or HTTP2 with DYNAMIC_DNS resolution',
          );
        }
      });
      break;
  }
  // Plain TCP carries no host name, so several hosts cannot share a resolved port.
  if (resolution !== 'NONE' && se.hosts.length > 1) {
    const i = ports.findIndex((p) => {
      const proto = parsePortProtocol(p.protocol ?? '');
      return !isHTTPProtocol(proto) && !isTLSProtocol(proto);
    });
    if (i >= 0)
      ctx.issue(`ports[${i}].protocol`, 'must be HTTP or TLS based when there are several hosts');
  }
}

export const serviceEntrySpec = serviceEntryFields.check(
  serviceEntryRules,
  'CIDR addresses only with NONE/STATIC; NONE has no endpoints; STATIC endpoints are IPs or ' +
    'sockets; DNS without endpoints needs plain host names; DNS_ROUND_ROBIN takes at most one ' +
    'endpoint; several hosts need HTTP or TLS ports unless resolution is NONE.',
);
export type ServiceEntrySpec = Infer<typeof serviceEntrySpec>;
