import { errorCode } from '../../core/errors.js';
import {
  AgentTimeoutError,
  AgentUnreachableError,
  callAgent,
  type AgentAnswer,
} from './agent-client.js';
import { parseCommand, parseEnvironment, type CniEnvironment } from './environment.js';
import { CNI_ERROR, CniError, errorResult } from './errors.js';
import {
  decodeStdin,
  parseNetConf,
  requirePrevResult,
  resultAddresses,
  SUPPORTED_VERSIONS,
  type NetConf,
} from './netconf.js';
import { writePendingEvent } from './pending.js';
import {
  AGENT_PATHS,
  type DeleteRequest,
  type ErrorResponse,
  type SandboxRequest,
} from './protocol.js';

/** ADD waits for capture rules and ztunnel's ack; well inside kubelet's CNI deadline. */
const ADD_TIMEOUT_MS = 30_000;
const CHECK_TIMEOUT_MS = 10_000;
const DEL_TIMEOUT_MS = 10_000;
/** The version errors and VERSION answer in when the input names none we can read. */
const FALLBACK_VERSION = '1.0.0';

export interface PluginOutcome {
  readonly exitCode: 0 | 1;
  /** What goes to stdout: a result, the VERSION answer, an error, or nothing (DEL, CHECK). */
  readonly stdout: string;
}

/** One line of JSON on stderr: the runtime keeps stdout for results. */
export type PluginLog = (level: 'info' | 'warn', msg: string, fields?: object) => void;

