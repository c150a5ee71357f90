/**
 * Service (core/v1): the fields the mesh reads (selector, ports, cluster IPs, type, traffic
 * policies), with the API server's port rules. Every other field is accepted unchecked.
 */
import { dns1123Label, isIPAddress, labels, s } from '../schema/index.js';
import type { Check, CheckContext, Infer } from '../schema/index.js';
import { portNumber, portNumberOrName, protocol } from './kubernetes-ports.js';

const loose = { unknownFields: 'ignore' } as const;

/** A cluster IP is an address, "None" for a headless service, or "" to be allocated. */
const clusterIP: Check<string> = (value, ctx) => {
  if (value !== '' && value !== 'None' && !isIPAddress(value)) {
    ctx.issue('', 'must be an IP address, "None" or empty');
  }
};

/** ServicePort. An absent targetPort means the same number as `port`. */
export const servicePort = s.object(
  {
    name: s.string().check(dns1123Label, 'A DNS-1123 label.').optional(),
    protocol: protocol.default('TCP'),
    appProtocol: s.string().optional(),
    port: portNumber,
    targetPort: portNumberOrName.optional(),
    nodePort: portNumber.optional(),
  },
  loose,
);
export type ServicePort = Infer<typeof servicePort>;

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** `Local` keeps traffic from inside the cluster on the client's node. */
export const INTERNAL_TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;
export type InternalTrafficPolicy = (typeof INTERNAL_TRAFFIC_POLICIES)[number];

const serviceFields = s.object(
  {
    selector: s.map(s.string()).check(labels, 'Label keys and values.').optional(),
    ports: s.array(servicePort).optional(),
    clusterIP: s.string().check(clusterIP).optional(),
    clusterIPs: s.array(s.string().check(clusterIP), { maxItems: 2 }).optional(),
    type: s.enumOf(...SERVICE_TYPES).default('ClusterIP'),
    ipFamilies: s.array(s.enumOf('IPv4', 'IPv6'), { maxItems: 2 }).optional(),
    externalName: s.string().optional(),
    internalTrafficPolicy: s.enumOf(...INTERNAL_TRAFFIC_POLICIES).optional(),
    // PreferClose, PreferSameZone, PreferSameNode; Kubernetes adds values over releases.
    trafficDistribution: s.string().optional(),
    // Endpoints are published before their pods are ready.
    publishNotReadyAddresses: s.boolean().optional(),
  },
  loose,
);
type ServiceFields = Infer<typeof serviceFields>;

/** The API server's rules across ports: names when there are several, no repeats. */
function checkPorts(spec: ServiceFields, ctx: CheckContext): void {
  const ports = spec.ports ?? [];
  const names = new Set<string>();
  const numbers = new Set<string>();
  ports.forEach((p, i) => {
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1)
        ctx.issue(`ports[${i}].name`, 'is required when the service has more than one port');
    } else {
      if (names.has(p.name)) ctx.issue(`ports[${i}].name`, `duplicate port name ${p.name}`);
      names.add(p.name);
    }
    const key = `${p.port}/${p.protocol}`;
    if (numbers.has(key)) ctx.issue(`ports[${i}]`, `duplicate port ${p.port}/${p.protocol}`);
    numbers.add(key);
    if (p.nodePort !== undefined && spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') {
      ctx.issue(`ports[${i}].nodePort`, `may not be used when type is ${spec.type}`);
    }
  });
}

export const serviceSpec = serviceFields.check((spec, ctx) => {
  checkPorts(spec, ctx);
  if (spec.type === 'ExternalName' && (spec.externalName ?? '') === '') {
    ctx.issue('externalName', 'is required when type is ExternalName');
  }
  const [firstIP] = spec.clusterIPs ?? [];
  if (spec.clusterIP !== undefined && firstIP !== undefined && spec.clusterIP !== firstIP) {
    ctx.issue('clusterIPs[0]', 'must match clusterIP');
  }
  const families = spec.ipFamilies ?? [];
  if (families.length === 2 && families[0] === families[1]) {
    ctx.issue('ipFamilies[1]', `duplicate IP family ${families[1]}`);
  }
}, 'Ports are named when there are several, and unique; ExternalName needs externalName.');
export type ServiceSpec = Infer<typeof serviceSpec>;
