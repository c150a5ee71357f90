import { toBinary } from '@bufbuild/protobuf';
import type { Authorization } from '../../api/gen/istio/security/authorization_pb.js';
import { AuthorizationSchema } from '../../api/gen/istio/security/authorization_pb.js';
import { AddressSchema } from '../../api/gen/istio/workload/workload_pb.js';
import type { Address } from '../../api/gen/istio/workload/workload_pb.js';
import type { AnyResource } from '../../api/resources/index.js';
import { encodeMeshConfig, MESH_CONFIG_RESOURCE } from '../../api/mesh/codec.js';
import { encodeGatewayProxy } from '../../api/gateway/codec.js';
import type { GatewayProxy } from '../../api/gateway/config.js';
import { encodeWaypointService } from '../../api/waypoint/codec.js';
import type { WaypointService } from '../../api/waypoint/config.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  MESH_CONFIG_TYPE_URL,
  GATEWAY_PROXY_TYPE_URL,
  WAYPOINT_SERVICE_TYPE_URL,
} from '../../api/xds/type-urls.js';
import type { TypeUrl } from '../../api/xds/type-urls.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { ModelIssue } from '../model/issues.js';
import { buildModel } from '../model/mesh-model.js';
import type { MeshModel } from '../model/mesh-model.js';
import { compileGateways } from '../gateway/compile.js';
import { compileWaypointServices } from '../waypoint/compile.js';
import { DEFAULT_ADDRESS_OPTIONS } from './address-options.js';
import type { AddressOptions } from './address-options.js';
import { computeAddresses } from './addresses.js';
import { convertAuthorizationPolicy } from './authorization.js';
import { authorizationResourceName } from './authorization-binding.js';
import { convertPeerAuthentications } from './peer-authentication.js';

export type { AddressOptions } from './address-options.js';
export { computeAddresses } from './addresses.js';

export interface AmbientIndexOptions extends Partial<AddressOptions> {
  /** DNS suffix of Kubernetes Service hostnames; default `cluster.local`. */
  readonly domainSuffix?: string;
  readonly logger: Logger;
}

/** Encoded resources of one type, by resource name: what the xDS server serves. */
export type ResourceMap = ReadonlyMap<string, Uint8Array>;

/** Receives the complete, new set of resources of one type whenever it changes. */
export type AmbientListener = (typeUrl: TypeUrl, resources: ResourceMap) => void;

/**
 * Every `istio.security.Authorization` the node tunnels receive: converted
 * AuthorizationPolicies and PeerAuthentications, by `namespace/name`.
 */
export function computeAuthorizations(
  model: MeshModel,
  options: Pick<AddressOptions, 'rootNamespace'>,
): Map<string, Authorization> {
  const out = new Map<string, Authorization>();
  for (const policy of model.authorizationPolicies) {
    const { authorization } = convertAuthorizationPolicy(policy, options);
    if (authorization !== undefined)
      out.set(authorizationResourceName(authorization), authorization);
  }
  for (const authorization of convertPeerAuthentications(model.peerAuthentications, options)) {
    out.set(authorizationResourceName(authorization), authorization);
  }
  return out;
}

function encode<T>(messages: ReadonlyMap<string, T>, toBytes: (m: T) => Uint8Array): ResourceMap {
  const out = new Map<string, Uint8Array>();
  for (const [name, message] of [...messages].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.set(name, toBytes(message));
  }
  return out;
}

function sameResources(a: ResourceMap | undefined, b: ResourceMap): boolean {
  if (a === undefined || a.size !== b.size) return false;
  for (const [name, bytes] of b) {
    const before = a.get(name);
    if (before === undefined || Buffer.compare(before, bytes) !== 0) return false;
  }
  return true;
}

/**
 * The ambient index: from each new mesh model, the Address and Authorization resources the
 * node tunnels need, as Istio's ambient index computes them, and the WaypointService each
 * waypoint runs (controlplane/waypoint). Listeners (the xDS server) get the full encoded set
 * of a type each time that set changes; the decoded messages stay available for tools
 * (`ambit x render`).
 */
