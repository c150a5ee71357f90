/**
 * Every kind the mesh reads, and the lookup from a document's (apiVersion, kind) to its
 * definition. The kinds are declared beside their schemas; this file only gathers them.
 */
import { definitions as gatewayApiDefinitions } from './gateway-api.js';
import { definitions as kubernetesDefinitions } from './kubernetes.js';
import { definitions as networkingDefinitions } from './networking.js';
import { definitions as securityDefinitions } from './security.js';
import { definitions as telemetryDefinitions } from './telemetry.js';
import type { ResourceDefinition, ResourceType } from './types.js';

export type { ResourceDefinition, NameFormat } from './types.js';

/** Splits "group/version" ("networking.istio.io/v1") or a core "version" ("v1"). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  if (slash < 0) return { group: '', version: apiVersion };
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** "group/version", or "version" for the core group. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export class ResourceRegistry {
  private readonly byGroupKind = new Map<string, ResourceDefinition>();
  private readonly byTypeName = new Map<ResourceType, ResourceDefinition>();

  constructor(readonly definitions: readonly ResourceDefinition[]) {
    for (const def of definitions) {
      this.byGroupKind.set(`${def.group}/${def.kind}`, def);
      this.byTypeName.set(def.type, def);
    }
  }

  /** The definition serving (apiVersion, kind), or undefined. */
  lookup(apiVersion: string, kind: string): ResourceDefinition | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    const def = this.byGroupKind.get(`${group}/${kind}`);
    return def !== undefined && def.versions.includes(version) ? def : undefined;
  }

  /** Every definition whose kind is `kind`, whatever its group (for error messages). */
  withKind(kind: string): ResourceDefinition[] {
    return this.definitions.filter((d) => d.kind === kind);
  }

  /** The definition of a resource type, when this registry holds it. */
  byType(type: ResourceType): ResourceDefinition | undefined {
    return this.byTypeName.get(type);
  }
}

/** Every kind, in a stable order: Kubernetes, networking, security, Gateway API, telemetry. */
export const definitions: readonly ResourceDefinition[] = [
  ...kubernetesDefinitions,
  ...networkingDefinitions,
  ...securityDefinitions,
  ...gatewayApiDefinitions,
  ...telemetryDefinitions,
];

export const registry = new ResourceRegistry(definitions);

/** The definition serving (apiVersion, kind) among all kinds the mesh reads. */
export function definitionFor(apiVersion: string, kind: string): ResourceDefinition | undefined {
  return registry.lookup(apiVersion, kind);
}
