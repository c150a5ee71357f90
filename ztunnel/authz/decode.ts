import type { Any } from '@bufbuild/protobuf/wkt';
import {
  Action,
  Scope,
  type Address,
  type Match,
  type ServiceAccountMatch as ServiceAccountMatchMessage,
  type StringMatch as StringMatchMessage,
} from '../../api/gen/istio/security/authorization_pb.js';
import {
  AUTHORIZATION_TYPE_URL,
  ResourceTypeMismatchError,
  unpackResource,
} from '../../api/xds/type-urls.js';
import { InvalidResourceError } from '../state/errors.js';
import { ipFromBytes, type Cidr } from '../../core/net/ip.js';
import type { Authorization, PolicyMatch, ServiceAccountMatch, StringMatch } from './policy.js';

/*
 * istio.security.Authorization → Authorization. ztunnel (src/rbac.rs) refuses a policy with an
 * unknown scope or action but silently drops a value it cannot read (address bytes of the
 * wrong length, a prefix longer than the address, a StringMatch with no kind). Dropping the
 * only value of a field turns "this address" into "any address", so here such a policy is
 * refused instead, like the unknown enums; Ambit's control plane never sends one.
 */

type Fail = (reason: string) => never;

/** Decodes one Authorization resource; throws InvalidResourceError naming it. */
export function decodeAuthorization(name: string, resource: Any): Authorization {
  const fail: Fail = (reason) => {
    throw new InvalidResourceError(AUTHORIZATION_TYPE_URL, name, reason);
  };
  let policy;
  try {
    policy = unpackResource(AUTHORIZATION_TYPE_URL, resource);
  } catch (cause) {
    const reason =
      cause instanceof ResourceTypeMismatchError
        ? `it carries ${cause.actual}`
        : 'it does not decode';
    throw new InvalidResourceError(AUTHORIZATION_TYPE_URL, name, reason, { cause });
  }
  const key = `${policy.namespace}/${policy.name}`;
  if (key !== name) fail(`the resource name differs from the policy's ${JSON.stringify(key)}`);
  return {
    key,
    name: policy.name,
    namespace: policy.namespace,
    scope: scope(policy.scope, fail),
    action: action(policy.action, fail),
    groups: policy.groups.map((group) => ({
      rules: group.rules.map((rules) => ({
        matches: rules.matches.map((match) => decodeMatch(match, fail)),
      })),
    })),
    dryRun: policy.dryRun,
  };
}

function decodeMatch(m: Match, fail: Fail): PolicyMatch {
  const strings = (list: readonly StringMatchMessage[]) => list.map((s) => stringMatch(s, fail));
  const cidrs = (list: readonly Address[]) => list.map((a) => cidr(a, fail));
  const ports = (list: readonly number[]) =>
    list.map((p) => (p <= 65535 ? p : fail(`destination port ${p} is out of range`)));
  const accounts = (list: readonly ServiceAccountMatchMessage[]): ServiceAccountMatch[] =>
    list.map((a) => ({ namespace: a.namespace, serviceAccount: a.serviceAccount }));
  return {
    namespaces: strings(m.namespaces),
    notNamespaces: strings(m.notNamespaces),
    serviceAccounts: accounts(m.serviceAccounts),
    notServiceAccounts: accounts(m.notServiceAccounts),
    principals: strings(m.principals),
    notPrincipals: strings(m.notPrincipals),
    sourceIps: cidrs(m.sourceIps),
    notSourceIps: cidrs(m.notSourceIps),
    destinationIps: cidrs(m.destinationIps),
    notDestinationIps: cidrs(m.notDestinationIps),
    destinationPorts: ports(m.destinationPorts),
    notDestinationPorts: ports(m.notDestinationPorts),
  };
}

function stringMatch(s: StringMatchMessage, fail: Fail): StringMatch {
  const { matchType } = s;
  switch (matchType.case) {
    case 'exact':
    case 'prefix':
    case 'suffix':
      return { kind: matchType.case, value: matchType.value };
    case 'presence':
      return { kind: 'presence' };
    default:
      return fail('a string match has no kind');
  }
}

function cidr(a: Address, fail: Fail): Cidr {
  const address = ipFromBytes(a.address);
  if (address === undefined) return fail(`an address is ${a.address.length} bytes long`);
  if (a.length > a.address.length * 8)
    return fail(`address ${address} has prefix length ${a.length}`);
  return { address, length: a.length };
}

function scope(value: Scope, fail: Fail): Authorization['scope'] {
  switch (value) {
    case Scope.GLOBAL:
      return 'GLOBAL';
    case Scope.NAMESPACE:
      return 'NAMESPACE';
    case Scope.WORKLOAD_SELECTOR:
      return 'WORKLOAD_SELECTOR';
    default:
      return fail(`scope ${value} is unknown`);
  }
}

function action(value: Action, fail: Fail): Authorization['action'] {
  switch (value) {
    case Action.ALLOW:
      return 'ALLOW';
    case Action.DENY:
      return 'DENY';
    default:
      return fail(`action ${value} is unknown`);
  }
}
