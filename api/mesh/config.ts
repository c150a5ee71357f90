/**
 * Istio's MeshConfig: the mesh-wide settings users keep in the `mesh` key of the `istio`
 * ConfigMap in the root namespace. Only the fields Ambit acts on are checked; the many others
 * Istio defines are accepted and ignored, so an existing ConfigMap loads unchanged.
 *
 * The control plane resolves it once (defaults filled in) and serves it to every proxy as
 * `type.googleapis.com/ambit.mesh.v1.MeshConfig` (api/mesh/codec.ts).
 */
import { parse as parseYaml } from 'yaml';
import { parse, s } from '../schema/index.js';
import type { Infer, Issue } from '../schema/index.js';

/** The ConfigMap that holds it, in the root namespace, and its key (Istio's names). */
export const MESH_CONFIG_MAP = 'istio';
export const MESH_CONFIG_KEY = 'mesh';

const loose = { unknownFields: 'ignore' } as const;
const port = s.integer({ minimum: 1, maximum: 65535 });

/** A collector or sink named by Telemetry resources and `defaultProviders`. */
const extensionProvider = s
  .object(
    {
      name: s.string({ minLength: 1 }),
      zipkin: s
        .object({ service: s.string({ minLength: 1 }), port, path: s.string().optional() }, loose)
        .optional(),
      opentelemetry: s
        .object(
          {
            service: s.string({ minLength: 1 }),
            port,
            /** Present: OTLP over HTTP to `path` (Ambit exports OTLP/HTTP JSON only). */
            http: s.object({ path: s.string().optional() }, loose).optional(),
          },
          loose,
        )
        .optional(),
      envoyFileAccessLog: s.object({ path: s.string({ minLength: 1 }) }, loose).optional(),
      envoyExtAuthzHttp: s
        .object(
          {
            service: s.string({ minLength: 1 }),
            port,
            pathPrefix: s.string().optional(),
            includeRequestHeadersInCheck: s.array(s.string()).optional(),
            headersToUpstreamOnAllow: s.array(s.string()).optional(),
            headersToDownstreamOnDeny: s.array(s.string()).optional(),
          },
          loose,
        )
        .optional(),
    },
    loose,
  )
  .check((provider, ctx) => {
    const kinds = ['zipkin', 'opentelemetry', 'envoyFileAccessLog', 'envoyExtAuthzHttp'] as const;
    const given = kinds.filter((k) => provider[k] !== undefined);
    if (given.length > 1) ctx.issue('', `must set one provider, not ${given.join(' and ')}`);
  }, 'At most one provider kind per entry.');

export const OUTBOUND_TRAFFIC_MODES = ['ALLOW_ANY', 'REGISTRY_ONLY'] as const;
export const PATH_NORMALIZATIONS = [
  'DEFAULT',
  'NONE',
  'BASE',
  'MERGE_SLASHES',
  'DECODE_AND_MERGE_SLASHES',
] as const;

export const meshConfigSchema = s
  .object(
    {
      /** REGISTRY_ONLY: connections to destinations the registry does not know are refused. */
      outboundTrafficPolicy: s
        .object({ mode: s.enumOf(...OUTBOUND_TRAFFIC_MODES).optional() }, loose)
        .optional(),
      extensionProviders: s.array(extensionProvider).optional(),
      defaultProviders: s
        .object(
          {
            tracing: s.array(s.string()).optional(),
            accessLogging: s.array(s.string()).optional(),
            metrics: s.array(s.string()).optional(),
          },
          loose,
        )
        .optional(),
      enableTracing: s.boolean().optional(),
      /** Non-empty (Istio: `/dev/stdout`) turns on the access log of every proxy. */
      accessLogFile: s.string().optional(),
      accessLogEncoding: s.enumOf('TEXT', 'JSON').optional(),
      defaultConfig: s
        .object(
          {
            tracing: s
              .object({ sampling: s.number({ minimum: 0, maximum: 100 }).optional() }, loose)
              .optional(),
          },
          loose,
        )
        .optional(),
      pathNormalization: s
        .object({ normalization: s.enumOf(...PATH_NORMALIZATIONS).optional() }, loose)
        .optional(),
    },
    loose,
  )
  .check((mesh, ctx) => {
    const seen = new Set<string>();
    (mesh.extensionProviders ?? []).forEach((p, i) => {
      if (seen.has(p.name)) ctx.issue(`extensionProviders[${i}].name`, `repeats "${p.name}"`);
      seen.add(p.name);
    });
    for (const [kind, names] of Object.entries(mesh.defaultProviders ?? {})) {
      (names as string[]).forEach((name, i) => {
        if (!seen.has(name))
          ctx.issue(
            `defaultProviders.${kind}[${i}]`,
            `names no entry of extensionProviders ("${name}")`,
          );
      });
    }
  }, 'Provider names are unique; defaultProviders name extensionProviders.');

