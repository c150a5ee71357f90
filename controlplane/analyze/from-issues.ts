/**
 * The model's and the waypoint compiler's issues as analyzer findings: they are found where
 * the config is turned into what proxies run, so the analyzer reports exactly what the
 * control plane meets, with a code, the field and a fix.
 */
import type { ModelIssue, ObjectRef } from '../model/issues.js';
import { USE_WAYPOINT, USE_WAYPOINT_NAMESPACE } from '../model/labels.js';
import { message, type AnalysisMessage } from './message.js';
import type { ResourceLookup } from './resources.js';

const LABEL_FIELD = `metadata.labels['${USE_WAYPOINT}']`;

function named(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

function refText(ref: ObjectRef): string {
  const kind = ref.type === 'KubernetesGateway' ? 'Gateway' : ref.type;
  return ref.namespace === '' ? `${kind} ${ref.name}` : `${kind} ${ref.namespace}/${ref.name}`;
}

/**
 * One finding per issue; undefined for the destination issues of VirtualServices, which
 * routing-checks.ts reports with their field paths for every VirtualService, bound to a
 * waypoint or not.
 */
export function issueMessage(
  issue: ModelIssue,
  lookup: ResourceLookup,
): AnalysisMessage | undefined {
  const at = lookup.of(issue.object);
  switch (issue.code) {
    case 'WaypointNotFound':
      return message('IST0101', at, {
        field: LABEL_FIELD,
        message: `Referenced waypoint not found: "${named(issue.waypoint)}"; traffic is not sent to any waypoint`,
        fix: `create a Gateway of class istio-waypoint named ${issue.waypoint.name} in namespace ${issue.waypoint.namespace}, or correct ${USE_WAYPOINT} (and ${USE_WAYPOINT_NAMESPACE})`,
      });
    case 'WaypointAttachmentDenied':
      return message('AMB0001', at, {
        field: LABEL_FIELD,
        message: `waypoint ${named(issue.waypoint)} does not allow routes from namespace ${issue.object.namespace} (its HBONE listener's allowedRoutes.namespaces); traffic is not sent to it`,
        fix: `allow the namespace in the waypoint's listener (allowedRoutes.namespaces.from: All or a Selector), or use a waypoint in namespace ${issue.object.namespace}`,
      });
    case 'WaypointTrafficTypeMismatch':
      return message('AMB0002', at, {
        field: LABEL_FIELD,
        message: `waypoint ${named(issue.waypoint)} does not take ${issue.wanted} traffic (istio.io/waypoint-for); traffic is not sent to it`,
        fix: `label the waypoint istio.io/waypoint-for=${issue.wanted === 'service' ? 'service' : 'workload'} or all`,
      });
    case 'ServiceHostnameShadowed':
      return message('AMB0003', at, {
        message: `hostname ${issue.hostname} is also declared by ${refText(issue.by)}, which wins; this object's hostname is not served`,
        fix: 'remove one of the two declarations, or give them different hostnames',
      });
    case 'DestinationHostNotFound':
      if (issue.object.type === 'VirtualService') return undefined;
      return message('IST0101', at, {
        message: `Referenced host not found: "${issue.host}"; requests routed there get 503`,
        fix: 'correct the backend reference, or create the Service it names',
      });
    case 'DestinationSubsetNotFound':
      if (issue.object.type === 'VirtualService') return undefined;
      return message('IST0101', at, {
        message: `Referenced host+subset in destinationrule not found: "${issue.host}+${issue.subset}"; requests routed there get 503 (NC)`,
        fix: `add subset ${issue.subset} to the DestinationRule for ${issue.host}`,
      });
    case 'DestinationPortNotFound':
      return message('AMB0006', at, {
        message: `a route sends traffic to port ${issue.port} of ${issue.host}, which has no such port; the waypoint answers 503`,
        fix: `route to a port ${issue.host} declares, or add the port to its Service`,
      });
    case 'VirtualServiceIgnoredForHTTPRoute':
      return message('AMB0004', at, {
        field: 'spec.http',
        message: `the HTTP routes are ignored: HTTPRoute ${named(issue.by)} is attached to ${refText(issue.service)}, and HTTPRoutes win over VirtualServices at a waypoint`,
        fix: 'use one API per service: remove the HTTPRoute or move these routes into it',
      });
    case 'RouteFeatureUnsupported':
      return message('AMB0005', at, {
        field: issue.field,
        message: `not supported by the waypoint and left out: ${issue.reason}`,
        fix: 'remove the field, or expect it to have no effect',
      });
  }
}
