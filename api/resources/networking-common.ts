/**
 * Schema pieces several networking.istio.io kinds share: ports, destinations, string
 * matches, header operations, percentages, workload selectors and exportTo.
 */
import { isDnsLabelAnyCase, keyPath, labels, regexProblem, s } from '../schema/index.js';
import type { Check, Infer } from '../schema/index.js';
import { exportToEntryProblem, wildcardDomainProblem } from './networking-hosts.js';

/** A TCP/UDP port number. */
export const portNumber = s.integer({ minimum: 1, maximum: 65535 });

/** `map<string, string>` of Kubernetes labels. */
export const labelMap = s.map(s.string()).check(labels, 'Keys and values follow label syntax.');

/** Istio's DNS label (letters of either case), used for subset and port names. */
export const dnsLabel: Check<string> = (value, ctx) => {
  if (!isDnsLabelAnyCase(value)) ctx.issue('', 'must be a DNS-1123 label');
};

/** A non-empty RE2 regex of at most 1024 characters. */
export const regexCheck: Check<string> = (value, ctx) => {
  const problem = value === '' ? 'must not be empty' : regexProblem(value);
  if (problem !== undefined) ctx.issue('', problem);
};

/** A service host: a DNS name, possibly with a leading wildcard, but not "*" alone. */
export const serviceHost: Check<string> = (value, ctx) => {
  if (value === '*') ctx.issue('', 'must not be "*"');
  else {
    const problem = wildcardDomainProblem(value);
    if (problem !== undefined) ctx.issue('', problem);
  }
};

/** Percent (protobuf istio.networking.v1alpha3.Percent). */
export const percent = s.object({ value: s.number({ minimum: 0, maximum: 100 }) });
export type Percent = Infer<typeof percent>;

/** Fault percentages are 0 or in [0.0001, 100] (Istio's validatePercentage). */
export const faultPercent = s.object({ value: s.number() }).check((p, ctx) => {
  if (p.value < 0 || p.value > 100 || (p.value > 0 && p.value < 0.0001)) {
    ctx.issue('value', 'must be 0 or between 0.0001 and 100');
  }
}, 'value is 0 or in [0.0001, 100].');

/** PortSelector. Istio rejects a selector without a valid number. */
export const portSelector = s.object({ number: portNumber });

/** Destination: a service host, an optional subset and port. */
export const destination = s.object({
  host: s.string().check(serviceHost, 'A service host; "*" is not allowed.'),
  subset: s.string().check(dnsLabel, 'subset is a DNS-1123 label.').optional(),
  port: portSelector.optional(),
});
export type Destination = Infer<typeof destination>;

export interface StringMatchOptions {
  /** The URI match allows an empty prefix (Envoy's path prefix ""). */
  allowEmptyPrefix?: boolean;
  /** withoutHeaders treats regex "*" as "header present", not as a regex. */
  allowStarRegex?: boolean;
}

/** StringMatch: one of exact, prefix or regex. */
export function stringMatch(options: StringMatchOptions = {}) {
  const regex = s.string().check((value, ctx) => {
    if (options.allowStarRegex && value === '*') return;
    regexCheck(value, ctx);
  }, 'An RE2 regular expression of at most 1024 characters.');
  const prefix = options.allowEmptyPrefix
    ? s.string()
    : s.string().check((value, ctx) => {
        if (value === '') ctx.issue('', 'must not be empty');
      });
  return s
    .object({
      exact: s.string().optional(),
      prefix: prefix.optional(),
      regex: regex.optional(),
    })
    .oneOf(['exact', 'prefix', 'regex']);
}
export type StringMatch = Infer<ReturnType<typeof stringMatch>>;

const CONTROL_CHARS = /[\u0000-\u0008\u000A-\u001F\u007F]/; // eslint-disable-line no-control-regex

/**
 * Why an Envoy header value is malformed: control characters, or a `%` that neither
 * escapes another `%` nor opens a closed `%VARIABLE%` / `%VARIABLE(args)%` expression.
 */
export function headerValueProblem(value: string): string | undefined {
  if (CONTROL_CHARS.test(value)) return 'must not contain control characters';
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== '%') continue;
    if (value[i + 1] === '%') {
      i++;
      continue;
    }
    const close = value.indexOf('%', i + 1);
    if (close < 0) return 'has an unterminated %VARIABLE% expression (write %% for a literal %)';
    i = close;
  }
  return undefined;
}

