/**
 * Gateway (networking.istio.io): every field of istio/api gateway.proto in its JSON form,
 * with the rules of Istio's ValidateGateway. (gateway.networking.k8s.io's Gateway is a
 * different kind: KubernetesGateway, in gateway-api.ts.)
 */
import { isIPAddress, s } from '../schema/index.js';
import type { CheckContext, Infer } from '../schema/index.js';
import { labelMap } from './networking-common.js';
import { gatewayHostProblem } from './networking-hosts.js';

/** Protocols a port may name, matched without regard to case (Istio's protocol.Parse). */
export const PORT_PROTOCOLS: readonly string[] = [
  'HTTP',
  'HTTPS',
  'GRPC',
  'GRPC-WEB',
  'HTTP2',
  'HTTP_PROXY',
  'MONGO',
  'REDIS',
  'MYSQL',
  'TCP',
  'TLS',
  'UDP',
];

/** The protocol in Istio's canonical upper case, or undefined when Istio does not know it. */
export function parsePortProtocol(value: string): string | undefined {
  const upper = value.toUpperCase();
  return PORT_PROTOCOLS.includes(upper) ? upper : undefined;
}

export function isHTTPProtocol(protocol: string | undefined): boolean {
  return ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-WEB'].includes(protocol ?? '');
}

export function isTLSProtocol(protocol: string | undefined): boolean {
  return protocol === 'HTTPS' || protocol === 'TLS';
}

const UNIX_PREFIX = 'unix://';

export const gatewayPort = s.object({
  number: s.integer({ minimum: 0, maximum: 65535 }),
  protocol: s.string().check((p, ctx) => {
    if (parsePortProtocol(p) === undefined) {
      ctx.issue('', `must be one of ${PORT_PROTOCOLS.join(', ')}`);
    }
  }, 'A protocol Istio knows.'),
  name: s.string({ minLength: 1 }),
  targetPort: s
    .integer({ minimum: 0, maximum: 65535 })
    .check((n, ctx) => {
      if (n > 0) ctx.issue('', 'has no effect on Gateways');
    })
    .optional(),
});
export type GatewayPort = Infer<typeof gatewayPort>;

const tlsVersion = s.enumOf('TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3');

export const serverTLSSettings = s
  .object({
    httpsRedirect: s.boolean().optional(),
    mode: s
      .enumOf(
        'PASSTHROUGH',
        'SIMPLE',
        'MUTUAL',
        'AUTO_PASSTHROUGH',
        'ISTIO_MUTUAL',
        'OPTIONAL_MUTUAL',
      )
      .optional(),
    serverCertificate: s.string().optional(),
    privateKey: s.string().optional(),
    caCertificates: s.string().optional(),
    caCrl: s.string().optional(),
    credentialName: s.string().optional(),
    credentialNames: s.array(s.string(), { minItems: 1, maxItems: 2 }).optional(),
    tlsCertificates: s
      .array(
        s.object({
          serverCertificate: s.string().optional(),
          privateKey: s.string().optional(),
          caCertificates: s.string().optional(),
        }),
        { minItems: 1, maxItems: 2 },
      )
      .optional(),
    subjectAltNames: s.array(s.string()).optional(),
    verifyCertificateSpki: s.array(s.string()).optional(),
    verifyCertificateHash: s.array(s.string()).optional(),
    minProtocolVersion: tlsVersion.optional(),
    maxProtocolVersion: tlsVersion.optional(),
    cipherSuites: s.array(s.string()).optional(),
    caCertCredentialName: s.string().optional(),
  })
  .check(
    serverTLSRules,
    'ISTIO_MUTUAL takes no certificates; one certificate source at most; SIMPLE and MUTUAL ' +
      'need a certificate and key unless a credential is named; MUTUAL needs a CA bundle.',
  );
export type ServerTLSSettings = Infer<typeof serverTLSSettings>;

