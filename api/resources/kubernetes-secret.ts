/**
 * Secret (core/v1): what an ingress gateway's `credentialName` names. Only TLS material is
 * read (`tls.crt`, `tls.key`, `ca.crt`, and Istio's generic `cert`/`key`/`cacert`); the
 * values are base64 as Kubernetes stores them, or plain text under `stringData`. Problems are
 * reported by key, never with the value: secret data must not reach a log line.
 */
import { s } from '../schema/index.js';
import type { Infer } from '../schema/index.js';
import type { ResourceDefinition } from './types.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export const secretSpec = s.object(
  {
    type: s.string().optional(),
    data: s
      .map(s.string())
      .check((data, ctx) => {
        for (const [key, value] of Object.entries(data))
          if (!BASE64.test(value.replace(/\s+/g, ''))) ctx.issue(key, 'must be base64');
      }, 'Values are base64.')
      .optional(),
    stringData: s.map(s.string()).optional(),
    immutable: s.boolean().optional(),
  },
  { unknownFields: 'ignore' },
);
export type SecretSpec = Infer<typeof secretSpec>;

/** The Secret's `type` for TLS material (kubernetes.io/tls: keys tls.crt and tls.key). */
export const SECRET_TYPE_TLS = 'kubernetes.io/tls';

/** A key of a Secret as text: `stringData` wins over `data`, as the API server merges them. */
export function secretValue(spec: SecretSpec, key: string): string | undefined {
  const plain = spec.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = spec.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

export const secretDefinition: ResourceDefinition = {
  type: 'Secret',
  group: '',
  kind: 'Secret',
  versions: ['v1'],
  plural: 'secrets',
  namespaced: true,
  spec: secretSpec,
  // A Secret's content sits beside its metadata, not under `spec`.
  specFields: ['type', 'data', 'stringData', 'immutable'],
};
