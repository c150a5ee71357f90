import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { isAlive, ProcessExitedError, startDetached, stopProcess } from './supervisor.js';

async function logDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-supervisor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a detached process logs to its file and stops on SIGTERM', async (t) => {
  const log = join(await logDir(t), 'p.log');
  const ref = await startDetached('sh', ['-c', 'echo started; exec sleep 60'], {
    what: 'sleeper',
    log,
    settleMs: 50,
  });
  t.teardown(() => stopProcess(ref, 100));
  t.ok(await isAlive(ref));
  await stopProcess(ref, 2000);
  t.notOk(await isAlive(ref), 'gone after stop');
  t.match(await readFile(log, 'utf8'), 'started');
  t.notOk(await isAlive({ pid: ref.pid, startTime: '0' }), 'a reused pid is not the process');
});

t.test('a process that exits at once is a failure to start, with its exit code', async (t) => {
  const log = join(await logDir(t), 'p.log');
  const failure = await startDetached('sh', ['-c', 'echo no such thing >&2; exit 3'], {
    what: 'typo',
    log,
    settleMs: 2000,
  }).catch((err: unknown) => err);
  t.type(failure, ProcessExitedError);
  t.equal((failure as ProcessExitedError).exit, 3);
  t.match(await readFile(log, 'utf8'), 'no such thing');
});

t.test('SIGKILL follows when SIGTERM is ignored past the deadline', async (t) => {
  const log = join(await logDir(t), 'p.log');
  const ref = await startDetached('sh', ['-c', "trap '' TERM; while :; do sleep 0.1; done"], {
    what: 'stubborn',
    log,
  });
  t.teardown(() => stopProcess(ref, 100));
  await stopProcess(ref, 200);
  t.notOk(await isAlive(ref));
});
