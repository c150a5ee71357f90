/**
 * A service port's protocol as a waypoint treats it (Istio pkg/config/protocol and
 * kube.ConvertProtocol): HTTP ports get HTTP routes, TCP ports TCP routes, and ports whose
 * protocol is not declared are sniffed.
 */
import type { ServicePort } from '../../api/waypoint/config.js';
import type { MeshService, MeshServicePort } from '../model/services.js';

type Protocol = ServicePort['protocol'];

/** Istio's protocol names (protocol.Parse), as the waypoint sees them; UDP is not served. */
function parseProtocol(name: string): Protocol | 'udp' | undefined {
  switch (name.toLowerCase()) {
    case 'http':
    case 'http_proxy':
    case 'grpc-web':
      return 'http';
    case 'http2':
    case 'grpc':
      return 'http2';
    case 'tcp':
    case 'https':
    case 'tls':
    case 'mongo':
    case 'redis':
    case 'mysql':
      return 'tcp';
    case 'udp':
      return 'udp';
    default:
      return undefined;
  }
}

/** Ports where an undeclared protocol is taken to be TCP (SMTP, DNS, MySQL, MongoDB). */
const WELL_KNOWN_TCP_PORTS = new Set([25, 53, 3306, 27017]);

function kubernetesProtocol(port: MeshServicePort): Protocol | 'udp' | undefined {
  if (port.protocol === 'UDP' || port.protocol === 'SCTP') return 'udp';
  let name = port.name ?? '';
  if (port.appProtocol !== undefined) {
    switch (port.appProtocol) {
      case 'kubernetes.io/h2c':
        return 'http2';
      case 'kubernetes.io/ws':
        return 'http';
      case 'kubernetes.io/wss':
        return 'tcp';
    }
    name = port.appProtocol;
  }
  // `grpc-web` is a protocol of its own, not `grpc` with a suffix.
  if (name.toLowerCase().startsWith('grpc-web')) return 'http';
  const dash = name.indexOf('-');
  return parseProtocol(dash < 0 ? name : name.slice(0, dash));
}

/**
 * The protocol of one port of a service, or undefined for ports a waypoint does not serve
 * (UDP, SCTP).
 */
export function portProtocol(service: MeshService, port: MeshServicePort): Protocol | undefined {
  const parsed =
    service.source === 'ServiceEntry'
      ? parseProtocol(port.protocol ?? '')
      : kubernetesProtocol(port);
  if (parsed === 'udp') return undefined;
  if (parsed !== undefined) return parsed;
  return WELL_KNOWN_TCP_PORTS.has(port.port) ? 'tcp' : 'auto';
}

export function carriesHttp(protocol: Protocol): boolean {
  return protocol !== 'tcp';
}

export function carriesTcp(protocol: Protocol): boolean {
  return protocol === 'tcp' || protocol === 'auto';
}
