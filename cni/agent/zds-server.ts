import { create, fromBinary, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import { closeSync, constants, openSync } from 'node:fs';
import {
  Version,
  WorkloadRequestSchema,
  WorkloadResponseSchema,
  ZdsHelloSchema,
} from '../../api/gen/istio/workload/zds/zds_pb.js';
import { errorCode } from '../../core/errors.js';
import { SeqpacketServer, type SeqpacketSocket } from '../../core/net/seqpacket.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { AgentMetrics } from './metrics.js';
import type { PodUid } from './pod-source.js';
import { sameWorkload, type WorkloadPublisher, type ZdsWorkload } from './workload.js';

const DEFAULT_ACK_TIMEOUT_MS = 5000;

export interface ZdsServerOptions {
  /** The SEQPACKET socket ztunnel connects to. */
  path: string;
  logger: Logger;
  metrics: AgentMetrics;
  /** How long ztunnel may take to ack one message before the connection is dropped. */
  ackTimeoutMs?: number;
  /** A pod's netns could not be opened for ztunnel: the agent should look at it again. */
  onNetnsGone?: (uid: PodUid) => void;
}

type Payload = NonNullable<MessageInitShape<typeof WorkloadRequestSchema>['payload']>;

/** One ztunnel connection and what it has been told. */
interface Connection {
  readonly socket: SeqpacketSocket;
  readonly id: number;
  state: 'hello' | 'syncing' | 'closed';
  /** What this ztunnel serves, as far as the agent told it. */
  readonly sent: Map<PodUid, ZdsWorkload>;
  /** The message in flight, waiting for its ack. */
  waiter: ((error: string | Error) => void) | undefined;
  /** Messages go out one at a time, each after the previous ack. */
  tail: Promise<void>;
  /** A pass queued and not started; callers arriving meanwhile share it. */
  next: Promise<void> | undefined;
}

class ConnectionClosedError extends Error {
  readonly code = 'AMBIT_ZDS_CLOSED';
}

/**
 * The agent's end of Istio's zds protocol. ztunnel connects and says ZdsHello; the agent then
 * sends AddWorkload for every enrolled pod (with its netns fd as SCM_RIGHTS) and SnapshotSent,
 * and afterwards AddWorkload/DelWorkload as pods come and go. Each message waits for ztunnel's
 * ack before the next. One ztunnel at a time: a new connection replaces the old one (a
 * restarted ztunnel), and gets the full snapshot.
 */
export class ZdsServer implements WorkloadPublisher {
  private readonly options: ZdsServerOptions;
  private readonly logger: Logger;
  private readonly ackTimeoutMs: number;
  /** Every pod ztunnel should serve. */
  private readonly desired = new Map<PodUid, ZdsWorkload>();
  private server: SeqpacketServer | undefined;
  private connection: Connection | undefined;
  private connections = 0;

  constructor(options: ZdsServerOptions) {
    this.options = options;
    this.logger = options.logger;
    this.ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  }

  /** Starts listening. Call it once the desired set is complete: the first snapshot is final. */
  listen(): void {
    this.server = SeqpacketServer.listen(this.options.path);
    this.server.on('connection', (socket) => this.accept(socket));
    this.server.on('error', (err) =>
      this.logger.error({ err, 'error.code': errorCode(err) }, 'zds socket failed'),
    );
    this.logger.info({ path: this.options.path }, 'zds server listening');
  }

  add(workload: ZdsWorkload): Promise<void> {
    this.desired.set(workload.uid, workload);
    return this.sync();
  }

  del(uid: PodUid): Promise<void> {
    this.desired.delete(uid);
    return this.sync();
  }

  /** Whether a ztunnel has said hello and is being kept up to date. */
  connected(): boolean {
    return this.connection !== undefined && this.connection.state !== 'hello';
  }

  close(): void {
    this.server?.close();
    this.server = undefined;
    if (this.connection !== undefined) this.drop(this.connection);
  }

  private accept(socket: SeqpacketSocket): void {
    const previous = this.connection;
    const conn: Connection = {
      socket,
      id: ++this.connections,
      state: 'hello',
      sent: new Map(),
      waiter: undefined,
      tail: Promise.resolve(),
      next: undefined,
    };
    this.connection = conn;
    if (previous !== undefined) {
      this.logger.info({ connection: conn.id }, 'new ztunnel connection replaces the previous one');
      this.drop(previous);
    }
    this.options.metrics.ztunnelConnected.set(1);
    socket.on('message', (data, fds) => this.onMessage(conn, data, fds));
    socket.on('close', () => this.drop(conn));
    socket.on('error', (err) => {
      this.logger.warn(
        { connection: conn.id, err, 'error.code': errorCode(err) },
        'zds connection failed',
      );
      this.drop(conn);
    });
  }

  private drop(conn: Connection): void {
    if (conn.state === 'closed') return;
    conn.state = 'closed';
    conn.waiter?.(new ConnectionClosedError('ztunnel connection closed'));
    conn.socket.close();
    if (this.connection === conn) {
      this.connection = undefined;
      this.options.metrics.ztunnelConnected.set(0);
      this.logger.info({ connection: conn.id }, 'ztunnel disconnected');
    }
  }

  private onMessage(conn: Connection, data: Buffer, fds: number[]): void {
    // ztunnel never sends fds; any that come are ours to close.
    for (const fd of fds) closeSync(fd);
    if (conn.state === 'hello') {
      this.onHello(conn, data);
      return;
    }
    const waiter = conn.waiter;
    let error: string;
    try {
      const response = fromBinary(WorkloadResponseSchema, data);
      if (response.payload.case !== 'ack') throw new Error('not an ack');
      error = response.payload.value.error;
    } catch (err) {
      this.badMessage(conn, err);
      return;
    }
    if (waiter === undefined) {
      this.badMessage(conn, new Error('an ack with no request in flight'));
      return;
    }
    conn.waiter = undefined;
    waiter(error);
  }

  private onHello(conn: Connection, data: Buffer): void {
    let version: Version;
    try {
      version = fromBinary(ZdsHelloSchema, data).version;
    } catch (err) {
      this.badMessage(conn, err);
      return;
    }
    if (version !== Version.V1)
      this.logger.warn({ connection: conn.id, version }, 'ztunnel speaks an unknown zds version');
    conn.state = 'syncing';
    this.logger.info({ connection: conn.id }, 'ztunnel connected; sending snapshot');
    this.enqueue(conn, async () => {
      await this.pass(conn);
      await this.request(conn, { case: 'snapshotSent', value: {} });
      this.logger.info(
        { connection: conn.id, workloads: conn.sent.size },
        'snapshot sent to ztunnel',
      );
    });
  }

  private badMessage(conn: Connection, err: unknown): void {
    this.options.metrics.zdsErrors.inc({ reason: 'bad_message' });
    this.logger.warn(
      { connection: conn.id, err, 'error.code': errorCode(err) },
      'unreadable message from ztunnel; dropping the connection',
    );
    this.drop(conn);
  }

  /** Brings the current connection up to date; settles when it is (or is gone). */
  private sync(): Promise<void> {
    const conn = this.connection;
    // Before hello there is nothing to do: the snapshot will carry the current set.
    if (conn === undefined || conn.state !== 'syncing') return Promise.resolve();
    conn.next ??= this.enqueue(conn, async () => {
      conn.next = undefined;
      await this.pass(conn);
    });
    return conn.next;
  }

  private enqueue(conn: Connection, job: () => Promise<void>): Promise<void> {
    const run = conn.tail.then(job).catch((err: unknown) => {
      if (err instanceof ConnectionClosedError) return;
      this.logger.warn(
        { connection: conn.id, err, 'error.code': errorCode(err) },
        'zds exchange failed',
      );
    });
    conn.tail = run;
    return run;
  }

  /** Tells ztunnel the difference between what it serves and what it should. */
  private async pass(conn: Connection): Promise<void> {
    for (const [uid, sent] of conn.sent) {
      if (sameWorkload(this.desired.get(uid), sent)) continue;
      await this.request(conn, { case: 'del', value: { uid } });
      conn.sent.delete(uid);
    }
    for (const [uid, workload] of this.desired) {
      if (conn.sent.has(uid)) continue;
      let fd: number;
      try {
        // Node opens every file with O_CLOEXEC already (libuv), so no other process inherits it.
        fd = openSync(workload.netns, constants.O_RDONLY);
      } catch (err) {
        this.options.metrics.enrollmentFailures.inc({ reason: 'netns_gone' });
        this.logger.warn(
          { uid, netns: workload.netns, 'error.code': errorCode(err) },
          'pod network namespace cannot be opened for ztunnel',
        );
        this.options.onNetnsGone?.(uid);
        continue;
      }
      const error = await this.request(
        conn,
        {
          case: 'add',
          value: {
            uid,
            workloadInfo: {
              name: workload.name,
              namespace: workload.namespace,
              serviceAccount: workload.serviceAccount,
            },
          },
        },
        fd,
      );
      if (error !== '') {
        this.options.metrics.enrollmentFailures.inc({ reason: 'ztunnel_rejected' });
        this.logger.warn(
          { uid, pod: `${workload.namespace}/${workload.name}`, error },
          'ztunnel refused to serve the pod; its traffic stays captured',
        );
      }
      // Marked sent even when refused: the next ztunnel connection tries again.
      conn.sent.set(uid, workload);
    }
  }

  /**
   * Sends one request (with the netns fd, which is closed once sent: the kernel passed ztunnel
   * its own copy) and resolves with the ack's error text, '' for success.
   */
  private async request(conn: Connection, payload: Payload, fd?: number): Promise<string> {
    if (conn.state === 'closed') {
      if (fd !== undefined) closeSync(fd);
      throw new ConnectionClosedError('ztunnel connection closed');
    }
    const acked = new Promise<string | Error>((resolve) => {
      conn.waiter = resolve;
    });
    try {
      conn.socket.send(
        toBinary(WorkloadRequestSchema, create(WorkloadRequestSchema, { payload })),
        fd === undefined ? [] : [fd],
      );
    } catch (err) {
      conn.waiter = undefined;
      this.drop(conn);
      throw err;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const timer = setTimeout(() => {
      this.options.metrics.zdsErrors.inc({ reason: 'ack_timeout' });
      this.logger.warn(
        { connection: conn.id, request: payload.case, timeoutMs: this.ackTimeoutMs },
        'ztunnel did not ack in time; dropping the connection',
      );
      this.drop(conn);
    }, this.ackTimeoutMs);
    const answer = await acked;
    clearTimeout(timer);
    if (answer instanceof Error) throw answer;
    if (answer !== '' && payload.case !== 'add') {
      this.options.metrics.zdsErrors.inc({ reason: 'ack_error' });
      this.logger.warn(
        { connection: conn.id, request: payload.case, error: answer },
        'ztunnel acked with an error',
      );
    }
    return answer;
  }
}
