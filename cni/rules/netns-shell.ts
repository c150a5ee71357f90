import { spawn } from 'node:child_process';
import type { IpFamily } from '../../core/net/socket.js';
import { CaptureRulesError } from './errors.js';

/**
 * Everything that touches a netns runs as one `nsenter --net=PATH sh -c SCRIPT`: a process
 * spawned from the agent costs milliseconds (the agent enrolls pods in bulk on restart), the
 * commands forked by that shell much less.
 */

/** A command to run in the netns, fed `input` on stdin when given. */
export interface ShellStep {
  command: string;
  input?: string;
}

/** iptables in legacy mode holds a host-wide lock; wait for it rather than fail. */
export const IPTABLES_RESTORE = (family: IpFamily): string =>
  `${family === 4 ? 'iptables' : 'ip6tables'}-restore --noflush --wait=5`;

const FAILED_MARKER = '#ambit-failed ';
const TIMEOUT_MS = 30_000;

// The agent may run with a PATH that lacks the sbin directories iptables and ip live in.
const PRELUDE = `PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
fail() { echo "${FAILED_MARKER}$1" >&2; exit 1; }
`;

/**
 * The script running `steps` in order, stopping at the first that fails and naming it on
 * stderr. Inputs go in quoted here-documents, so the shell expands nothing in them.
 */
export function stepsScript(steps: readonly ShellStep[]): string {
  let script = '';
  for (const { command, input } of steps) {
    if (input === undefined) {
      script += `${command} || fail '${command}'\n`;
    } else {
      const body = input.endsWith('\n') ? input : `${input}\n`;
      script += `${command} <<'AMBIT_EOF' || fail '${command}'\n${body}AMBIT_EOF\n`;
    }
  }
  return script;
}

/** Runs `script` (POSIX sh) in the network namespace at `netns`; resolves with its stdout. */
export function runInNetns(netns: string, script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netns}`, 'sh', '-c', PRELUDE + script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
      timeout: TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (err) =>
      reject(new CaptureRulesError(netns, 'nsenter', err.message, { cause: err })),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(stdout).toString());
      const lines = Buffer.concat(stderr).toString().trim().split('\n');
      const marker = lines.findIndex((line) => line.startsWith(FAILED_MARKER));
      // Without our marker the shell never ran a step: nsenter itself failed (no such netns).
      const command = marker >= 0 ? lines[marker]!.slice(FAILED_MARKER.length) : 'nsenter';
      if (marker >= 0) lines.splice(marker, 1);
      const detail = signal ? `killed by ${signal} after ${TIMEOUT_MS} ms` : `exit code ${code}`;
      const message = lines.join('\n').trim();
      reject(new CaptureRulesError(netns, command, message || detail));
    });
  });
}
