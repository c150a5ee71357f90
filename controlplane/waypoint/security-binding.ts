/**
 * Which AuthorizationPolicies and RequestAuthentications a waypoint enforces for one service,
 * as Istio ambient binds them (pilot/pkg/model/policyattachment.go, authorization.go):
 * only through `targetRef`/`targetRefs` —
 * - a Gateway naming the waypoint, from the waypoint's namespace: every service through it;
 * - the GatewayClass `istio-waypoint`, from the root namespace: every waypoint;
 * - a Service or ServiceEntry naming the service, from the service's namespace.
 * Selector and namespace-wide policies apply to workloads (the node tunnel), never here;
 * references cannot cross namespaces. Dry-run AuthorizationPolicies are left out: they only
 * log in Istio, and Ambit's waypoint has no shadow evaluation.
 */
import type {
  AuthorizationPolicyResource,
  PolicyTargetReference,
  RequestAuthenticationResource,
} from '../../api/resources/index.js';
import { WAYPOINT_CLASS } from '../../api/resources/index.js';
import { DRY_RUN_ANNOTATION, isDryRun } from '../ambient/authorization.js';
import type { MeshService } from '../model/services.js';
import type { Waypoint } from '../model/waypoints.js';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const ISTIO_NETWORKING_GROUP = 'networking.istio.io';

type Bindable = AuthorizationPolicyResource | RequestAuthenticationResource;

function refsOf(policy: Bindable): readonly PolicyTargetReference[] {
  const { targetRef, targetRefs } = policy.spec;
  return targetRef === undefined ? (targetRefs ?? []) : [targetRef];
}

function refTargets(
  ref: PolicyTargetReference,
  policyNamespace: string,
  service: MeshService,
  waypoint: Waypoint,
  rootNamespace: string,
): boolean {
  const group = ref.group ?? '';
  switch (ref.kind) {
    case 'Gateway':
      return (
        group === GATEWAY_GROUP &&
        policyNamespace === waypoint.namespace &&
        ref.name === waypoint.name
      );
    case 'GatewayClass':
      return (
        group === GATEWAY_GROUP && policyNamespace === rootNamespace && ref.name === WAYPOINT_CLASS
      );
    case 'Service':
      return (
        (group === '' || group === 'core') &&
        service.source === 'Service' &&
        policyNamespace === service.namespace &&
        ref.name === service.name
      );
    case 'ServiceEntry':
      return (
        group === ISTIO_NETWORKING_GROUP &&
        service.source === 'ServiceEntry' &&
        policyNamespace === service.namespace &&
        ref.name === service.resource.metadata.name
      );
    default:
      return false;
  }
}

/** True when `policy` is enforced by `waypoint` for `service`. */
export function bindsAtWaypoint(
  policy: Bindable,
  service: MeshService,
  waypoint: Waypoint,
  rootNamespace: string,
): boolean {
  const namespace = policy.metadata.namespace ?? 'default';
  return refsOf(policy).some((ref) => refTargets(ref, namespace, service, waypoint, rootNamespace));
}

/** Dry-run policies only log in Istio; Ambit's waypoint has no shadow evaluation. */
export function isDryRunPolicy(policy: AuthorizationPolicyResource): boolean {
  return isDryRun(policy.metadata.annotations?.[DRY_RUN_ANNOTATION]);
}
