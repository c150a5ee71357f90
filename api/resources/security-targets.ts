/**
 * How a security policy picks what it applies to (istio.type.v1beta1): a workload selector,
 * or references to a Service, ServiceEntry, Gateway or GatewayClass. At most one of
 * selector, targetRef and targetRefs may be set; that rule lives on each policy's spec.
 */
import { s } from '../schema/index.js';
import type { Infer } from '../schema/index.js';
import { selectorLabels } from './networking-common.js';

/** WorkloadSelector: label keys and values without wildcards. */
export const workloadSelector = s.object({ matchLabels: selectorLabels.optional() });
export type WorkloadSelector = Infer<typeof workloadSelector>;

/** The kinds a policy may target, by canonical group ('core' for Kubernetes' own). */
const TARGET_KINDS: ReadonlyArray<{ group: string; kind: string }> = [
  { group: 'core', kind: 'Service' },
  { group: 'networking.istio.io', kind: 'ServiceEntry' },
  { group: 'gateway.networking.k8s.io', kind: 'Gateway' },
  { group: 'gateway.networking.k8s.io', kind: 'GatewayClass' },
];

const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

/** PolicyTargetReference. Cross-namespace references are not supported. */
export const policyTargetReference = s
  .object({
    group: s
      .string({ maxLength: 253, pattern: GROUP, patternReason: 'must be a DNS-1123 subdomain' })
      .optional(),
    kind: s.string({
      minLength: 1,
      maxLength: 63,
      pattern: KIND,
      patternReason: 'must be a kind name such as Service',
    }),
    name: s.string({ minLength: 1, maxLength: 253 }),
    namespace: s
      .string()
      .check((ns, ctx) => {
        if (ns !== '')
          ctx.issue('', 'must not be set: cross-namespace references are not supported');
      }, 'Must be empty: cross-namespace references are not supported.')
      .optional(),
  })
  .check((ref, ctx) => {
    const group = ref.group === undefined || ref.group === '' ? 'core' : ref.group;
    if (!TARGET_KINDS.some((t) => t.group === group && t.kind === ref.kind)) {
      ctx.issue(
        'kind',
        `must be Service, ServiceEntry (networking.istio.io), Gateway or GatewayClass ` +
          `(gateway.networking.k8s.io), but was ${group}/${ref.kind}`,
      );
    }
  }, 'Targets a Service, ServiceEntry, Gateway or GatewayClass.');
export type PolicyTargetReference = Infer<typeof policyTargetReference>;

/** targetRefs: at most 16 references. */
export const policyTargetReferences = s.array(policyTargetReference, { maxItems: 16 });