const stderrLog: PluginLog = (level, msg, fields = {}) => {
  process.stderr.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), component: 'ambit-cni', msg, ...fields })}\n`,
  );
};

/** Runs one CNI invocation: the env and stdin the runtime gave, the outcome it expects. */
export async function runPlugin(
  env: NodeJS.ProcessEnv,
  stdin: string,
  log: PluginLog = stderrLog,
): Promise<PluginOutcome> {
  let version = FALLBACK_VERSION;
  try {
    const command = parseCommand(env);
    if (command === 'VERSION') return { exitCode: 0, stdout: versionAnswer(stdin) };
    const raw = decodeStdin(stdin);
    if (typeof raw.cniVersion === 'string') version = raw.cniVersion;
    const conf = parseNetConf(raw);
    const cni = parseEnvironment(env);
    switch (cni.command) {
      case 'ADD':
        return { exitCode: 0, stdout: await add(conf, cni, log) };
      case 'CHECK':
        await check(conf, cni);
        return { exitCode: 0, stdout: '' };
      default:
        await del(conf, cni, log);
        return { exitCode: 0, stdout: '' };
    }
  } catch (err) {
    const cniError =
      err instanceof CniError
        ? err
        : new CniError(CNI_ERROR.ioFailure, (err as Error).message ?? String(err), '', {
            cause: err,
          });
    log('warn', 'cni command failed', { code: cniError.cniCode, error: cniError.message });
    return { exitCode: 1, stdout: JSON.stringify(errorResult(version, cniError)) };
  }
}

function versionAnswer(stdin: string): string {
  let cniVersion = FALLBACK_VERSION;
  try {
    const raw: unknown = JSON.parse(stdin);
    const asked = (raw as { cniVersion?: unknown } | null)?.cniVersion;
    if (typeof asked === 'string') cniVersion = asked;
  } catch {
    // VERSION may come with no configuration at all; answer in the newest version.
  }
  return JSON.stringify({ cniVersion, supportedVersions: SUPPORTED_VERSIONS });
}

function sandboxRequest(
  cni: CniEnvironment & { pod: NonNullable<CniEnvironment['pod']> },
  prevResult: Readonly<Record<string, unknown>>,
): SandboxRequest {
  return {
    containerId: cni.containerId,
    netns: cni.netns,
    ifname: cni.ifname,
    pod: cni.pod,
    ips: resultAddresses(prevResult),
  };
}

function agentError(answer: AgentAnswer): string {
  const body = answer.body as Partial<ErrorResponse> | undefined;
  return typeof body?.error === 'string' ? body.error : `HTTP ${answer.status}`;
}

/** Tells the agent about a new sandbox and passes the previous result through unchanged. */
async function add(conf: NetConf, cni: CniEnvironment, log: PluginLog): Promise<string> {
  const prevResult = requirePrevResult(conf);
  const passThrough = JSON.stringify(prevResult);
  // Not a Kubernetes pod (no K8S_POD_* in CNI_ARGS): nothing for the mesh to do.
  if (cni.pod === undefined) return passThrough;
  const request = sandboxRequest({ ...cni, pod: cni.pod }, prevResult);
  let answer: AgentAnswer;
  try {
    answer = await callAgent(conf.agentSocket, AGENT_PATHS.add, request, ADD_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof AgentUnreachableError) {
      // A node without its agent must still start pods; the agent enrolls this one when it
      // starts and finds the record.
      const file = await writePendingEvent(conf.stateDir, {
        command: 'add',
        request,
        at: new Date().toISOString(),
      });
      log('warn', 'node agent unreachable; sandbox recorded for its next start', {
        pod: `${request.pod.namespace}/${request.pod.name}`,
        file,
        'error.code': errorCode(err.cause),
      });
      return passThrough;
    }
    throw retryable(err);
  }
  if (answer.status === 200) return passThrough;
  if (answer.status === 409) {
    // The agent's message names the pod and what failed.
    throw new CniError(CNI_ERROR.enrollmentFailed, agentError(answer));
  }
  throw unexpected(answer);
}

async function check(conf: NetConf, cni: CniEnvironment): Promise<void> {
  const prevResult = requirePrevResult(conf);
  if (cni.pod === undefined) return;
  const request = sandboxRequest({ ...cni, pod: cni.pod }, prevResult);
  let answer: AgentAnswer;
  try {
    answer = await callAgent(conf.agentSocket, AGENT_PATHS.check, request, CHECK_TIMEOUT_MS);
  } catch (err) {
    throw retryable(err);
  }
  if (answer.status === 200) return;
  if (answer.status === 409) {
    throw new CniError(
      CNI_ERROR.checkFailed,
      `pod ${request.pod.namespace}/${request.pod.name}: ${agentError(answer)}`,
    );
  }
  throw unexpected(answer);
}

/** DEL never fails for a sandbox the agent does not know, nor for an agent that is away. */
async function del(conf: NetConf, cni: CniEnvironment, log: PluginLog): Promise<void> {
  const request: DeleteRequest = {
    containerId: cni.containerId,
    ...(cni.pod === undefined ? {} : { pod: cni.pod }),
  };
  try {
    const answer = await callAgent(conf.agentSocket, AGENT_PATHS.del, request, DEL_TIMEOUT_MS);
    if (answer.status === 200) return;
    log('warn', 'node agent refused a DEL; recorded for its next start', {
      status: answer.status,
      error: agentError(answer),
    });
  } catch (err) {
    if (!(err instanceof AgentUnreachableError) && !(err instanceof AgentTimeoutError)) throw err;
    log('warn', 'node agent unreachable on DEL; recorded for its next start', {
      containerId: cni.containerId,
      'error.code': err.code,
    });
  }
  await writePendingEvent(conf.stateDir, { command: 'del', request, at: new Date().toISOString() });
}

function retryable(err: unknown): unknown {
  if (err instanceof AgentTimeoutError || err instanceof AgentUnreachableError)
    return new CniError(CNI_ERROR.tryAgainLater, err.message, '', { cause: err });
  return err;
}

function unexpected(answer: AgentAnswer): CniError {
  if (answer.status === 503)
    return new CniError(CNI_ERROR.tryAgainLater, `node agent busy: ${agentError(answer)}`);
  return new CniError(
    CNI_ERROR.agentProtocol,
    `node agent answered ${answer.status}: ${agentError(answer)}`,
  );
}
