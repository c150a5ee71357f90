import { errorCode } from '../../core/errors.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { Registry } from '../../core/telemetry/metrics.js';
import type { DeleteRequest, SandboxRequest, SandboxResponse } from '../plugin/protocol.js';
import { CniServer } from './cni-server.js';
import { createAgentMetrics } from './metrics.js';
import type { PodSource } from './pod-source.js';
import { Reconciler, type CaptureRules, type SandboxStatus } from './reconciler.js';
import { podName, sandboxOf } from './sandbox.js';
import { SandboxStore } from './sandbox-store.js';
import { ZdsServer } from './zds-server.js';

/** How often the agent looks for events the plugin recorded while it found no listener. */
const PENDING_POLL_MS = 1000;

export interface NodeAgentOptions {
  nodeName: string;
  pods: PodSource;
  rules: CaptureRules;
  /** Where sandboxes are remembered across restarts, and where the plugin leaves events. */
  stateDir: string;
  /** The plugin's HTTP endpoint (unix socket). */
  cniSocket: string;
  /** ztunnel's zds endpoint (unix SEQPACKET socket). */
  zdsSocket: string;
  logger: Logger;
  registry: Registry;
  zdsAckTimeoutMs?: number;
}

/**
 * The CNI node agent: learns of pod sandboxes from the CNI plugin, decides from the pod
 * source which belong in the mesh, captures their traffic and hands their netns to ztunnel.
 * A restarted agent picks up where it left off: the pods it enrolled stay enrolled, pods that
 * left the mesh meanwhile lose their rules, and no pod is restarted.
 */
export class NodeAgent {
  private readonly options: NodeAgentOptions;
  private readonly logger: Logger;
  private readonly store: SandboxStore;
  private readonly zds: ZdsServer;
  private readonly reconciler: Reconciler;
  private readonly cni: CniServer;
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private unsubscribe: (() => void) | undefined;
  /** Replays of the pending directory, one at a time so no event is applied twice. */
  private replaying: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private pendingPoll: NodeJS.Timeout | undefined;

  constructor(options: NodeAgentOptions) {
    this.options = options;
    this.logger = options.logger;
    const metrics = createAgentMetrics(options.registry);
    this.store = new SandboxStore(options.stateDir, options.logger);
    this.zds = new ZdsServer({
      path: options.zdsSocket,
      logger: options.logger.child({ part: 'zds' }),
      metrics,
      ...(options.zdsAckTimeoutMs === undefined ? {} : { ackTimeoutMs: options.zdsAckTimeoutMs }),
      onNetnsGone: () => this.reconcileInBackground(),
    });
    this.reconciler = new Reconciler({
      pods: options.pods,
      rules: options.rules,
      workloads: this.zds,
      persist: (sandboxes) => this.store.save(sandboxes),
      logger: options.logger,
      metrics,
    });
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    this.cni = new CniServer(
      options.cniSocket,
      {
        add: (request) => this.onAdd(request),
        del: (request) => this.onDel(request),
        check: (request) => this.onCheck(request),
      },
      options.logger.child({ part: 'cni' }),
    );
  }

  /**
   * Restores the sandboxes it knew, reads the pod source, replays events the plugin left,
   * reconciles everything, and only then lets ztunnel in: the first snapshot ztunnel gets is
   * complete, so a pod that stays enrolled is never dropped. CNI calls that arrive meanwhile
   * wait.
   */
  async start(): Promise<void> {
    this.reconciler.restore(await this.store.load());
    this.unsubscribe = this.options.pods.onChange(() => this.reconcileInBackground());
    await this.options.pods.start();
    await this.cni.listen();
    await this.replayPending();
    await this.reconciler.reconcile();
    this.zds.listen();
    this.markReady();
    // A plugin that found no listener just before cni.listen() may write its record after
    // the replay above; with no later CNI call on the node, only this finds it.
    this.pendingPoll = setInterval(() => {
      this.replayPending().catch((err: unknown) =>
        this.logger.error({ err, 'error.code': errorCode(err) }, 'replaying pending events failed'),
      );
    }, PENDING_POLL_MS);
    const statuses = this.reconciler.statuses();
    this.logger.info(
      {
        node: this.options.nodeName,
        sandboxes: statuses.length,
        enrolled: statuses.filter((s) => s.enrolled).length,
        cniSocket: this.options.cniSocket,
        zdsSocket: this.options.zdsSocket,
      },
      'cni agent ready',
    );
  }

  /** Stops serving; enrolled pods keep their rules. Later calls wait for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    clearInterval(this.pendingPoll);
    this.unsubscribe?.();
    await this.cni.close();
    await this.reconciler.drain();
    this.zds.close();
    await this.options.pods.stop();
  }

  statuses(): SandboxStatus[] {
    return this.reconciler.statuses();
  }

  /** Whether ztunnel is connected and being kept up to date. */
  ztunnelConnected(): boolean {
    return this.zds.connected();
  }

  /** A pass nobody waits for (a source change): a failure is logged, never thrown. */
  private reconcileInBackground(): void {
    this.reconciler.reconcile().catch((err: unknown) => {
      this.logger.error({ err, 'error.code': errorCode(err) }, 'reconcile pass failed');
    });
  }

  private async onAdd(request: SandboxRequest): Promise<SandboxResponse> {
    await this.ready;
    await this.replayPending();
    return this.reconciler.add(sandboxOf(request));
  }

  private async onDel(request: DeleteRequest): Promise<void> {
    await this.ready;
    await this.replayPending();
    await this.reconciler.delete(request.containerId);
  }

  private async onCheck(request: SandboxRequest): Promise<SandboxResponse> {
    await this.ready;
    return this.reconciler.check(sandboxOf(request));
  }

  /**
   * Applies the CNI events the plugin recorded while no agent answered, in order. Run at
   * start, before each CNI call and every PENDING_POLL_MS, which also catches a plugin that
   * found the socket closed just before this agent started listening.
   */
  private replayPending(): Promise<void> {
    this.replaying = this.replaying.catch(() => undefined).then(() => this.replayOnce());
    return this.replaying;
  }

  private async replayOnce(): Promise<void> {
    for (const event of await this.store.takePending()) {
      if (event.command === 'del') {
        await this.reconciler.delete(event.request.containerId);
        continue;
      }
      const sandbox = sandboxOf(event.request);
      try {
        const { enrolled } = await this.reconciler.add(sandbox);
        this.logger.info(
          { pod: podName(sandbox), uid: sandbox.uid, enrolled, recordedAt: event.at },
          'sandbox recorded while the agent was away is now known',
        );
      } catch (err) {
        this.logger.warn(
          { pod: podName(sandbox), err, 'error.code': errorCode(err) },
          'sandbox recorded while the agent was away could not be enrolled',
        );
      }
    }
  }
}
