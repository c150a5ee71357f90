/**
 * An ingress gateway's compiled configuration: what the control plane makes of the Istio
 * Gateways (and Gateway API Gateways of class `istio`) that select one gateway workload, the
 * VirtualServices and HTTPRoutes bound to them, and the Secrets their TLS servers name. It is
 * pushed over Delta ADS as `type.googleapis.com/ambit.gateway.v1.GatewayProxy`, one resource
 * per gateway pod, named `namespace/serviceAccount/name` so the xDS server can send it to
 * that identity only (it may carry private keys).
 *
 * Routes, clusters and endpoints are the waypoint's types (api/waypoint/config.ts): the
 * gateway runs the waypoint's request pipeline.
 */
import type { Cluster, HttpRoute, RouteDestination } from '../waypoint/config.js';
import type { ServiceTelemetry, WorkloadTelemetry } from '../waypoint/telemetry.js';

export const GATEWAY_PROXY_TYPE_URL = 'type.googleapis.com/ambit.gateway.v1.GatewayProxy';

/**
 * A server's certificate material: PEM text resolved from a Secret (`secret`), or the paths of
 * PEM files the gateway reads itself (`file`: Istio's serverCertificate, privateKey,
 * caCertificates).
 */
export interface TlsCredential {
  readonly source: 'secret' | 'file';
  readonly certificateChain: string;
  readonly privateKey: string;
  /** Trusted roots for client certificates (MUTUAL). */
  readonly caCertificates?: string;
}

export interface ServerTls {
  /**
   * `simple`: terminate; `mutual`: terminate and require a client certificate the CA
   * bundle verifies (`optional-mutual`: verify one if sent); `passthrough`: route the TLS
   * bytes by SNI without terminating.
   */
  readonly mode: 'simple' | 'mutual' | 'optional-mutual' | 'passthrough';
  /** Absent for passthrough, or when `problem` says why it could not be resolved. */
  readonly credential?: TlsCredential;
  readonly minProtocolVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxProtocolVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** Why this server cannot terminate TLS (a missing Secret, say): its handshakes fail. */
  readonly problem?: string;
}

/** The routes of one host (Envoy's virtual host): its domains and the routes, in order. */
export interface VirtualHost {
  /** Host patterns: exact, `*.suffix` or `*`. */
  readonly domains: readonly string[];
  readonly routes: readonly HttpRoute[];
}

/** A TLS (by SNI) or TCP route of a server. */
export interface SniRoute {
  readonly origin: string;
  /** SNI patterns this route takes; empty: any (a TCP route, or a TLS route without SNI match). */
  readonly sniHosts: readonly string[];
  readonly destinations: readonly RouteDestination[];
}

/** One server block: hosts on one port, with its TLS and routes. */
export interface GatewayServer {
  /** For tools and logs: `Gateway ns/name servers[0]` or `Gateway ns/name listeners[http]`. */
  readonly origin: string;
  /** Host patterns (namespace prefixes removed): exact, `*.suffix` or `*`. */
  readonly hosts: readonly string[];
  readonly tls?: ServerTls;
  /** HTTP servers: answer every request with a 301 to https (Istio's `httpsRedirect`). */
  readonly httpsRedirect?: boolean;
  /** HTTP (and terminated HTTPS) servers. */
  readonly virtualHosts: readonly VirtualHost[];
  /** TLS passthrough and TCP servers, first match wins. */
  readonly tcp: readonly SniRoute[];
}

export interface GatewayListener {
  readonly port: number;
  /** `https` and `tls` terminate or pass TLS through per server; `http` and `tcp` are plain. */
  readonly protocol: 'http' | 'https' | 'tls' | 'tcp';
  readonly servers: readonly GatewayServer[];
}

export interface GatewayProxy {
  /** The gateway pod's namespace, service account and name. */
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly name: string;
  readonly listeners: readonly GatewayListener[];
  readonly clusters: readonly Cluster[];
  /** Telemetry API settings for the gateway's requests; absent: MeshConfig alone decides. */
  readonly telemetry?: GatewayTelemetry;
}

/**
 * What the Telemetry API says of a gateway's requests (the waypoint's ServiceTelemetry, the
 * same for every route) and who the gateway is in Istio's metric labels: it reports its
 * requests as their source.
 */
export interface GatewayTelemetry extends ServiceTelemetry {
  readonly source: WorkloadTelemetry;
}

/** The xDS resource name of a gateway's config. */
export function gatewayProxyName(
  config: Pick<GatewayProxy, 'namespace' | 'serviceAccount' | 'name'>,
): string {
  return `${config.namespace}/${config.serviceAccount}/${config.name}`;
}
