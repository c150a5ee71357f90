/**
 * Which gateway pods a Gateway configures. An Istio Gateway's `selector` picks pods by label
 * in every namespace (Istio's default PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false); a Gateway API
 * Gateway of class `istio` configures the pods Istio's deployer labels with its name, in its
 * namespace.
 */
import type { GatewayResource, KubernetesGatewayResource } from '../../api/resources/index.js';
import type { PodWorkload } from '../model/workloads.js';

/** Istio's class for Gateway API ingress gateways (`istio-waypoint` is the waypoint's). */
export const INGRESS_CLASS = 'istio';
/** The label Istio's deployer puts on a Gateway API gateway's pods. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

export function selectsPod(gateway: GatewayResource, pod: PodWorkload): boolean {
  const selector = gateway.spec.selector ?? {};
  // An empty selector selects every proxy in Istio; a gateway pod only is meant here, and a
  // Gateway without selector is almost always a mistake: it configures none.
  const entries = Object.entries(selector);
  if (entries.length === 0) return false;
  return entries.every(([key, value]) => pod.labels[key] === value);
}

export function kubernetesGatewaySelectsPod(
  gateway: KubernetesGatewayResource,
  pod: PodWorkload,
): boolean {
  return (
    gateway.spec.gatewayClassName === INGRESS_CLASS &&
    pod.namespace === (gateway.metadata.namespace ?? 'default') &&
    pod.labels[GATEWAY_NAME_LABEL] === gateway.metadata.name
  );
}