/** MeshConfig as written (only the fields Ambit reads). */
export type MeshConfigSpec = Infer<typeof meshConfigSchema>;
export type ExtensionProvider = Infer<typeof extensionProvider>;
export type OutboundTrafficMode = (typeof OUTBOUND_TRAFFIC_MODES)[number];
export type PathNormalization = Exclude<(typeof PATH_NORMALIZATIONS)[number], 'DEFAULT'>;

/** MeshConfig with every default resolved: what proxies are served. */
export interface MeshConfig {
  readonly outboundTrafficPolicy: { readonly mode: OutboundTrafficMode };
  readonly extensionProviders: readonly ExtensionProvider[];
  readonly defaultProviders: {
    readonly tracing: readonly string[];
    readonly accessLogging: readonly string[];
    readonly metrics: readonly string[];
  };
  readonly enableTracing: boolean;
  readonly accessLogFile: string;
  readonly accessLogEncoding: 'TEXT' | 'JSON';
  /** Percent of requests traced when nothing else says (Istio's default 1 %). */
  readonly tracingSampling: number;
  /**
   * How request paths are normalized before routing and authorization. Istio's default is
   * BASE; Ambit's is DECODE_AND_MERGE_SLASHES, so `//admin` and `/%2Fadmin` cannot slip past
   * a policy on `/admin` (Istio's own security advice, made the default).
   */
  readonly pathNormalization: PathNormalization;
}

/** Istio's defaults, except path normalization (see MeshConfig.pathNormalization). */
export const DEFAULT_MESH_CONFIG: MeshConfig = {
  outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
  extensionProviders: [],
  defaultProviders: { tracing: [], accessLogging: [], metrics: [] },
  enableTracing: true,
  accessLogFile: '',
  accessLogEncoding: 'TEXT',
  tracingSampling: 1,
  pathNormalization: 'DECODE_AND_MERGE_SLASHES',
};

/** Fills in the defaults of a MeshConfig as written. */
export function resolveMeshConfig(spec: MeshConfigSpec): MeshConfig {
  const d = DEFAULT_MESH_CONFIG;
  const normalization = spec.pathNormalization?.normalization;
  return {
    outboundTrafficPolicy: { mode: spec.outboundTrafficPolicy?.mode ?? 'ALLOW_ANY' },
    extensionProviders: spec.extensionProviders ?? [],
    defaultProviders: {
      tracing: spec.defaultProviders?.tracing ?? [],
      accessLogging: spec.defaultProviders?.accessLogging ?? [],
      metrics: spec.defaultProviders?.metrics ?? [],
    },
    enableTracing: spec.enableTracing ?? d.enableTracing,
    accessLogFile: spec.accessLogFile ?? d.accessLogFile,
    accessLogEncoding: spec.accessLogEncoding ?? d.accessLogEncoding,
    tracingSampling: spec.defaultConfig?.tracing?.sampling ?? d.tracingSampling,
    pathNormalization:
      normalization === undefined || normalization === 'DEFAULT'
        ? d.pathNormalization
        : normalization,
  };
}

export type MeshConfigParse =
  | { readonly ok: true; readonly spec: MeshConfigSpec; readonly value: MeshConfig }
  | { readonly ok: false; readonly issues: Issue[] };

/** Checks a MeshConfig as written (YAML already read, or JSON off the wire) and resolves it. */
export function checkMeshConfig(document: unknown): MeshConfigParse {
  const parsed = parse(meshConfigSchema, document);
  return parsed.ok
    ? { ok: true, spec: parsed.value, value: resolveMeshConfig(parsed.value) }
    : parsed;
}

/** Reads the `mesh` key's YAML text; issues carry paths inside it. */
export function parseMeshConfig(text: string): MeshConfigParse {
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (err) {
    return { ok: false, issues: [{ path: '', reason: `is not YAML: ${(err as Error).message}` }] };
  }
  return checkMeshConfig(document);
}
