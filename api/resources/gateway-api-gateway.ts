/**
 * Gateway (gateway.networking.k8s.io), known in the mesh as KubernetesGateway: the fields of
 * apis/v1/gateway_types.go in the standard channel, with the CRD's limits, defaults and
 * validation rules. An Istio waypoint is one of these: class `istio-waypoint` and a listener
 * `mesh` on port 15008 speaking HBONE.
 */
import { isIPAddress, isLabelKey, isLabelValue, keyPath, s } from '../schema/index.js';
import type { CheckContext, Infer } from '../schema/index.js';
import {
  group,
  hostname,
  kind,
  labelSelector,
  namespace,
  objectName,
  portNumber,
  reportDuplicates,
  sectionName,
} from './gateway-api-common.js';

/** The class Istio gives waypoints, and the listener it expects on them. */
export const WAYPOINT_CLASS = 'istio-waypoint';
export const WAYPOINT_LISTENER = { name: 'mesh', port: 15008, protocol: 'HBONE' } as const;

/** Core protocols, plus domain-prefixed ones (`example.com/proto`) and Istio's HBONE. */
const PROTOCOL =
  /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/;

const secretObjectReference = s.object({
  group: group.default(''),
  kind: kind.default('Secret'),
  name: objectName,
  namespace: namespace.optional(),
});

/** GatewayTLSConfig: Terminate needs certificates (or implementation options). */
export const gatewayTLSConfig = s
  .object({
    mode: s.enumOf('Terminate', 'Passthrough').default('Terminate'),
    certificateRefs: s.array(secretObjectReference, { maxItems: 64 }).optional(),
    options: s.map(s.string({ maxLength: 4096 })).optional(),
  })
  .check((tls, ctx) => {
    if (tls.options !== undefined && Object.keys(tls.options).length > 16) {
      ctx.issue('options', 'must have at most 16 entries');
    }
    const refs = tls.certificateRefs?.length ?? 0;
    const options = Object.keys(tls.options ?? {}).length;
    if (tls.mode === 'Terminate' && refs === 0 && options === 0) {
      ctx.issue(
        'certificateRefs',
        'certificateRefs or options must be specified when mode is Terminate',
      );
    }
  }, 'Terminate needs certificateRefs or options; at most 16 options.');
export type GatewayTLSConfig = Infer<typeof gatewayTLSConfig>;

export const allowedRoutes = s.object({
  namespaces: s
    .object({
      from: s.enumOf('All', 'Selector', 'Same').default('Same'),
      selector: labelSelector.optional(),
    })
    .default({ from: 'Same' }),
  kinds: s
    .array(s.object({ group: group.default('gateway.networking.k8s.io'), kind }), { maxItems: 8 })
    .optional(),
});
export type AllowedRoutes = Infer<typeof allowedRoutes>;

export const listener = s.object({
  name: sectionName,
  hostname: hostname.optional(),
  port: portNumber,
  protocol: s.string({
    minLength: 1,
    maxLength: 255,
    pattern: PROTOCOL,
    patternReason: 'must be a protocol name such as HTTP, HTTPS, TLS, TCP, UDP or HBONE',
  }),
  tls: gatewayTLSConfig.optional(),
  allowedRoutes: allowedRoutes.default({ namespaces: { from: 'Same' } }),
});
export type Listener = Infer<typeof listener>;

/** The CRD's listener-list rules, each reported at the listener that breaks it. */
function checkListeners(listeners: readonly Listener[], ctx: CheckContext): void {
  listeners.forEach((l, i) => {
    if (['HTTP', 'TCP', 'UDP'].includes(l.protocol) && l.tls !== undefined) {
      ctx.issue(`[${i}].tls`, `must not be specified for protocol ${l.protocol}`);
    }
    if (l.protocol === 'HTTPS' && l.tls !== undefined && l.tls.mode !== 'Terminate') {
      ctx.issue(`[${i}].tls.mode`, 'must be Terminate for protocol HTTPS');
    }
    if (l.protocol === 'TLS' && l.tls === undefined) {
      ctx.issue(`[${i}].tls`, 'is required for protocol TLS (it sets the tls mode)');
    }
    if ((l.protocol === 'TCP' || l.protocol === 'UDP') && (l.hostname ?? '') !== '') {
      ctx.issue(`[${i}].hostname`, `must not be specified for protocol ${l.protocol}`);
    }
  });
  reportDuplicates(
    listeners,
    (l) => l.name,
    (i) => `[${i}].name`,
    (l) => `duplicate listener name ${l.name}: listener names must be unique within the Gateway`,
    ctx,
  );
  reportDuplicates(
    listeners,
    (l) => `${l.port}/${l.protocol}/${l.hostname ?? ''}`,
    (i) => `[${i}]`,
    () => 'the combination of port, protocol and hostname must be unique for each listener',
    ctx,
  );
}