export class AmbientIndex {
  private readonly options: AddressOptions;
  private readonly domainSuffix: string;
  private readonly logger: Logger;
  private readonly listeners = new Set<AmbientListener>();
  private currentModel: MeshModel | undefined;
  private addressMessages: ReadonlyMap<string, Address> = new Map();
  private authorizationMessages: ReadonlyMap<string, Authorization> = new Map();
  private waypointConfigs: ReadonlyMap<string, WaypointService> = new Map();
  private waypointFindings: readonly ModelIssue[] = [];
  private gatewayConfigs: ReadonlyMap<string, GatewayProxy> = new Map();
  private readonly encoded = new Map<TypeUrl, ResourceMap>();

  constructor(options: AmbientIndexOptions) {
    const { logger, domainSuffix, ...rest } = options;
    this.logger = logger;
    this.domainSuffix = domainSuffix ?? 'cluster.local';
    this.options = {
      clusterId: rest.clusterId ?? DEFAULT_ADDRESS_OPTIONS.clusterId,
      trustDomain: rest.trustDomain ?? DEFAULT_ADDRESS_OPTIONS.trustDomain,
      network: rest.network ?? DEFAULT_ADDRESS_OPTIONS.network,
      rootNamespace: rest.rootNamespace ?? DEFAULT_ADDRESS_OPTIONS.rootNamespace,
    };
  }

  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: AmbientListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Builds the model from the current config and recomputes; returns the model. */
  updateFromResources(resources: Iterable<AnyResource>): MeshModel {
    const model = buildModel(resources, {
      domainSuffix: this.domainSuffix,
      rootNamespace: this.options.rootNamespace,
    });
    this.update(model);
    return model;
  }

  /** Recomputes from a new model and tells listeners about each type that changed. */
  update(model: MeshModel): void {
    this.currentModel = model;
    this.addressMessages = computeAddresses(model, this.options);
    this.authorizationMessages = computeAuthorizations(model, this.options);
    const compiled = compileWaypointServices(model, this.options);
    this.waypointConfigs = compiled.services;
    const gateways = compileGateways(model, this.options);
    this.gatewayConfigs = gateways.gateways;
    this.waypointFindings = [...compiled.issues, ...gateways.issues];
    this.publish(
      ADDRESS_TYPE_URL,
      encode(this.addressMessages, (m) => toBinary(AddressSchema, m)),
    );
    this.publish(
      AUTHORIZATION_TYPE_URL,
      encode(this.authorizationMessages, (m) => toBinary(AuthorizationSchema, m)),
    );
    this.publish(
      WAYPOINT_SERVICE_TYPE_URL,
      encode(this.waypointConfigs, (c) => encodeWaypointService(c).value),
    );
    this.publish(
      MESH_CONFIG_TYPE_URL,
      new Map([[MESH_CONFIG_RESOURCE, encodeMeshConfig(model.mesh.spec).value]]),
    );
    this.publish(
      GATEWAY_PROXY_TYPE_URL,
      encode(this.gatewayConfigs, (c) => encodeGatewayProxy(c).value),
    );
  }

  /** The model last computed from, if any. */
  model(): MeshModel | undefined {
    return this.currentModel;
  }

  addresses(): ReadonlyMap<string, Address> {
    return this.addressMessages;
  }

  authorizations(): ReadonlyMap<string, Authorization> {
    return this.authorizationMessages;
  }

  /** Every waypoint's config, by `namespace/hostname` of the service. */
  waypointServices(): ReadonlyMap<string, WaypointService> {
    return this.waypointConfigs;
  }

  /** Every ingress gateway's config, by `namespace/serviceAccount/name` of its pod. */
  gatewayProxies(): ReadonlyMap<string, GatewayProxy> {
    return this.gatewayConfigs;
  }

  /** What the routing config asks for that the waypoints and gateways cannot serve. */
  waypointIssues(): readonly ModelIssue[] {
    return this.waypointFindings;
  }

  /** The encoded resources of one type as last published (empty before the first update). */
  resources(typeUrl: TypeUrl): ResourceMap {
    return this.encoded.get(typeUrl) ?? new Map();
  }

  private publish(typeUrl: TypeUrl, resources: ResourceMap): void {
    // The first computation is always published, even when empty: it is the initial state.
    if (this.encoded.has(typeUrl) && sameResources(this.encoded.get(typeUrl), resources)) return;
    this.encoded.set(typeUrl, resources);
    this.logger.debug({ typeUrl, resources: resources.size }, 'ambient resources changed');
    for (const listener of this.listeners) {
      try {
        listener(typeUrl, resources);
      } catch (err) {
        this.logger.error({ err, typeUrl }, 'ambient index listener failed');
      }
    }
  }
}
