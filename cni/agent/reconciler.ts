import { existsSync } from 'node:fs';
import { errorCode } from '../../core/errors.js';
import type { Logger } from '../../core/telemetry/log.js';
import { shouldEnroll } from './enrollment.js';
import { EnrollmentError, SandboxCheckError } from './errors.js';
import type { AgentMetrics, EnrollmentFailureReason } from './metrics.js';
import type { PodInfo, PodSource, PodUid } from './pod-source.js';
import { podName, type Sandbox } from './sandbox.js';
import { sameWorkload, type WorkloadPublisher, type ZdsWorkload } from './workload.js';

/** The capture rules in a pod's netns (cni/rules). */
export interface CaptureRules {
  installCapture(netnsPath: string): Promise<void>;
  removeCapture(netnsPath: string): Promise<void>;
  captureState(netnsPath: string): Promise<'installed' | 'absent' | 'partial'>;
}

export interface ReconcilerOptions {
  pods: Pick<PodSource, 'pod' | 'namespace'>;
  rules: CaptureRules;
  workloads: WorkloadPublisher;
  /** Saves the sandbox list after it changed. */
  persist: (sandboxes: readonly Sandbox[]) => Promise<void>;
  logger: Logger;
  metrics: AgentMetrics;
  /** Whether a netns path still exists; tests may stand in for the file system. */
  netnsExists?: (path: string) => boolean;
}

/** What the agent knows of one sandbox beyond the CNI record. */
interface Tracked {
  sandbox: Sandbox;
  /** Whether the capture rules are in the netns; undefined until the agent has made sure. */
  captured: boolean | undefined;
  /** What ztunnel was last told about the pod, if it was told to serve it. */
  published: ZdsWorkload | undefined;
  /** Why the last attempt to enroll failed (a pod that belongs in the mesh). */
  failure: string | undefined;
}

type Outcome = 'enrolled' | 'not-enrolled' | 'failed' | 'forgotten';

export interface SandboxStatus {
  readonly sandbox: Sandbox;
  /** The pod's object has been read from the pod source (a sandbox can come first). */
  readonly podKnown: boolean;
  readonly enrolled: boolean;
  readonly failure?: string;
}

/**
 * Brings every known sandbox to the state its pod's enrollment asks for: enrolled ⇒ capture
 * rules in its netns, then ztunnel told to serve it; not enrolled ⇒ rules removed, then
 * ztunnel told to stop. Every operation runs alone, in order (CNI events, source changes,
 * the start-up pass), so two passes never race on one netns. A sandbox whose netns is gone
 * is forgotten.
 */
export class Reconciler {
  private readonly pods: ReconcilerOptions['pods'];
  private readonly rules: CaptureRules;
  private readonly workloads: WorkloadPublisher;
  private readonly persist: ReconcilerOptions['persist'];
  private readonly logger: Logger;
  private readonly metrics: AgentMetrics;
  private readonly netnsExists: (path: string) => boolean;

  private readonly tracked = new Map<PodUid, Tracked>();
  private tail: Promise<unknown> = Promise.resolve();
  /** A full pass queued and not yet started; later requests share it. */
  private queuedPass: Promise<void> | undefined;
  private changed = false;

  constructor(options: ReconcilerOptions) {
    this.pods = options.pods;
    this.rules = options.rules;
    this.workloads = options.workloads;
    this.persist = options.persist;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.netnsExists = options.netnsExists ?? existsSync;
  }

  /**
   * Sandboxes known before this process started. Their rules and ztunnel's view are unknown,
   * so the next pass installs or removes rules for each, whatever it finds.
   */
  restore(sandboxes: readonly Sandbox[]): void {
    for (const sandbox of sandboxes) {
      this.tracked.set(sandbox.uid, {
        sandbox,
        captured: undefined,
        published: undefined,
        failure: undefined,
      });
    }
  }

  /** Brings every sandbox to its wanted state. Requests made while one waits share it. */
  reconcile(): Promise<void> {
    this.queuedPass ??= this.serially(async () => {
      this.queuedPass = undefined;
      for (const t of [...this.tracked.values()]) await this.converge(t);
    });
    return this.queuedPass;
  }

