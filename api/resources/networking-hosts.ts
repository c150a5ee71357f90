/**
 * Host names as Istio's networking config uses them: DNS names with an optional leading
 * wildcard label ("*.example.com"), namespace-scoped gateway hosts ("ns/*.example.com"),
 * gateway references ("ns/name") and exportTo entries. Each function returns why a value
 * is not acceptable, or undefined when it is (pkg/config/validation/agent in Istio).
 */
import { isDnsLabelAnyCase, isIPAddress } from '../schema/index.js';

const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;

function preconditions(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 255) return 'must be at most 255 characters';
  return undefined;
}

function labelsProblem(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] ?? '';
  if (/^[0-9]+$/.test(tld)) return `top-level domain "${tld}" must not be all digits`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i] ?? '';
    // A trailing dot ("istio.io.") is an unambiguous absolute name.
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDnsLabelAnyCase(label)) return `label "${label}" is not a valid DNS label`;
  }
  return undefined;
}

/** A DNS name without wildcards. */
export function fqdnProblem(name: string): string | undefined {
  return preconditions(name) ?? labelsProblem(name);
}

/** A DNS name whose first label may be a wildcard: "*", "*.example.com", "*-x.example.com". */
export function wildcardDomainProblem(domain: string): string | undefined {
  const pre = preconditions(domain);
  if (pre !== undefined) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (first.length > 63 || !WILDCARD_LABEL.test(first)) {
    return `label "${first}" is not a valid DNS label or wildcard`;
  }
  return dot < 0 ? undefined : labelsProblem(domain.slice(dot + 1));
}

/** Only a whole leading label may be a wildcard: "*.example.com" yes, "*foo.com" no. */
export function partialWildcardProblem(host: string): string | undefined {
  if (host.includes('*') && host !== '*' && !host.startsWith('*.')) {
    return 'partial wildcards are not allowed';
  }
  return undefined;
}

export function isWildcarded(host: string): boolean {
  return host.startsWith('*');
}

/** True when every name `host` covers is also covered by `other` (Istio's SubsetOf). */
export function hostSubsetOf(host: string, other: string): boolean {
  const hw = isWildcarded(host);
  const ow = isWildcarded(other);
  if (hw && ow) return host.length >= other.length && host.slice(1).endsWith(other.slice(1));
  if (hw) return false;
  if (ow) return host.endsWith(other.slice(1));
  return host === other;
}

/** True when the two names overlap in either direction (Istio's Matches). */
export function hostsOverlap(a: string, b: string): boolean {
  return hostSubsetOf(a, b) || hostSubsetOf(b, a);
}

/**
 * A host in a Gateway server: "ns/host" where ns is "*", "." or a namespace, or a bare
 * host; the host part is an FQDN (possibly wildcarded), "*" or an IP address.
 */
export function gatewayHostProblem(value: string): string | undefined {
  const slash = value.indexOf('/');
  let host = value;
  if (slash >= 0) {
    const ns = value.slice(0, slash);
    host = value.slice(slash + 1);
    if (ns === '' || host === '') return 'namespace and host must not be empty';
    if (ns !== '*' && ns !== '.' && !isDnsLabelAnyCase(ns)) {
      return `namespace "${ns}" must be "*", "." or a namespace name`;
    }
  }
  if (host !== '*' && !host.includes('.'))
    return 'short names (not fully qualified) are not allowed';
  if (wildcardDomainProblem(host) !== undefined && !isIPAddress(host)) {
    return wildcardDomainProblem(host);
  }
  return partialWildcardProblem(host);
}

/** A reference to a Gateway from a VirtualService: "mesh", "name", "ns/name" or a legacy FQDN. */
export function gatewayNameProblem(value: string): string | undefined {
  const slash = value.indexOf('/');
  if (slash < 0) return fqdnProblem(value);
  const ns = value.slice(0, slash);
  const name = value.slice(slash + 1);
  if (ns === '' || name === '') return 'namespace and gateway name must not be empty';
  if (!isDnsLabelAnyCase(ns)) return `namespace "${ns}" is not a valid DNS label`;
  if (!isDnsLabelAnyCase(name)) return `gateway name "${name}" is not a valid DNS label`;
  return undefined;
}

/** One exportTo entry: ".", "*", a namespace, or "~" (only where `allowNone`). */
export function exportToEntryProblem(entry: string, allowNone: boolean): string | undefined {
  if (entry === '.' || entry === '*') return undefined;
  if (entry === '~') return allowNone ? undefined : '"~" is only allowed for ServiceEntry';
  if (!isDnsLabelAnyCase(entry)) return 'must be ".", "*" or a namespace name';
  return undefined;
}
