/**
 * Rules shared by many resources, in two forms: a predicate or reason function for code,
 * and a `Check` to hang on a schema node with `.check(...)`.
 */
import { isIP } from 'node:net';
import { parseDurationNs } from './duration.js';
import { keyPath } from './path.js';
import { regexProblem } from './regex.js';
import type { Check } from './schema.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Lowercase letters, digits and '-', starting and ending alphanumeric, at most 63 long. */
export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** Dot-separated DNS-1123 labels, at most 253 long. */
export function isDns1123Subdomain(value: string): boolean {
  return (
    value.length <= 253 && DNS1123_SUBDOMAIN.test(value) && value.split('.').every(isDns1123Label)
  );
}

/** Why `value` is not an Istio duration (≥ 1 ms, whole milliseconds), or undefined. */
export function durationProblem(value: string): string | undefined {
  const ns = parseDurationNs(value);
  if (ns === undefined) return 'must be a duration such as "1s" or "100ms"';
  if (ns < 1e6) return 'must be at least 1ms';
  if (ns % 1e6 !== 0) return 'must be a whole number of milliseconds';
  return undefined;
}

export const dns1123Label: Check<string> = (value, ctx) => {
  if (!isDns1123Label(value)) ctx.issue('', 'must be a DNS-1123 label');
};

export const dns1123Subdomain: Check<string> = (value, ctx) => {
  if (!isDns1123Subdomain(value)) ctx.issue('', 'must be a DNS-1123 subdomain');
};

/** An RE2-compatible regular expression of at most 1024 characters. */
export const regex: Check<string> = (value, ctx) => {
  const problem = regexProblem(value);
  if (problem !== undefined) ctx.issue('', problem);
};

/** For durations carried in plain string fields; `s.duration()` applies it itself. */
export const duration: Check<string> = (value, ctx) => {
  const problem = durationProblem(value);
  if (problem !== undefined) ctx.issue('', problem);
};

/**
 * Istio's own DNS label rule (pkg/config/labels): like DNS-1123 but letters of either case,
 * which Istio accepts in subset names, port names and host labels.
 */
const DNS_LABEL_ANY_CASE = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

export function isDnsLabelAnyCase(value: string): boolean {
  return value.length <= 63 && DNS_LABEL_ANY_CASE.test(value);
}

// Kubernetes label syntax: an optional DNS-subdomain prefix and '/', then a name of
// alphanumerics, '-', '_' and '.', starting and ending alphanumeric, at most 63 long.
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (
      prefix.length > 253 ||
      !/^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/.test(
        prefix,
      )
    ) {
      return false;
    }
  }
  return name.length <= 63 && LABEL_NAME.test(name);
}

/** Label values may be empty; otherwise the same syntax as a label name. */
export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && LABEL_NAME.test(value));
}

/** For `map<string, string>` label fields: every key and value has label syntax. */
export const labels: Check<Record<string, string>> = (value, ctx) => {
  for (const [key, v] of Object.entries(value)) {
    const at = keyPath('', key);
    if (!isLabelKey(key)) ctx.issue(at, 'must be a valid label key');
    else if (!isLabelValue(v)) ctx.issue(at, 'must be a valid label value');
  }
};

/** An IPv4 or IPv6 address (no prefix length). */
export function isIPAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/** An address in CIDR notation, such as 10.0.0.0/8 or 2001:db8::/32. */
export function isCIDR(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^[0-9]{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
