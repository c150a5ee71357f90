import { request } from 'node:http';
import { errorCode, MeshError } from '../../core/errors.js';

/** Nobody answers on the agent's socket (no file, nobody listening, or it died mid-call). */
export class AgentUnreachableError extends MeshError {
  readonly code = 'AMBIT_CNI_AGENT_UNREACHABLE';
  constructor(
    readonly socketPath: string,
    options: { cause: unknown },
  ) {
    super(`node agent at ${socketPath} is unreachable (${errorCode(options.cause)})`, options);
  }
}

/** The agent accepted the call but did not answer in time. */
export class AgentTimeoutError extends MeshError {
  readonly code = 'AMBIT_CNI_AGENT_TIMEOUT';
  constructor(
    readonly socketPath: string,
    readonly timeoutMs: number,
  ) {
    super(`node agent at ${socketPath} did not answer within ${timeoutMs} ms`);
  }
}

export interface AgentAnswer {
  readonly status: number;
  /** The parsed JSON body, or undefined when it was not JSON. */
  readonly body: unknown;
}

/** Errors that mean no agent process is serving the socket. */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTSOCK']);

/** One JSON POST to the agent over its unix socket. */
export function callAgent(
  socketPath: string,
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<AgentAnswer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', (err) => reject(new AgentUnreachableError(socketPath, { cause: err })));
      },
    );
    req.on('timeout', () => {
      req.destroy();
      reject(new AgentTimeoutError(socketPath, timeoutMs));
    });
    req.on('error', (err) => {
      if (UNREACHABLE.has(errorCode(err)))
        reject(new AgentUnreachableError(socketPath, { cause: err }));
      else reject(err);
    });
    req.end(payload);
  });
}
