import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { closeSync, fstatSync } from 'node:fs';
import type { Test } from 'tap';
import {
  Version,
  WorkloadRequestSchema,
  WorkloadResponseSchema,
  ZdsHelloSchema,
  type WorkloadRequest,
} from '../../../api/gen/istio/workload/zds/zds_pb.js';
import { SeqpacketSocket } from '../../../core/net/seqpacket.js';

export interface Received {
  readonly request: WorkloadRequest;
  /** Inode of each fd that came along (the netns), read before closing it. */
  readonly inodes: number[];
  /** Acks this ztunnel had sent when the message arrived. */
  readonly acksBefore: number;
}

/** ztunnel's side: says hello, records what it is told, acks on the next turn. */
export class FakeZtunnel {
  readonly received: Received[] = [];
  closed = false;
  private acks = 0;

  private constructor(
    readonly socket: SeqpacketSocket,
    /** The ack's error text for a request; undefined means never ack. */
    private readonly answer: (request: WorkloadRequest) => string | undefined,
  ) {
    socket.on('message', (data, fds) => this.onMessage(data, fds));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static async connect(
    t: Test,
    path: string,
    answer: (request: WorkloadRequest) => string | undefined = () => '',
  ): Promise<FakeZtunnel> {
    const ztunnel = new FakeZtunnel(await SeqpacketSocket.connect(path), answer);
    t.teardown(() => ztunnel.socket.close());
    return ztunnel;
  }

  hello(): void {
    this.socket.send(toBinary(ZdsHelloSchema, create(ZdsHelloSchema, { version: Version.V1 })));
  }

  /** What was received, as short strings: `add <uid>`, `del <uid>`, `snapshot`. */
  summary(): string[] {
    return this.received.map(({ request: { payload } }) => {
      switch (payload.case) {
        case 'add':
          return `add ${payload.value.uid}`;
        case 'del':
          return `del ${payload.value.uid}`;
        case 'snapshotSent':
          return 'snapshot';
        default:
          return String(payload.case);
      }
    });
  }

  private onMessage(data: Buffer, fds: number[]): void {
    const inodes = fds.map((fd) => {
      const ino = fstatSync(fd).ino;
      closeSync(fd);
      return ino;
    });
    const request = fromBinary(WorkloadRequestSchema, data);
    this.received.push({ request, inodes, acksBefore: this.acks });
    const error = this.answer(request);
    if (error === undefined) return;
    setImmediate(() => {
      if (this.closed) return;
      this.acks++;
      this.socket.send(
        toBinary(
          WorkloadResponseSchema,
          create(WorkloadResponseSchema, { payload: { case: 'ack', value: { error } } }),
        ),
      );
    });
  }
}
