import { AppProtocol } from '../../api/gen/istio/workload/workload_pb.js';

/** Istio's protocol names (pkg/config/protocol Parse), as the workload API's AppProtocol. */
function parseProtocol(name: string): AppProtocol | undefined {
  switch (name.toLowerCase()) {
    case 'tcp':
      return AppProtocol.TCP;
    case 'http':
      return AppProtocol.HTTP11;
    case 'http2':
      return AppProtocol.HTTP2;
    case 'grpc':
      return AppProtocol.GRPC;
    case 'https':
    case 'tls':
      return AppProtocol.TLS;
    // Known to Istio, but with no AppProtocol of their own.
    case 'udp':
    case 'grpc-web':
    case 'http_proxy':
    case 'mongo':
    case 'redis':
    case 'mysql':
      return AppProtocol.UNKNOWN;
    default:
      return undefined;
  }
}

/** A ServiceEntry port's protocol field. */
export function serviceEntryAppProtocol(protocol: string | undefined): AppProtocol {
  return parseProtocol(protocol ?? '') ?? AppProtocol.UNKNOWN;
}

/** Ports where an undeclared protocol is taken to be TCP (SMTP, DNS, MySQL, MongoDB). */
const WELL_KNOWN_TCP_PORTS = new Set([25, 53, 3306, 27017]);

/**
 * A Kubernetes Service port's protocol (Istio's ConvertProtocol): UDP is never an app
 * protocol; `appProtocol` wins over the port name; the name counts up to its first '-'
 * (`http-web` is HTTP).
 */
export function kubernetesAppProtocol(port: {
  readonly port: number;
  readonly name: string | undefined;
  readonly protocol: string | undefined;
  readonly appProtocol: string | undefined;
}): AppProtocol {
  if (port.protocol === 'UDP') return AppProtocol.UNKNOWN;
  let name = port.name ?? '';
  if (port.appProtocol !== undefined) {
    name = port.appProtocol;
    switch (name) {
      case 'kubernetes.io/h2c':
        return AppProtocol.HTTP2;
      case 'kubernetes.io/ws':
        return AppProtocol.HTTP11;
      case 'kubernetes.io/wss':
        return AppProtocol.TLS;
    }
  }
  if (name.toLowerCase().startsWith('grpc-web')) return AppProtocol.UNKNOWN;
  const dash = name.indexOf('-');
  const parsed = parseProtocol(dash < 0 ? name : name.slice(0, dash));
  if (parsed !== undefined) return parsed;
  return WELL_KNOWN_TCP_PORTS.has(port.port) ? AppProtocol.TCP : AppProtocol.UNKNOWN;
}
