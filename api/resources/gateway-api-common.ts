/**
 * Types the Gateway API kinds share (kubernetes-sigs/gateway-api apis/v1/shared_types.go and
 * object_reference_types.go): names, hostnames, references, durations and label selectors,
 * with the spec's patterns, limits and defaults.
 */
import { parseDurationNs, s } from '../schema/index.js';
import type { Check, CheckContext, Infer } from '../schema/index.js';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Hostname: a DNS name, possibly with a leading `*.` label; no IPs, no port. */
export const hostname = s.string({
  minLength: 1,
  maxLength: 253,
  pattern: /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  patternReason: 'must be a lowercase DNS name, optionally starting with "*."',
});

/** PreciseHostname: a DNS name without wildcards. */
export const preciseHostname = s.string({
  minLength: 1,
  maxLength: 253,
  pattern: SUBDOMAIN,
  patternReason: 'must be a lowercase DNS name without wildcards',
});

/** SectionName: names a listener or a route rule. */
export const sectionName = s.string({
  minLength: 1,
  maxLength: 253,
  pattern: SUBDOMAIN,
  patternReason: 'must be a DNS-1123 subdomain',
});

/** Group: empty for the Kubernetes core group. */
export const group = s.string({
  maxLength: 253,
  pattern: /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  patternReason: 'must be empty or a DNS-1123 subdomain',
});

export const kind = s.string({
  minLength: 1,
  maxLength: 63,
  pattern: /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/,
  patternReason: 'must be a kind name such as Service',
});

export const objectName = s.string({ minLength: 1, maxLength: 253 });

export const namespace = s.string({
  minLength: 1,
  maxLength: 63,
  pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  patternReason: 'must be a DNS-1123 label',
});

export const portNumber = s.integer({ minimum: 1, maximum: 65535, format: 'int32' });

/** HTTP header names (RFC 7230 tokens), also used for query parameter names. */
export const headerName = s.string({
  minLength: 1,
  maxLength: 256,
  pattern: /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/,
  patternReason: 'must be a valid HTTP header name',
});

/**
 * Duration (GEP-2257): one to four `<number><unit>` terms, units h, m, s and ms, as in
 * "1h", "10s" or "1m30s". "0s" is allowed and means "no timeout" where the spec says so.
 */
export const gatewayDuration = s.string({
  pattern: /^([0-9]{1,5}(h|m|s|ms)){1,4}$/,
  patternReason: 'must be a duration such as "10s", "500ms" or "1m30s" (units h, m, s, ms)',
});

/** Milliseconds of a duration that matched `gatewayDuration`. */
export function gatewayDurationMs(value: string): number {
  return (parseDurationNs(value) ?? 0) / 1e6;
}

/** A port is required when the reference is to a core Service. */
export const servicePortRequired: Check<{ group: string; kind: string; port?: number }> = (
  ref,
  ctx,
) => {
  if (ref.group === '' && ref.kind === 'Service' && ref.port === undefined) {
    ctx.issue('port', 'is required when referencing a Service');
  }
};

/** BackendObjectReference: a Service by default; a Service reference needs a port. */
export const backendObjectReference = s
  .object({
    group: group.default(''),
    kind: kind.default('Service'),
    name: objectName,
    namespace: namespace.optional(),
    port: portNumber.optional(),
  })
  .check(servicePortRequired, 'port is required for a Service.');
export type BackendObjectReference = Infer<typeof backendObjectReference>;

/** BackendRef: a backend and the share of requests it receives. */
export const backendRefFields = {
  group: group.default(''),
  kind: kind.default('Service'),
  name: objectName,
  namespace: namespace.optional(),
  port: portNumber.optional(),
  weight: s.integer({ minimum: 0, maximum: 1_000_000, format: 'int32' }).default(1),
};

/** LocalObjectReference: a same-namespace object of any group and kind. */
export const localObjectReference = s.object({ group, kind, name: objectName });

/** ParentReference: a Gateway by default; a listener picked by sectionName or port. */
export const parentReference = s.object({
  group: group.default('gateway.networking.k8s.io'),
  kind: kind.default('Gateway'),
  namespace: namespace.optional(),
  name: objectName,
  sectionName: sectionName.optional(),
  port: portNumber.optional(),
});
export type ParentReference = Infer<typeof parentReference>;

/** Kubernetes' metav1.LabelSelector. */
export const labelSelector = s.object({
  matchLabels: s.map(s.string()).optional(),
  matchExpressions: s
    .array(
      s
        .object({
          key: s.string({ minLength: 1 }),
          operator: s.enumOf('In', 'NotIn', 'Exists', 'DoesNotExist'),
          values: s.array(s.string()).optional(),
        })
        .check((e, ctx) => {
          const count = e.values?.length ?? 0;
          if ((e.operator === 'In' || e.operator === 'NotIn') && count === 0) {
            ctx.issue('values', `must not be empty for operator ${e.operator}`);
          }
          if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && count > 0) {
            ctx.issue('values', `must be empty for operator ${e.operator}`);
          }
        }, 'In and NotIn need values; Exists and DoesNotExist take none.'),
    )
    .optional(),
});
export type LabelSelector = Infer<typeof labelSelector>;

/**
 * Reports every item whose key repeats an earlier one, at `[i]<field>`, as the API server
 * does for list-map keys.
 */
export function reportDuplicates<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  at: (i: number) => string,
  reason: (item: T) => string,
  ctx: CheckContext,
): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    if (seen.has(key)) ctx.issue(at(i), reason(item));
    seen.add(key);
  });
}

/** The HTTP methods the Gateway API names (HTTPRouteMatch.method, CORS allowMethods). */
export const HTTP_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;
