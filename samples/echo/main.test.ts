import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// The echo as a program, the way a pod runs it: an unprivileged user, flags, a log line
// saying where it listens, a clean exit on SIGTERM.

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, AMBIT_LOG_LEVEL: 'info' };
  delete out.NODE_OPTIONS;
  return out;
}

t.test('runs as nobody, answers, and exits 0 on SIGTERM', async (t) => {
  const child = spawn(
    NOBODY[0]!,
    [
      ...NOBODY.slice(1),
      process.execPath,
      MAIN,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--version',
      'v3',
      '--name',
      'ratings-1',
      '--status',
      '201',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: env() },
  );
  t.teardown(() => void child.kill('SIGKILL'));
  const lines: string[] = [];
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (text) => {
      lines.push(text);
      if (!text.startsWith('{')) return;
      const parsed = JSON.parse(text) as Record<string, unknown>;
      if (parsed.msg === 'echo listening') resolve(parsed);
    });
    child.once('exit', (code) => reject(new Error(`echo exited ${code}: ${lines.join('\n')}`)));
  });
  t.match(line, { version: 'v3', pod: 'ratings-1', address: '127.0.0.1' });
  const response = await fetch(`http://127.0.0.1:${String(line.port)}/x`);
  t.equal(response.status, 201, '--status applies');
  t.match(await response.json(), { version: 'v3', pod: 'ratings-1', path: '/x' });
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  t.equal(code, 0);
});

t.test('a bad flag exits 2 with the usage', async (t) => {
  const child = spawn(process.execPath, [MAIN, '--fail-every', 'often'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: env(),
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 2);
  t.match(stderr, /--fail-every often: expected an integer/);
  t.match(stderr, /usage: echo/);
});