function serverTLSRules(tls: ServerTLSSettings, ctx: CheckContext): void {
  if (tls.mode === 'ISTIO_MUTUAL') {
    const inline = [
      'serverCertificate',
      'privateKey',
      'caCertificates',
      'tlsCertificates',
      'credentialName',
      'credentialNames',
    ] as const;
    for (const field of inline) {
      if (tls[field] !== undefined && tls[field] !== '') {
        ctx.issue(field, 'cannot be set in ISTIO_MUTUAL mode');
      }
    }
    return;
  }
  const sources = [
    Boolean(tls.serverCertificate && tls.privateKey),
    Boolean(tls.credentialName),
    (tls.credentialNames?.length ?? 0) > 0,
    (tls.tlsCertificates?.length ?? 0) > 0,
  ].filter(Boolean).length;
  if (sources > 1) {
    ctx.issue(
      '',
      'only one of credentialName, credentialNames, serverCertificate/privateKey and ' +
        'tlsCertificates may be set',
    );
  }
  const terminates =
    tls.mode === 'SIMPLE' || tls.mode === 'MUTUAL' || tls.mode === 'OPTIONAL_MUTUAL';
  const named = Boolean(tls.credentialName) || (tls.credentialNames?.length ?? 0) > 0;
  if (terminates && !named) {
    const mutual = tls.mode !== 'SIMPLE';
    if (mutual && !tls.caCertificates) {
      ctx.issue('caCertificates', `is required for ${tls.mode} mode`);
    }
    const certs = tls.tlsCertificates ?? [tls];
    certs.forEach((cert, i) => {
      const at = tls.tlsCertificates ? `tlsCertificates[${i}].` : '';
      if (!cert.serverCertificate)
        ctx.issue(`${at}serverCertificate`, `is required for ${tls.mode} mode`);
      if (!cert.privateKey) ctx.issue(`${at}privateKey`, `is required for ${tls.mode} mode`);
    });
  }
  if (tls.caCrl) {
    if (tls.credentialName) ctx.issue('caCrl', 'cannot be set together with credentialName');
    if (tls.mode === 'SIMPLE') ctx.issue('caCrl', 'is not supported in SIMPLE mode');
  }
}

export const server = s
  .object({
    port: gatewayPort,
    bind: s.string().optional(),
    hosts: s.array(
      s.string().check((h, ctx) => {
        const problem = gatewayHostProblem(h);
        if (problem !== undefined) ctx.issue('', problem);
      }, 'Hosts are "<namespace>/<dnsName>" or "<dnsName>"; namespace may be "*" or ".".'),
      { minItems: 1 },
    ),
    tls: serverTLSSettings.optional(),
    defaultEndpoint: s.string().optional(),
    name: s.string().optional(),
  })
  .check((srv, ctx) => {
    const bind = srv.bind ?? '';
    if (bind.startsWith(UNIX_PREFIX)) {
      const path = bind.slice(UNIX_PREFIX.length);
      if (!path.startsWith('@') && (!path.startsWith('/') || path.endsWith('/'))) {
        ctx.issue('bind', 'must be an absolute path to a socket file or an abstract socket');
      }
      if (srv.port.number !== 0) ctx.issue('port.number', 'must be 0 for a unix domain socket');
    } else {
      if (bind !== '' && !isIPAddress(bind)) ctx.issue('bind', 'must be an IP address');
      if (srv.port.number === 0) ctx.issue('port.number', 'must be between 1 and 65535');
    }
    const protocol = parsePortProtocol(srv.port.protocol);
    if (protocol === undefined) return;
    if (isTLSProtocol(protocol) && srv.tls === undefined) {
      ctx.issue('tls', `is required for ${protocol} servers`);
    } else if (!isTLSProtocol(protocol) && srv.tls !== undefined) {
      // A plain-text HTTP server may carry only httpsRedirect.
      const t = srv.tls;
      const redirectOnly =
        isHTTPProtocol(protocol) &&
        (t.mode === undefined || t.mode === 'PASSTHROUGH' || t.mode === 'AUTO_PASSTHROUGH') &&
        !t.caCertificates &&
        !t.privateKey &&
        !t.serverCertificate;
      if (!redirectOnly) ctx.issue('tls', `cannot be set for ${protocol} servers`);
    }
  }, 'bind is an IP or unix://path (then port.number is 0); HTTPS and TLS servers need tls; ' + 'plain-text servers carry at most tls.httpsRedirect.');
export type Server = Infer<typeof server>;

export const gatewaySpec = s.object({
  servers: s.array(server, { minItems: 1 }).check((servers, ctx) => {
    const names = new Map<string, number>();
    servers.forEach((srv, i) => {
      const first = names.get(srv.port.name);
      if (first !== undefined) {
        ctx.issue(`[${i}].port.name`, `duplicates the port name of servers[${first}]`);
      } else names.set(srv.port.name, i);
    });
  }, 'Port names are unique across servers.'),
  selector: labelMap.optional(),
});
export type GatewaySpec = Infer<typeof gatewaySpec>;
