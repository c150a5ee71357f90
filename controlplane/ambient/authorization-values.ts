/**
 * The value forms of AuthorizationPolicy fields, turned into the node tunnel's match types:
 * principal and namespace patterns, ports, IP blocks and service accounts.
 *
 * Values the node tunnel cannot represent (a named port, a malformed IP block) are left out
 * of the list, as Istio does (pilot/pkg/serviceregistry/ambient/authorization.go,
 * stringToPort / stringToIP); validation is where they are reported.
 */
import { parseIp } from '../../core/net/ip.js';
import { create } from '@bufbuild/protobuf';
import { EmptySchema } from '@bufbuild/protobuf/wkt';
import {
  AddressSchema,
  ServiceAccountMatchSchema,
  StringMatchSchema,
  type Address,
  type ServiceAccountMatch,
  type StringMatch,
} from '../../api/gen/istio/security/authorization_pb.js';

/**
 * Istio's pattern forms: `*` = any non-empty value, `*x` = suffix, `x*` = prefix, else
 * exact. Only one leading `*` is taken off, so `*x*` is the suffix `x*`.
 */
export function toStringMatch(pattern: string): StringMatch {
  if (pattern === '*') {
    return create(StringMatchSchema, {
      matchType: { case: 'presence', value: create(EmptySchema) },
    });
  }
  if (pattern.startsWith('*')) {
    return create(StringMatchSchema, { matchType: { case: 'suffix', value: pattern.slice(1) } });
  }
  if (pattern.endsWith('*')) {
    return create(StringMatchSchema, {
      matchType: { case: 'prefix', value: pattern.slice(0, -1) },
    });
  }
  return create(StringMatchSchema, { matchType: { case: 'exact', value: pattern } });
}

export function toStringMatches(patterns: readonly string[] | undefined): StringMatch[] {
  return (patterns ?? []).map(toStringMatch);
}

/** The StringMatch that any peer with an identity satisfies. */
export function presenceMatch(): StringMatch {
  return toStringMatch('*');
}

/** Decimal port numbers 0–65535; anything else (a port name) cannot match at L4 and is left out. */
export function toPorts(values: readonly string[] | undefined): number[] {
  const ports: number[] = [];
  for (const value of values ?? []) {
    if (!/^[0-9]+$/.test(value)) continue;
    const port = Number(value);
    if (port <= 65535) ports.push(port);
  }
  return ports;
}

/**
 * `ns/sa`, or a bare `sa` meaning the policy's own namespace. The first `/` splits, so a
 * name with more slashes keeps them in the service account part.
 */
export function toServiceAccountMatches(
  values: readonly string[] | undefined,
  policyNamespace: string,
): ServiceAccountMatch[] {
  return (values ?? []).map((value) => {
    const slash = value.indexOf('/');
    return slash < 0
      ? create(ServiceAccountMatchSchema, { namespace: policyNamespace, serviceAccount: value })
      : create(ServiceAccountMatchSchema, {
          namespace: value.slice(0, slash),
          serviceAccount: value.slice(slash + 1),
        });
  });
}

/**
 * IP addresses (a /32 or /128) and CIDR blocks. The address keeps its host bits
 * (`10.0.0.1/8` stays `10.0.0.1` with length 8), as Istio sends it.
 */
export function toAddresses(values: readonly string[] | undefined): Address[] {
  const addresses: Address[] = [];
  for (const value of values ?? []) {
    const address = parseAddress(value);
    if (address !== undefined) addresses.push(create(AddressSchema, address));
  }
  return addresses;
}

function parseAddress(value: string): { address: Uint8Array; length: number } | undefined {
  const slash = value.indexOf('/');
  if (slash < 0) {
    // A zone (fe80::1%eth0) is allowed on a bare address and is not part of its bytes.
    const bytes = parseIp(value.replace(/%[^%]+$/, ''));
    return bytes && { address: bytes, length: bytes.length * 8 };
  }
  const bits = value.slice(slash + 1);
  const bytes = parseIp(value.slice(0, slash));
  if (bytes === undefined || !/^(0|[1-9][0-9]*)$/.test(bits)) return undefined;
  const length = Number(bits);
  return length <= bytes.length * 8 ? { address: bytes, length } : undefined;
}
