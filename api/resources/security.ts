/**
 * The security.istio.io kinds: PeerAuthentication, AuthorizationPolicy and
 * RequestAuthentication, served at v1 and
 * v1beta1 like Istio's CRDs. Their spec schemas live in the security-*.ts files.
 */
import { authorizationPolicySpec } from './security-authorization-policy.js';
import { peerAuthenticationSpec } from './security-peer-authentication.js';
import { requestAuthenticationSpec } from './security-request-authentication.js';
import type { ResourceDefinition } from './types.js';

export type {
  Action,
  AuthorizationPolicySpec,
  Condition,
  Operation,
  Rule,
  Source,
} from './security-authorization-policy.js';
export type {
  MutualTLS,
  MutualTLSMode,
  PeerAuthenticationSpec,
} from './security-peer-authentication.js';
export type {
  ClaimToHeader,
  JwtHeader,
  JwtRule,
  RequestAuthenticationSpec,
} from './security-request-authentication.js';
export type { PolicyTargetReference, WorkloadSelector } from './security-targets.js';
export { authorizationPolicySpec, peerAuthenticationSpec, requestAuthenticationSpec };

const GROUP = 'security.istio.io';
const VERSIONS = ['v1', 'v1beta1'];
const CATEGORIES = ['istio-io', 'security-istio-io'];

export const definitions: ResourceDefinition[] = [
  {
    type: 'PeerAuthentication',
    group: GROUP,
    kind: 'PeerAuthentication',
    versions: VERSIONS,
    plural: 'peerauthentications',
    namespaced: true,
    spec: peerAuthenticationSpec,
    shortNames: ['pa'],
    categories: CATEGORIES,
  },
  {
    type: 'AuthorizationPolicy',
    group: GROUP,
    kind: 'AuthorizationPolicy',
    versions: VERSIONS,
    plural: 'authorizationpolicies',
    namespaced: true,
    spec: authorizationPolicySpec,
    shortNames: ['ap'],
    categories: CATEGORIES,
  },
  {
    type: 'RequestAuthentication',
    group: GROUP,
    kind: 'RequestAuthentication',
    versions: VERSIONS,
    plural: 'requestauthentications',
    namespaced: true,
    spec: requestAuthenticationSpec,
    shortNames: ['ra'],
    categories: CATEGORIES,
  },
];
