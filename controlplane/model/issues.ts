import type { ResourceType } from '../../api/resources/index.js';
import type { WaypointRef } from './waypoints.js';

export interface ObjectRef {
  readonly type: ResourceType;
  /** Empty for a Namespace. */
  readonly namespace: string;
  readonly name: string;
}

/**
 * Something in the config that is valid on its own but does not work together: the mesh
 * still serves it (as Istio would), and `ambit analyze` reports it.
 */
export type ModelIssue =
  | {
      /** A `istio.io/use-waypoint` label names a waypoint that does not exist: no waypoint is used. */
      readonly code: 'WaypointNotFound';
      readonly object: ObjectRef;
      readonly waypoint: WaypointRef;
    }
  | {
      /** The waypoint's HBONE listener does not allow routes from the object's namespace. */
      readonly code: 'WaypointAttachmentDenied';
      readonly object: ObjectRef;
      readonly waypoint: WaypointRef;
    }
  | {
      /** The waypoint's `istio.io/waypoint-for` does not take this kind of traffic. */
      readonly code: 'WaypointTrafficTypeMismatch';
      readonly object: ObjectRef;
      readonly waypoint: WaypointRef;
      readonly wanted: 'service' | 'workload';
    }
  | {
      /** Another object won this hostname in this namespace; this one's host is not served. */
      readonly code: 'ServiceHostnameShadowed';
      readonly object: ObjectRef;
      readonly hostname: string;
      readonly by: ObjectRef;
    }
  | {
      /** A route sends traffic to a host no service has; the waypoint answers 503 there. */
      readonly code: 'DestinationHostNotFound';
      readonly object: ObjectRef;
      readonly host: string;
    }
  | {
      /** A route names a port its destination service does not have; the waypoint answers 503. */
      readonly code: 'DestinationPortNotFound';
      readonly object: ObjectRef;
      readonly host: string;
      readonly port: number;
    }
  | {
      /** A route names a subset no DestinationRule for the host defines; the waypoint answers 503. */
      readonly code: 'DestinationSubsetNotFound';
      readonly object: ObjectRef;
      readonly host: string;
      readonly subset: string;
    }
  | {
      /** HTTPRoutes attach to the service, so its waypoint ignores this VirtualService's HTTP routes. */
      readonly code: 'VirtualServiceIgnoredForHTTPRoute';
      readonly object: ObjectRef;
      readonly service: ObjectRef;
      readonly by: ObjectRef;
    }
  | {
      /** A part of a route the waypoint does not implement; that part is left out. */
      readonly code: 'RouteFeatureUnsupported';
      readonly object: ObjectRef;
      readonly field: string;
      readonly reason: string;
    };
