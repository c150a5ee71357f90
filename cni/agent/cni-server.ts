import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { errorCode, MeshError } from '../../core/errors.js';
import type { Logger } from '../../core/telemetry/log.js';
import {
  AGENT_PATHS,
  type DeleteRequest,
  type ErrorResponse,
  type SandboxRequest,
  type SandboxResponse,
} from '../plugin/protocol.js';
import { BadRequestError, EnrollmentError, SandboxCheckError } from './errors.js';
import { parseDeleteRequest, parseSandboxRequest } from './sandbox.js';

/** Requests are a few hundred bytes; anything this large is not from the plugin. */
const MAX_BODY_BYTES = 64 * 1024;

export interface CniHandlers {
  add(request: SandboxRequest): Promise<SandboxResponse>;
  del(request: DeleteRequest): Promise<void>;
  check(request: SandboxRequest): Promise<SandboxResponse>;
}

export class CniSocketInUseError extends MeshError {
  readonly code = 'AMBIT_CNI_SOCKET_IN_USE';
  constructor(readonly path: string) {
    super(`${path}: another node agent is listening there`);
  }
}

class BodyTooLargeError extends BadRequestError {}

/** Whether something answers on a unix socket path. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new BodyTooLargeError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BadRequestError('request body is not JSON');
  }
}

/**
 * The endpoint the CNI plugin calls: HTTP with JSON bodies on a unix socket only root can
 * open. The plugin's protocol is in cni/plugin/protocol.ts.
 */
export class CniServer {
  private readonly server: Server;

  constructor(
    private readonly path: string,
    private readonly handlers: CniHandlers,
    private readonly logger: Logger,
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o755 });
    const st = await lstat(this.path).catch(() => undefined);
    if (st?.isSocket()) {
      if (await answers(this.path)) throw new CniSocketInUseError(this.path);
      await unlink(this.path); // left by an agent that is gone
    }
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.path, 0o600);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'POST') {
        this.reply(res, 405, { error: 'only POST', code: 'AMBIT_CNI_BAD_REQUEST' });
        return;
      }
      switch (req.url) {
        case AGENT_PATHS.add:
          this.reply(res, 200, await this.handlers.add(parseSandboxRequest(await readBody(req))));
          return;
        case AGENT_PATHS.check:
          this.reply(res, 200, await this.handlers.check(parseSandboxRequest(await readBody(req))));
          return;
        case AGENT_PATHS.del:
          await this.handlers.del(parseDeleteRequest(await readBody(req)));
          this.reply(res, 200, {});
          return;
        default:
          this.reply(res, 404, { error: `no route ${req.url}`, code: 'AMBIT_CNI_BAD_REQUEST' });
      }
    } catch (err) {
      const status =
        err instanceof BodyTooLargeError
          ? 413
          : err instanceof BadRequestError
            ? 400
            : err instanceof EnrollmentError || err instanceof SandboxCheckError
              ? 409
              : 500;
      if (status === 500)
        this.logger.error(
          { err, url: req.url, 'error.code': errorCode(err) },
          'cni request failed',
        );
      this.reply(res, status, { error: (err as Error).message, code: errorCode(err) });
    }
  }

  private reply(
    res: ServerResponse,
    status: number,
    body: SandboxResponse | ErrorResponse | object,
  ) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }
}
