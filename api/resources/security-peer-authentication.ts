/**
 * PeerAuthentication (security.istio.io): istio/api peer_authentication.proto in its JSON
 * form, with the rules of Istio's ValidatePeerAuthentication and of the CRD's validations.
 */
import { keyPath, s } from '../schema/index.js';
import type { Infer } from '../schema/index.js';
import { workloadSelector } from './security-targets.js';

/** UNSET inherits the mode of the enclosing scope (namespace, then mesh). */
export const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'] as const;
export type MutualTLSMode = (typeof MTLS_MODES)[number];

export const mutualTLS = s.object({ mode: s.enumOf(...MTLS_MODES).optional() });
export type MutualTLS = Infer<typeof mutualTLS>;

/** The map's keys are port numbers written as strings, as JSON maps need. */
export const portLevelMtls = s.map(mutualTLS).check((ports, ctx) => {
  const keys = Object.keys(ports);
  if (keys.length === 0) ctx.issue('', 'must have at least one port when set');
  for (const key of keys) {
    const port = /^[0-9]{1,5}$/.test(key) ? Number(key) : 0;
    if (port < 1 || port > 65535) {
      ctx.issue(keyPath('', key), 'must be a port number between 1 and 65535');
    }
  }
}, 'Keys are port numbers 1-65535; at least one.');

export const peerAuthenticationSpec = s
  .object({
    selector: workloadSelector.optional(),
    mtls: mutualTLS.optional(),
    portLevelMtls: portLevelMtls.optional(),
  })
  .check((spec, ctx) => {
    const selected = Object.keys(spec.selector?.matchLabels ?? {}).length > 0;
    if (spec.portLevelMtls !== undefined && !selected) {
      ctx.issue(
        'portLevelMtls',
        'requires a selector with matchLabels: a mesh-wide or namespace-wide policy cannot have port-level mTLS',
      );
    }
  }, 'portLevelMtls requires a selector with labels.');
export type PeerAuthenticationSpec = Infer<typeof peerAuthenticationSpec>;