const HOSTNAME_ADDRESS = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** GatewaySpecAddress: an IP by default; a Hostname; or an implementation-specific type. */
export const gatewayAddress = s
  .object({
    type: s
      .string({
        minLength: 1,
        maxLength: 253,
        pattern:
          /^(Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+)$/,
        patternReason: 'must be IPAddress, Hostname, NamedAddress or a domain-prefixed type',
      })
      .default('IPAddress'),
    value: s.string({ maxLength: 253 }).optional(),
  })
  .check((a, ctx) => {
    if (a.type === 'IPAddress' && a.value !== undefined && !isIPAddress(a.value)) {
      ctx.issue('value', 'must be an IPv4 or IPv6 address for type IPAddress');
    }
    if (a.type === 'Hostname' && a.value !== undefined && !HOSTNAME_ADDRESS.test(a.value)) {
      ctx.issue(
        'value',
        'must be a lowercase DNS name, optionally starting with "*.", for type Hostname',
      );
    }
  }, 'An IPAddress value is an IP; a Hostname value is a DNS name.');
export type GatewayAddress = Infer<typeof gatewayAddress>;

/** Label and annotation maps for the resources an implementation creates. */
function metadataMap(maxEntries: number, what: 'label' | 'annotation') {
  return s.map(s.string({ maxLength: what === 'label' ? 63 : 4096 })).check((map, ctx) => {
    if (Object.keys(map).length > maxEntries)
      ctx.issue('', `must have at most ${maxEntries} entries`);
    for (const [key, value] of Object.entries(map)) {
      if (!isLabelKey(key)) ctx.issue(keyPath('', key), `must be a valid ${what} key`);
      else if (what === 'label' && !isLabelValue(value)) {
        ctx.issue(keyPath('', key), 'must be a valid label value');
      }
    }
  }, `At most ${maxEntries} entries with valid ${what} keys.`);
}

export const gatewayInfrastructure = s.object({
  labels: metadataMap(8, 'label').optional(),
  annotations: metadataMap(16, 'annotation').optional(),
  parametersRef: s.object({ group, kind, name: objectName }).optional(),
});
export type GatewayInfrastructure = Infer<typeof gatewayInfrastructure>;

/** How the Gateway checks client certificates: CA bundles to trust, strictly by default. */
const frontendTLSValidation = s.object({
  validation: s
    .object({
      caCertificateRefs: s.array(
        s.object({ group, kind, name: objectName, namespace: namespace.optional() }),
        { minItems: 1, maxItems: 16 },
      ),
      mode: s.enumOf('AllowValidOnly', 'AllowInsecureFallback').default('AllowValidOnly'),
    })
    .optional(),
});

/** GatewayTLSConfigs: client certificate validation per port, and the certificate to backends. */
export const gatewayTLS = s.object({
  backend: s.object({ clientCertificateRef: secretObjectReference.optional() }).optional(),
  frontend: s
    .object({
      default: frontendTLSValidation,
      perPort: s
        .array(s.object({ port: portNumber, tls: frontendTLSValidation }), { maxItems: 64 })
        .check((ports, ctx) => {
          reportDuplicates(
            ports,
            (p) => String(p.port),
            (i) => `[${i}].port`,
            (p) => `duplicate port ${p.port}: each port takes one TLS configuration`,
            ctx,
          );
        }, 'Ports are unique.')
        .optional(),
    })
    .optional(),
});
export type GatewayTLS = Infer<typeof gatewayTLS>;

export const kubernetesGatewaySpec = s.object({
  gatewayClassName: objectName,
  listeners: s
    .array(listener, { minItems: 1, maxItems: 64 })
    .check(
      checkListeners,
      'Listener names are unique, and so is each port/protocol/hostname; tls only where the ' +
        'protocol takes it; no hostname for TCP and UDP.',
    ),
  addresses: s
    .array(gatewayAddress, { maxItems: 16 })
    .check((addresses, ctx) => {
      const seen = new Set<string>();
      addresses.forEach((a, i) => {
        if ((a.type !== 'IPAddress' && a.type !== 'Hostname') || a.value === undefined) return;
        const key = `${a.type}/${a.value}`;
        if (seen.has(key)) ctx.issue(`[${i}].value`, `${a.type} values must be unique`);
        seen.add(key);
      });
    }, 'IPAddress and Hostname values are unique.')
    .optional(),
  infrastructure: gatewayInfrastructure.optional(),
  allowedListeners: s
    .object({
      namespaces: s
        .object({
          from: s.enumOf('All', 'Selector', 'Same', 'None').default('None'),
          selector: labelSelector.optional(),
        })
        .default({ from: 'None' }),
    })
    .optional(),
  tls: gatewayTLS.optional(),
});
export type KubernetesGatewaySpec = Infer<typeof kubernetesGatewaySpec>;
