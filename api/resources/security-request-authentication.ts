/**
 * RequestAuthentication (security.istio.io): istio/api request_authentication.proto in its
 * JSON form, with the rules of Istio's ValidateRequestAuthentication: each JWT rule names an
 * issuer, its keys come inline (`jwks`, which wins when both are set) or from `jwksUri`, and
 * issuers are unique.
 */
import { s } from '../schema/index.js';
import type { Infer } from '../schema/index.js';
import {
  policyTargetReference,
  policyTargetReferences,
  workloadSelector,
} from './security-targets.js';

/** A header a token may arrive in; the prefix (e.g. `Bearer `) is taken off before parsing. */
export const jwtHeader = s.object({
  name: s.string({ minLength: 1 }),
  prefix: s.string().optional(),
});
export type JwtHeader = Infer<typeof jwtHeader>;

/** Copies one claim of a verified token into a request header. */
export const claimToHeader = s.object({
  header: s.string({
    minLength: 1,
    pattern: /^[-_A-Za-z0-9]+$/,
    patternReason: 'must be a header name of letters, digits, - and _',
  }),
  claim: s.string({ minLength: 1 }),
});
export type ClaimToHeader = Infer<typeof claimToHeader>;

function uriProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `bad URI ${JSON.stringify(value)}`;
  }
  return url.protocol === 'http:' || url.protocol === 'https:'
    ? undefined
    : `must be an http or https URI, found ${JSON.stringify(value)}`;
}

function jwksProblem(value: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return 'must be a JSON Web Key Set (JSON)';
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  return Array.isArray(keys) ? undefined : 'must be a JSON Web Key Set: an object with "keys"';
}

export const jwtRule = s.object({
  issuer: s.string({ minLength: 1 }),
  audiences: s.array(s.string({ minLength: 1 })).optional(),
  jwksUri: s
    .string()
    .check((value, ctx) => {
      const problem = uriProblem(value);
      if (problem !== undefined) ctx.issue('', problem);
    }, 'An http or https URI.')
    .optional(),
  jwks: s
    .string()
    .check((value, ctx) => {
      const problem = jwksProblem(value);
      if (problem !== undefined) ctx.issue('', problem);
    }, 'A JSON Web Key Set.')
    .optional(),
  fromHeaders: s.array(jwtHeader).optional(),
  fromParams: s.array(s.string({ minLength: 1 })).optional(),
  fromCookies: s.array(s.string({ minLength: 1 })).optional(),
  outputPayloadToHeader: s.string().optional(),
  forwardOriginalToken: s.boolean().optional(),
  outputClaimToHeaders: s.array(claimToHeader).optional(),
  timeout: s.duration().optional(),
});
export type JwtRule = Infer<typeof jwtRule>;

export const requestAuthenticationSpec = s
  .object({
    selector: workloadSelector.optional(),
    targetRef: policyTargetReference.optional(),
    targetRefs: policyTargetReferences.optional(),
    jwtRules: s.array(jwtRule, { maxItems: 4096 }).optional(),
  })
  .oneOf(['selector', 'targetRef', 'targetRefs'])
  .check((spec, ctx) => {
    const seen = new Set<string>();
    (spec.jwtRules ?? []).forEach((rule, i) => {
      if (seen.has(rule.issuer)) {
        ctx.issue(`jwtRules[${i}].issuer`, `duplicates issuer ${rule.issuer}: one rule per issuer`);
      }
      seen.add(rule.issuer);
    });
  }, 'Issuers are unique.');
export type RequestAuthenticationSpec = Infer<typeof requestAuthenticationSpec>;
