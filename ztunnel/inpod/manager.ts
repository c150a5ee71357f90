import { closeSync } from 'node:fs';
import { identityOf, type TrustDomain } from '../../core/identity/spiffe.js';
import type { SecretManager } from '../../core/identity/secret-manager.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { EnrolledPod, PodUid } from './pod.js';
import { WorkloadProxy, type WorkloadProxyDeps } from './workload-proxy.js';

export interface PodDescription {
  readonly uid: PodUid;
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/**
 * The pods this node tunnel serves, as the node agent enrolled them. Adding a pod starts
 * its listeners and begins fetching its certificate; removing it drains them. A snapshot
 * from a (re)connected agent removes pods the agent no longer lists.
 */
export class PodManager {
  readonly #pods = new Map<PodUid, WorkloadProxy>();
  readonly #deps: WorkloadProxyDeps;
  readonly #secrets: SecretManager;
  readonly #trustDomain: TrustDomain;
  readonly #logger: Logger;
  readonly #drainMs: number;
  /** Drains of removed pods still under way. */
  readonly #draining = new Set<Promise<void>>();

  constructor(options: {
    deps: WorkloadProxyDeps;
    trustDomain: TrustDomain;
    logger: Logger;
    /** How long a removed pod's open tunnels may take to finish. */
    drainMs: number;
  }) {
    this.#deps = options.deps;
    this.#secrets = options.deps.secrets;
    this.#trustDomain = options.trustDomain;
    this.#logger = options.logger;
    this.#drainMs = options.drainMs;
  }

  /**
   * Takes ownership of `netns`. A pod already served keeps its listeners (an agent that
   * restarted sends every pod again), and the duplicate fd is closed.
   */
  async add(description: PodDescription, netns: number): Promise<void> {
    if (this.#pods.has(description.uid)) {
      closeSync(netns);
      return;
    }
    let identity;
    try {
      identity = identityOf({
        trustDomain: this.#trustDomain,
        namespace: description.namespace,
        serviceAccount: description.serviceAccount,
      });
    } catch (err) {
      closeSync(netns);
      throw err;
    }
    const pod: EnrolledPod = { ...description, identity, netns };
    const proxy = new WorkloadProxy(pod, this.#deps);
    await proxy.start();
    this.#pods.set(pod.uid, proxy);
    this.#secrets.track(identity);
    this.#logger.info(
      { workload: `${pod.namespace}/${pod.name}`, uid: pod.uid, identity },
      'pod enrolled',
    );
  }

  /**
   * Closes the pod's listeners at once and lets its open tunnels drain in the background:
   * the agent waits for this before it tears the pod down, and a drain may take the whole
   * deadline, longer than the agent should wait for an answer.
   */
  delete(uid: PodUid): void {
    const proxy = this.#pods.get(uid);
    if (!proxy) return;
    this.#pods.delete(uid);
    this.#secrets.untrack(proxy.pod.identity);
    const workload = `${proxy.pod.namespace}/${proxy.pod.name}`;
    this.#logger.info({ workload, uid }, 'pod removed');
    const started = Date.now();
    const drained = proxy
      .stop(this.#drainMs)
      .then(
        () => this.#logger.info({ workload, uid, tookMs: Date.now() - started }, 'pod drained'),
        (err: unknown) => this.#logger.warn({ err, workload, uid }, 'pod drain failed'),
      )
      .finally(() => this.#draining.delete(drained));
    this.#draining.add(drained);
  }

  /** After a snapshot: every pod the agent did not mention is gone. */
  retainOnly(uids: ReadonlySet<PodUid>): void {
    for (const uid of [...this.#pods.keys()]) if (!uids.has(uid)) this.delete(uid);
  }

  has(uid: PodUid): boolean {
    return this.#pods.has(uid);
  }

  pods(): EnrolledPod[] {
    return [...this.#pods.values()].map((proxy) => proxy.pod);
  }

  /**
   * Stops every pod's listeners and waits for their tunnels, and those of pods removed
   * earlier and still draining, up to the deadline.
   */
  async stopAll(deadlineMs: number): Promise<void> {
    const proxies = [...this.#pods.values()];
    this.#pods.clear();
    await Promise.all([...proxies.map((proxy) => proxy.stop(deadlineMs)), ...this.#draining]);
  }
}
