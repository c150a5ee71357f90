import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { childEnv, runAmbit } from '../support/ambit.js';

// `make demo ARGS=--exit` as `make test` runs it: the whole walk-through on its own mesh (a
// unique state directory), every scenario PASS and exit 0; `ambit local down` whatever happens.

const DEMO = join(process.cwd(), 'dist/samples/demo/main.js');
const SCENARIOS = 'abcdefgh'.split('');
// The demo takes about a minute on a quiet machine; tap's per-file default (240 s) is too
// tight on a busy one. A `# timeout=` comment is how a test file moves its runner's deadline.
const TIMEOUT_MS = 480_000;
t.comment(`timeout=${TIMEOUT_MS}`);
t.setTimeout(TIMEOUT_MS);

t.test('make demo --exit: every scenario passes', async (t) => {
  const stateDir = `/run/ambit/demo-${randomBytes(4).toString('hex')}`;
  t.teardown(async () => {
    const down = await runAmbit(['local', 'down', '--state-dir', stateDir], { timeoutMs: 60_000 });
    if (down.code !== 0) throw new Error(`ambit local down failed: ${down.stderr}`);
  });
  const child = spawn(process.execPath, [DEMO, '--state-dir', stateDir, '--exit'], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const tail = output.split('\n').slice(-60).join('\n');
  t.equal(code, 0, `the demo exits 0; its last lines:\n${tail}`);
  for (const letter of SCENARIOS)
    t.match(output, new RegExp(`^  PASS  ${letter}\\. `, 'm'), `scenario ${letter} passes`);
  t.notMatch(output, /^ {2}FAIL /m, 'no scenario fails');
  t.match(output, /Bookinfo through the ingress gateway: http:\/\/[\d.]+\/productpage/);
  t.match(output, /local mesh removed/, 'the demo tore its mesh down');
});
