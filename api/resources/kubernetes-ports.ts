/**
 * Port fields of Kubernetes' core kinds, with the API server's rules (k8s.io/apimachinery
 * validation IsValidPortName and IsValidPortNum): numbers 1–65535, protocols TCP, UDP and
 * SCTP, and port names that are IANA service names.
 */
import { s } from '../schema/index.js';
import type { Check } from '../schema/index.js';

export const portNumber = s.integer({ minimum: 1, maximum: 65535, format: 'int32' });

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const protocol = s.enumOf(...PROTOCOLS);

/** Why `name` is not an IANA_SVC_NAME (what a container port or a targetPort may be called). */
export function portNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return 'must be 1 to 15 characters long';
  if (!/^[-a-z0-9]+$/.test(name)) {
    return 'must contain only lowercase alphanumeric characters (a-z, 0-9) and hyphens (-)';
  }
  if (!/[a-z]/.test(name)) return 'must contain at least one letter (a-z)';
  if (name.includes('--')) return 'must not contain consecutive hyphens';
  if (name.startsWith('-') || name.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
}

export const portName: Check<string> = (name, ctx) => {
  const problem = portNameProblem(name);
  if (problem !== undefined) ctx.issue('', problem);
};

/** A port by number (1–65535) or by the name of a container port. */
export const portNumberOrName = s.intOrString().check((value, ctx) => {
  if (typeof value === 'number') {
    if (value < 1 || value > 65535) ctx.issue('', 'must be between 1 and 65535');
    return;
  }
  const problem = portNameProblem(value);
  if (problem !== undefined) ctx.issue('', `must be a port number or a port name: ${problem}`);
}, 'A port number 1-65535 or an IANA service name.');
