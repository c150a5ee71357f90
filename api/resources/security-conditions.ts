/**
 * The attributes an AuthorizationPolicy `when` condition may test, and what each accepts as
 * a value, after Istio's pkg/config/security ValidateAttribute. A key Istio does not know is
 * refused, so a typo never silently turns a condition into one that never matches.
 */
import {
  ipBlockProblem,
  portStringProblem,
  serviceAccountProblem,
  wildcardValueProblem,
} from './security-values.js';

type ValueRule = (value: string) => string | undefined;

interface Attribute {
  /** The key, or its prefix for keys written `name[field]`. */
  readonly name: string;
  /** Keys written `name[field]`, such as `request.headers[User-Agent]`. */
  readonly indexed?: boolean;
  /** Keys of the form `prefix…` that take a `[field]` suffix anywhere after the prefix. */
  readonly prefix?: boolean;
  readonly value?: ValueRule;
}

const ATTRIBUTES: readonly Attribute[] = [
  { name: 'request.headers', indexed: true },
  { name: 'source.ip', value: ipBlockProblem },
  { name: 'remote.ip', value: ipBlockProblem },
  { name: 'source.namespace' },
  { name: 'source.serviceAccount', value: serviceAccountProblem },
  { name: 'source.principal' },
  { name: 'source.trustDomain', value: wildcardValueProblem },
  { name: 'request.auth.principal' },
  { name: 'request.auth.audiences' },
  { name: 'request.auth.presenter' },
  { name: 'request.auth.claims', indexed: true },
  { name: 'destination.ip', value: ipBlockProblem },
  { name: 'destination.port', value: portStringProblem },
  { name: 'connection.sni' },
  { name: 'experimental.envoy.filters.', indexed: true, prefix: true },
];

/** Keys that existed once and now say what replaced them. */
const RETIRED: Readonly<Record<string, string>> = {
  'destination.namespace': 'is replaced by the policy namespace (metadata.namespace)',
  'destination.name': 'is deprecated: only supported in v1alpha1',
  'destination.user': 'is deprecated: only supported in v1alpha1',
};

/** The supported keys, for error messages. */
export const CONDITION_KEYS: readonly string[] = ATTRIBUTES.map((a) =>
  a.prefix ? `${a.name}*[<name>]` : a.indexed ? `${a.name}[<name>]` : a.name,
);

function attributeOf(key: string): Attribute | undefined {
  return ATTRIBUTES.find((a) => (a.indexed ? key.startsWith(a.name) : key === a.name));
}

/** `name[field]` with a non-empty name and field. */
function isIndexedKey(key: string): boolean {
  const open = key.indexOf('[');
  return key.endsWith(']') && open > 0 && open < key.length - 2;
}

/** Why `key` cannot be used in a `when` condition, or undefined when it can. */
export function conditionKeyProblem(key: string): string | undefined {
  if (key === '') return 'must not be empty';
  const retired = RETIRED[key];
  if (retired !== undefined) return `attribute ${key} ${retired}`;
  if (key.startsWith('destination.labels')) {
    return `attribute ${key} is replaced by the workload selector`;
  }
  const attribute = attributeOf(key);
  if (attribute === undefined) {
    return `unknown attribute ${JSON.stringify(key)}; use one of ${CONDITION_KEYS.join(', ')}`;
  }
  if (attribute.indexed && !isIndexedKey(key)) {
    return `bad key ${JSON.stringify(key)}: should have the form ${attribute.name}[<name>]`;
  }
  return undefined;
}

/** Why `value` is not a valid value for the (valid) key `key`, or undefined. */
export function conditionValueProblem(key: string, value: string): string | undefined {
  if (value === '') return 'must not be empty';
  return attributeOf(key)?.value?.(value);
}

/** Attributes the CUSTOM action cannot test (Istio: "not supported with CUSTOM action"). */
export function unsupportedWithCustom(key: string): boolean {
  return (
    key === 'source.namespace' ||
    key === 'source.serviceAccount' ||
    key === 'source.trustDomain' ||
    key === 'source.principal' ||
    key.startsWith('request.auth.')
  );
}
