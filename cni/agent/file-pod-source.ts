import type { ResourceOf } from '../../api/resources/index.js';
import { ConfigView } from '../../core/config/config-view.js';
import { resourceKey } from '../../core/config/resource-key.js';
import type { ConfigSource } from '../../core/config/source.js';
import { podUid, type NamespaceInfo, type PodInfo, type PodSource } from './pod-source.js';

function podInfo(resource: ResourceOf<'Pod'>): PodInfo {
  const { metadata, spec, status } = resource;
  const podIP = status?.podIP ?? status?.podIPs?.[0]?.ip;
  return {
    ...(metadata.uid ? { uid: podUid(metadata.uid) } : {}),
    name: metadata.name,
    namespace: metadata.namespace ?? 'default',
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
    serviceAccount: spec.serviceAccountName,
    ...(podIP ? { podIP } : {}),
    hostNetwork: spec.hostNetwork ?? false,
  };
}

/**
 * Pods and namespaces from a config source (the watched directory the control plane reads
 * too): Pod objects carry `spec.nodeName` and `status.podIP` as the API server would.
 */
export class FilePodSource implements PodSource {
  private readonly view = new ConfigView();
  private readonly listeners = new Set<() => void>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly source: ConfigSource,
    private readonly nodeName: string,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.source.subscribe((event) => {
      // Any change may matter (a pod, its namespace); the reconciler's passes are cheap when
      // nothing it acts on moved.
      if (this.view.apply(event)) for (const listener of this.listeners) listener();
    });
    await this.source.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.source.stop();
  }

  pod(namespace: string, name: string): PodInfo | undefined {
    const found = this.view.get(resourceKey('Pod', namespace, name));
    if (found?.type !== 'Pod') return undefined;
    // The CNI call proves the sandbox is on this node; a Pod bound elsewhere is another pod.
    const node = found.spec.nodeName;
    if (node !== undefined && node !== this.nodeName) return undefined;
    return podInfo(found);
  }

  namespace(name: string): NamespaceInfo | undefined {
    const found = this.view.get(resourceKey('Namespace', '', name));
    if (found?.type !== 'Namespace') return undefined;
    return { name, labels: found.metadata.labels ?? {} };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