function isPseudoOrHost(name: string): boolean {
  return name.startsWith(':') || name.toLowerCase() === 'host';
}

function isAuthority(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === ':authority' || lower === 'host';
}

/** Header names that may be set or added on requests: no pseudo-headers but :authority/host. */
const requestSetName: Check<Record<string, string>> = (value, ctx) => {
  for (const [name, v] of Object.entries(value)) {
    if (name === '') ctx.issue('', 'header names must not be empty');
    else if (isPseudoOrHost(name) && !isAuthority(name)) {
      ctx.issue(keyPath('', name), 'cannot change pseudo-headers');
    }
    const problem = headerValueProblem(v);
    if (problem !== undefined) ctx.issue(keyPath('', name), problem);
  }
};

/** Header names that may be removed, or changed on responses: no pseudo-headers, no host. */
function plainHeaderNameProblem(name: string): string | undefined {
  if (name === '') return 'header names must not be empty';
  if (name.toLowerCase() === 'host') return 'cannot change the Host header';
  if (name.startsWith(':')) return 'cannot change pseudo-headers';
  return undefined;
}

const plainSetName: Check<Record<string, string>> = (value, ctx) => {
  for (const [name, v] of Object.entries(value)) {
    const problem = plainHeaderNameProblem(name) ?? headerValueProblem(v);
    if (problem !== undefined) ctx.issue(keyPath('', name), problem);
  }
};

const plainRemoveName: Check<string[]> = (value, ctx) => {
  value.forEach((name, i) => {
    const problem = plainHeaderNameProblem(name);
    if (problem !== undefined) ctx.issue(`[${i}]`, problem);
  });
};

const requestHeaderOperations = s.object({
  set: s.map(s.string()).check(requestSetName).optional(),
  add: s.map(s.string()).check(requestSetName).optional(),
  remove: s.array(s.string()).check(plainRemoveName).optional(),
});

const responseHeaderOperations = s.object({
  set: s.map(s.string()).check(plainSetName).optional(),
  add: s.map(s.string()).check(plainSetName).optional(),
  remove: s.array(s.string()).check(plainRemoveName).optional(),
});

/** Headers: request and response header operations. */
export const headers = s.object({
  request: requestHeaderOperations.optional(),
  response: responseHeaderOperations.optional(),
});
export type Headers = Infer<typeof headers>;

/** The value a route sets :authority/host to through `headers`, if any. */
export function authorityFromHeaders(h: Headers | undefined): string[] {
  const out: string[] = [];
  for (const ops of [h?.request?.set, h?.request?.add]) {
    for (const [name, value] of Object.entries(ops ?? {})) if (isAuthority(name)) out.push(value);
  }
  return out;
}

/** exportTo: ".", "*", namespaces ("~" too for ServiceEntry), no duplicates, "*"/"~" alone. */
export function exportTo(allowNone: boolean) {
  return s.array(s.string()).check((entries, ctx) => {
    const seen = new Set<string>();
    entries.forEach((entry, i) => {
      const problem = exportToEntryProblem(entry, allowNone);
      if (problem !== undefined) ctx.issue(`[${i}]`, problem);
      else if (seen.has(entry)) ctx.issue(`[${i}]`, 'duplicate entry');
      seen.add(entry);
    });
    if (entries.length > 1 && seen.has('*'))
      ctx.issue('', '"*" cannot be combined with other entries');
    if (entries.length > 1 && seen.has('~'))
      ctx.issue('', '"~" cannot be combined with other entries');
  }, 'Entries are ".", "*", or namespace names; "*" and "~" stand alone.');
}

/** Label selectors in selectors must not use wildcards (Istio's workload selector rule). */
export const selectorLabels = s.map(s.string({ maxLength: 63 })).check((value, ctx) => {
  for (const [key, v] of Object.entries(value)) {
    if (key === '') ctx.issue('[""]', 'label keys must not be empty');
    else if (key.includes('*') || v.includes('*')) {
      ctx.issue(keyPath('', key), 'wildcards are not allowed in selectors');
    }
  }
}, 'No wildcards in label keys or values.');
