import { closeSync } from 'node:fs';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  Version,
  WorkloadRequestSchema,
  WorkloadResponseSchema,
  ZdsHelloSchema,
  type WorkloadRequest,
} from '../../api/gen/istio/workload/zds/zds_pb.js';
import { MeshError } from '../../core/errors.js';
import { SeqpacketSocket } from '../../core/net/seqpacket.js';
import { Backoff } from '../../core/xds/backoff.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { PodManager } from './manager.js';
import type { PodUid } from './pod.js';

export class ZdsProtocolError extends MeshError {
  readonly code = 'AMBIT_ZDS_PROTOCOL';
}

/**
 * The node tunnel's side of the enrollment protocol (Istio's zds): connects to the node
 * agent's SEQPACKET socket, says hello, then applies each add / keep / del / snapshot-sent
 * message and acknowledges it (with the error text when it failed). Reconnects with
 * backoff; after a reconnect the agent's snapshot replaces what the tunnel held.
 */
export class ZdsClient {
  readonly #path: string;
  readonly #pods: PodManager;
  readonly #logger: Logger;
  readonly #backoff = new Backoff({ initialMs: 100, maxMs: 5_000 });
  #socket: SeqpacketSocket | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** Pods named since this connection began, until its snapshot is complete. */
  #seen = new Set<PodUid>();
  #synced = false;
  /** Messages are applied one at a time, in order. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: { path: string; pods: PodManager; logger: Logger }) {
    this.#path = options.path;
    this.#pods = options.pods;
    this.#logger = options.logger;
  }

  /** Connected, and the agent's snapshot of this connection has been applied. */
  get ready(): boolean {
    return this.#socket !== undefined && this.#synced;
  }

  start(): void {
    void this.#connect();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#socket?.close();
    this.#socket = undefined;
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let socket: SeqpacketSocket;
    try {
      socket = await SeqpacketSocket.connect(this.#path);
    } catch (err) {
      this.#scheduleReconnect(err);
      return;
    }
    if (this.#closed) {
      socket.close();
      return;
    }
    this.#socket = socket;
    this.#seen = new Set();
    this.#synced = false;
    socket.on('message', (data: Buffer, fds: number[]) => {
      this.#queue = this.#queue.then(() => this.#onMessage(socket, data, fds));
    });
    socket.once('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
      this.#scheduleReconnect(new ZdsProtocolError('the node agent closed the connection'));
    });
    socket.on('error', (err: Error) => this.#logger.warn({ err }, 'enrollment channel error'));
    socket.send(toBinary(ZdsHelloSchema, create(ZdsHelloSchema, { version: Version.V1 })));
    this.#logger.info({ socket: this.#path }, 'connected to the node agent');
  }

  #scheduleReconnect(cause: unknown): void {
    if (this.#closed) return;
    this.#synced = false;
    const delay = this.#backoff.next();
    this.#logger.warn({ err: cause, retryInMs: delay }, 'node agent unreachable; retrying');
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#connect(), delay);
  }

  async #onMessage(socket: SeqpacketSocket, data: Buffer, fds: number[]): Promise<void> {
    let error = '';
    let request: WorkloadRequest | undefined;
    try {
      request = fromBinary(WorkloadRequestSchema, data);
      await this.#apply(request.payload, fds);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      this.#logger.warn({ err }, 'enrollment message failed');
    } finally {
      // An add hands its first fd to the pod manager, which owns it from then on; any other
      // fd the message carried is ours to close.
      const handed = request?.payload.case === 'add' ? 1 : 0;
      for (const fd of fds.slice(handed)) closeSync(fd);
    }
    if (socket !== this.#socket) return;
    const ack = create(WorkloadResponseSchema, { payload: { case: 'ack', value: { error } } });
    try {
      socket.send(toBinary(WorkloadResponseSchema, ack));
    } catch (err) {
      // The agent gave up on this connection (it closed it, say, after an ack came late):
      // its 'close' follows and reconnects, and the snapshot it sends then is the truth.
      this.#logger.warn({ err }, 'could not acknowledge an enrollment message');
      socket.close();
    }
  }

  async #apply(payload: WorkloadRequest['payload'], fds: number[]): Promise<void> {
    switch (payload.case) {
      case 'add': {
        const { uid, workloadInfo } = payload.value;
        const netns = fds[0];
        if (netns === undefined) throw new ZdsProtocolError(`add ${uid}: no network namespace fd`);
        if (!uid || !workloadInfo) {
          closeSync(netns);
          // closed here: the manager never saw it
          throw new ZdsProtocolError('add: uid and workload_info are required');
        }
        this.#seen.add(uid as PodUid);
        await this.#pods.add(
          {
            uid: uid as PodUid,
            name: workloadInfo.name,
            namespace: workloadInfo.namespace,
            serviceAccount: workloadInfo.serviceAccount || 'default',
          },
          netns,
        );
        return;
      }
      case 'keep': {
        const uid = payload.value.uid as PodUid;
        if (!this.#pods.has(uid))
          throw new ZdsProtocolError(`keep ${uid}: the node tunnel does not serve this pod`);
        this.#seen.add(uid);
        return;
      }
      case 'del':
        this.#pods.delete(payload.value.uid as PodUid);
        return;
      case 'snapshotSent':
        this.#pods.retainOnly(this.#seen);
        this.#synced = true;
        this.#backoff.reset();
        this.#logger.info({ pods: this.#seen.size }, 'enrollment snapshot applied');
        return;
      default:
        throw new ZdsProtocolError('unknown enrollment message');
    }
  }
}