  /**
   * A new sandbox (CNI ADD): recorded, then enrolled if its pod belongs in the mesh. Resolves
   * with whether it was; rejects with EnrollmentError when it belongs but could not be.
   */
  add(sandbox: Sandbox): Promise<{ enrolled: boolean }> {
    return this.serially(async () => {
      const before = this.tracked.get(sandbox.uid);
      const same = before?.sandbox.containerId === sandbox.containerId;
      const t: Tracked = {
        sandbox,
        // A fresh netns has no rules; a repeated ADD of one sandbox keeps what is known.
        captured: same && before?.sandbox.netns === sandbox.netns ? before.captured : false,
        // Kept so that ztunnel is told when the pod's netns changed under the same uid.
        published: before?.published,
        failure: undefined,
      };
      this.tracked.set(sandbox.uid, t);
      this.changed = true;
      const outcome = await this.converge(t);
      if (outcome === 'forgotten')
        throw new EnrollmentError(podName(sandbox), 'its network namespace does not exist');
      // Only a pod that belongs in the mesh fails its ADD; a failed clean-up of one that does
      // not is retried on the next pass.
      if (outcome === 'failed' && t.failure !== undefined) {
        await this.unpublish(t);
        this.drop(t);
        throw new EnrollmentError(podName(sandbox), t.failure);
      }
      return { enrolled: outcome === 'enrolled' };
    });
  }

  /** CNI DEL: forgets the sandbox with this container id, if any. Never fails. */
  delete(containerId: string): Promise<void> {
    return this.serially(async () => {
      const t = [...this.tracked.values()].find((x) => x.sandbox.containerId === containerId);
      if (t === undefined) return;
      // The runtime destroys the netns next, and the rules with it.
      await this.unpublish(t);
      this.drop(t);
      this.logger.info(
        { pod: podName(t.sandbox), uid: t.sandbox.uid, containerId },
        'sandbox deleted',
      );
    });
  }

  /** CNI CHECK: the sandbox is known, and its rules are what its enrollment asks for. */
  check(sandbox: Sandbox): Promise<{ enrolled: boolean }> {
    return this.serially(async () => {
      const t = this.tracked.get(sandbox.uid);
      if (t === undefined || t.sandbox.containerId !== sandbox.containerId)
        throw new SandboxCheckError(`sandbox ${sandbox.containerId} is unknown to the node agent`);
      const enrolled = this.wanted(t.sandbox) !== undefined;
      const state = await this.rules.captureState(t.sandbox.netns);
      if (state !== (enrolled ? 'installed' : 'absent')) {
        throw new SandboxCheckError(
          `capture rules are ${state} but the pod is ${enrolled ? '' : 'not '}enrolled`,
        );
      }
      return { enrolled };
    });
  }

  /** Every known sandbox and whether its traffic is captured, for logs and debug pages. */
  statuses(): SandboxStatus[] {
    return [...this.tracked.values()].map((t) => ({
      sandbox: t.sandbox,
      podKnown: this.pods.pod(t.sandbox.pod.namespace, t.sandbox.pod.name) !== undefined,
      enrolled: t.captured === true && t.published !== undefined,
      ...(t.failure === undefined ? {} : { failure: t.failure }),
    }));
  }

  /** Resolves once every operation queued so far has finished. */
  async drain(): Promise<void> {
    await this.tail;
  }

  enrolledCount(): number {
    return this.statuses().filter((s) => s.enrolled).length;
  }

