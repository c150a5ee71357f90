import type { MeshConfig } from './config.js';

/** Istio's built-in access log provider: Envoy's file log to /dev/stdout. */
export const BUILTIN_ACCESS_LOG_PROVIDER = 'envoy';

/** The provider named `name` writes a file access log (the built-in `envoy` one included). */
export function isFileAccessLog(mesh: MeshConfig, name: string): boolean {
  return (
    name === BUILTIN_ACCESS_LOG_PROVIDER ||
    mesh.extensionProviders.some((p) => p.name === name && p.envoyFileAccessLog !== undefined)
  );
}

/**
 * MeshConfig alone turns proxies' access logs on: a non-empty `accessLogFile`, or a file
 * provider among `defaultProviders.accessLogging` (Istio's two ways).
 */
export function meshAccessLogOn(mesh: MeshConfig): boolean {
  return (
    mesh.accessLogFile !== '' ||
    mesh.defaultProviders.accessLogging.some((name) => isFileAccessLog(mesh, name))
  );
}
