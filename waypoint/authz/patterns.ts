/**
 * How policy values match request attributes, as Istio's RBAC builder has Envoy match them
 * (pilot/pkg/security/authz/matcher): Istio's pattern forms for strings, hosts without a port
 * matching any port, case-insensitive hosts, path templates, and IP blocks.
 */
import { canonicalIpBytes, cidrContains } from '../../core/net/ip.js';

/** `*` any non-empty value, `*x` suffix, `x*` prefix, else exact (Istio's StringMatch forms). */
export function matchesPattern(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return value !== '';
  if (pattern.startsWith('*')) return value.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

export function matchesAny(patterns: readonly string[], value: string | undefined): boolean {
  for (const pattern of patterns) if (matchesPattern(pattern, value)) return true;
  return false;
}

/** Takes `:port` off an authority (`[v6]:port` keeps its brackets' content). */
function hostOnly(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(1, end);
  }
  const colon = authority.lastIndexOf(':');
  return colon < 0 || authority.indexOf(':') !== colon ? authority : authority.slice(0, colon);
}

/**
 * Hosts compare case-insensitively; a pattern without a port matches the authority with or
 * without one, a pattern with a port only that port.
 */
export function matchesHost(pattern: string, authority: string): boolean {
  const p = pattern.toLowerCase();
  const a = authority.toLowerCase();
  const patternHasPort = /:[0-9*]+$/.test(p) && !p.endsWith(']');
  return matchesPattern(p, patternHasPort ? a : hostOnly(a));
}

const templates = new Map<string, RegExp>();

/** `{*}` one path segment, `{**}` the rest (one or more characters, slashes included). */
function templateRegex(template: string): RegExp {
  let regex = templates.get(template);
  if (regex === undefined) {
    const source = template
      .split(/(\{\*\*\}|\{\*\})/)
      .map((part) =>
        part === '{**}'
          ? '.+'
          : part === '{*}'
            ? '[^/]+'
            : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    regex = new RegExp(`^${source}$`);
    templates.set(template, regex);
  }
  return regex;
}

/** Istio's path forms and templates, against the normalized path without its query. */
export function matchesPath(pattern: string, path: string): boolean {
  if (pattern.includes('{*}') || pattern.includes('{**}')) return templateRegex(pattern).test(path);
  return matchesPattern(pattern, path);
}

/** IPs or CIDR blocks; an unparsable address never matches. */
export function matchesIpBlock(block: string, address: Uint8Array | undefined): boolean {
  if (address === undefined) return false;
  const slash = block.indexOf('/');
  const ip = slash < 0 ? block : block.slice(0, slash);
  const bytes = canonicalIpBytes(ip);
  if (bytes === undefined) return false;
  const length = slash < 0 ? bytes.length * 8 : Number(block.slice(slash + 1));
  return cidrContains({ address: ip, length }, address);
}
