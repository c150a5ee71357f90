/**
 * The labels and annotations the mesh reads, with Istio's names (istio/api label and
 * annotation definitions). Values users write in YAML, so they never change.
 */

/** On a Namespace or Pod: `ambient` enrolls, `none` (on a Pod) opts out. */
export const DATAPLANE_MODE = 'istio.io/dataplane-mode';
export const DATAPLANE_MODE_AMBIENT = 'ambient';
export const DATAPLANE_MODE_NONE = 'none';

/** On a Namespace, Service, Pod, ServiceEntry or WorkloadEntry: a waypoint's name, or `none`. */
export const USE_WAYPOINT = 'istio.io/use-waypoint';
export const USE_WAYPOINT_NONE = 'none';
/** Beside USE_WAYPOINT: the waypoint's namespace, when it is not the object's own. */
export const USE_WAYPOINT_NAMESPACE = 'istio.io/use-waypoint-namespace';
/** On a waypoint Gateway: which traffic it takes, `service` (default), `workload`, `all` or `none`. */
export const WAYPOINT_FOR = 'istio.io/waypoint-for';
/** On a Service or Namespace: ingress gateways route through the service's waypoint. */
export const INGRESS_USE_WAYPOINT = 'istio.io/ingress-use-waypoint';

/** On a waypoint's pods: the Gateway they run. */
export const GATEWAY_NAME = 'gateway.networking.k8s.io/gateway-name';
/** On resources Istio made for a Gateway; the waypoint's own Service never uses a waypoint. */
export const GATEWAY_MANAGED = 'gateway.istio.io/managed';
export const GATEWAY_MANAGED_WAYPOINT = 'istio.io-mesh-controller';
export const GATEWAY_MANAGED_EAST_WEST = 'istio.io-eastwest-controller';

/** Set by the node agent on a pod whose traffic it captures. */
export const AMBIENT_REDIRECTION = 'ambient.istio.io/redirection';
export const AMBIENT_REDIRECTION_ENABLED = 'enabled';
/** Set by the sidecar injector; a pod with a sidecar is never captured by the node tunnel. */
export const SIDECAR_STATUS = 'sidecar.istio.io/status';
/** `http` on a workload that terminates HBONE itself (a waypoint). */
export const TUNNEL = 'networking.istio.io/tunnel';
export const TUNNEL_HTTP = 'http';

/** Service, then namespace, annotation choosing locality-aware load balancing. */
export const TRAFFIC_DISTRIBUTION = 'networking.istio.io/traffic-distribution';

/** Telemetry names, in the order Istio looks for them. */
export const CANONICAL_NAME_LABELS = [
  'service.istio.io/canonical-name',
  'app.kubernetes.io/name',
  'app',
] as const;
export const CANONICAL_REVISION_LABELS = [
  'service.istio.io/canonical-revision',
  'app.kubernetes.io/version',
  'version',
] as const;
/** Overrides the workload name derived from the object. */
export const WORKLOAD_NAME = 'service.istio.io/workload-name';
/** Set by Kubernetes on a Deployment's pods: the suffix of their ReplicaSet's name. */
export const POD_TEMPLATE_HASH = 'pod-template-hash';
/** The same, set by Argo Rollouts on a Rollout's pods. */
export const ROLLOUTS_POD_TEMPLATE_HASH = 'rollouts-pod-template-hash';
/** Set by OpenShift on a DeploymentConfig's pods: the DeploymentConfig's name. */
export const DEPLOYMENT_CONFIG = 'deploymentconfig';
/** On an auto-registered WorkloadEntry: the WorkloadGroup it belongs to. */
export const AUTO_REGISTRATION_GROUP = 'istio.io/autoRegistrationGroup';