  private serially<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      try {
        return await job();
      } finally {
        await this.settle();
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** After each operation: save the list if it changed, refresh the gauge. */
  private async settle(): Promise<void> {
    this.metrics.enrolledPods.set(this.enrolledCount());
    if (!this.changed) return;
    this.changed = false;
    try {
      await this.persist([...this.tracked.values()].map((t) => t.sandbox));
    } catch (err) {
      // The sandboxes stay known in memory; the next change tries again.
      this.changed = true;
      this.logger.error({ err, 'error.code': errorCode(err) }, 'saving sandboxes failed');
    }
  }

  /** The pod a sandbox belongs to, when it belongs in the mesh. */
  private wanted(sandbox: Sandbox): PodInfo | undefined {
    const pod = this.pods.pod(sandbox.pod.namespace, sandbox.pod.name);
    // A pod of the same name with another uid is a new pod; this sandbox is the old one's.
    if (pod === undefined || (pod.uid !== undefined && pod.uid !== sandbox.uid)) return undefined;
    return shouldEnroll(pod, this.pods.namespace(sandbox.pod.namespace)) ? pod : undefined;
  }

  private async converge(t: Tracked): Promise<Outcome> {
    if (!this.netnsExists(t.sandbox.netns)) {
      const fields = { pod: podName(t.sandbox), uid: t.sandbox.uid, netns: t.sandbox.netns };
      // A pod that belongs in the mesh losing its netns is an enrollment failure; one that
      // does not is just a sandbox that went away.
      if (this.wanted(t.sandbox) !== undefined) {
        this.countFailure('netns_gone');
        this.logger.warn(fields, 'network namespace of a mesh pod is gone; forgetting it');
      } else {
        this.logger.info(fields, 'sandbox network namespace is gone; forgetting it');
      }
      await this.unpublish(t);
      this.drop(t);
      return 'forgotten';
    }
    const pod = this.wanted(t.sandbox);
    return pod === undefined ? this.unenroll(t) : this.enroll(t, pod);
  }

  private async enroll(t: Tracked, pod: PodInfo): Promise<Outcome> {
    const { sandbox } = t;
    if (t.captured !== true) {
      try {
        await this.rules.installCapture(sandbox.netns);
      } catch (err) {
        return this.failed(t, err, 'installing capture rules', true);
      }
      t.captured = true;
    }
    const workload: ZdsWorkload = {
      uid: sandbox.uid,
      name: sandbox.pod.name,
      namespace: sandbox.pod.namespace,
      serviceAccount: pod.serviceAccount,
      netns: sandbox.netns,
    };
    if (!sameWorkload(t.published, workload)) {
      await this.workloads.add(workload);
      t.published = workload;
      this.logger.info(
        { pod: podName(sandbox), uid: sandbox.uid, ips: sandbox.ips, netns: sandbox.netns },
        'pod enrolled',
      );
    }
    t.failure = undefined;
    return 'enrolled';
  }

  private async unenroll(t: Tracked): Promise<Outcome> {
    if (t.captured !== false) {
      try {
        await this.rules.removeCapture(t.sandbox.netns);
      } catch (err) {
        return this.failed(t, err, 'removing capture rules', false);
      }
      if (t.captured === true)
        this.logger.info({ pod: podName(t.sandbox), uid: t.sandbox.uid }, 'pod left the mesh');
      t.captured = false;
    }
    await this.unpublish(t);
    t.failure = undefined;
    return 'not-enrolled';
  }

  private async failed(
    t: Tracked,
    err: unknown,
    doing: string,
    enrolling: boolean,
  ): Promise<Outcome> {
    const fields = {
      pod: podName(t.sandbox),
      uid: t.sandbox.uid,
      netns: t.sandbox.netns,
      err,
      'error.code': errorCode(err),
    };
    if (!this.netnsExists(t.sandbox.netns)) {
      this.countFailure('netns_gone');
      this.logger.warn(fields, `network namespace vanished while ${doing}; forgetting the sandbox`);
      await this.unpublish(t);
      this.drop(t);
      return 'forgotten';
    }
    this.countFailure('capture_rules');
    this.logger.error(fields, `${doing} failed; retried on the next change`);
    t.captured = undefined;
    t.failure = enrolling ? `${doing} failed: ${(err as Error).message ?? String(err)}` : undefined;
    return 'failed';
  }

  private async unpublish(t: Tracked): Promise<void> {
    if (t.published === undefined) return;
    t.published = undefined;
    await this.workloads.del(t.sandbox.uid);
  }

  private drop(t: Tracked): void {
    if (this.tracked.get(t.sandbox.uid) === t) {
      this.tracked.delete(t.sandbox.uid);
      this.changed = true;
    }
  }

  private countFailure(reason: EnrollmentFailureReason): void {
    this.metrics.enrollmentFailures.inc({ reason });
  }
}
