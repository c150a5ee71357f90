import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../local/command.js';
import { tempDir } from '../support/ambit.js';
import { localMeshRun } from './local-support.js';

// `ambit local down` after every process of the mesh was killed with SIGKILL: nothing of
// the mesh may stay on the host.

t.test('down after kill -9 of every mesh process leaves nothing behind', async (t) => {
  const mesh = localMeshRun(t);
  const files = await tempDir(t);
  const up = await mesh.ambit(['local', 'up', '--nodes', '2']);
  t.equal(up.code, 0, up.stderr);
  const namespace = join(files, 'ns.yaml');
  await writeFile(
    namespace,
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: crash\n  labels:\n    istio.io/dataplane-mode: ambient\n',
  );
  t.equal((await mesh.ambit(['apply', '-f', namespace])).code, 0);
  const run = await mesh.ambit([
    'local',
    'run',
    '-n',
    'crash',
    '--name',
    'sleeper',
    '--',
    'sleep',
    'infinity',
  ]);
  t.equal(run.code, 0, run.stderr);
  const prefix = await mesh.prefix();
  t.ok(await subnetClaimed(prefix), 'the mesh claims its subnet host-wide');

  const record = JSON.parse(await readFile(join(mesh.stateDir, 'mesh.json'), 'utf8')) as {
    processes: { ref: { pid: number } }[];
  };
  const pids = record.processes.map((p) => p.ref.pid);
  for (const file of await readdir(join(mesh.stateDir, 'pods'))) {
    const pod = JSON.parse(await readFile(join(mesh.stateDir, 'pods', file), 'utf8')) as {
      process: { pid: number };
    };
    pids.push(pod.process.pid);
  }
  t.equal(pids.length, 7, 'control plane, 2 agents, 2 ztunnels, the ingress gateway, 1 pod');
  for (const pid of pids) process.kill(pid, 'SIGKILL');

  const again = await mesh.ambit(['local', 'up']);
  t.equal(again.code, 1, 'up over a crashed mesh refuses');
  t.match(again.stderr, /processes are gone .*ambit local down --state-dir/);

  const down = await mesh.ambit(['local', 'down']);
  t.equal(down.code, 0, down.stderr);
  t.match(down.stdout, `cluster ${prefix}`);

  const netns = (await runCommand('ip', ['netns', 'list'])).stdout;
  t.notMatch(netns, prefix, 'no network namespace');
  const links = (await runCommand('ip', ['link', 'show'])).stdout;
  t.notMatch(links, prefix, 'no link in the root namespace');
  const rules = (await runCommand('iptables-save', [])).stdout;
  t.notMatch(rules, prefix, 'no firewall rule in the root namespace');
  const mounts = await readFile('/proc/mounts', 'utf8');
  t.notMatch(mounts, `/run/netns/${prefix}`, 'no netns bind mount');
  const processes = (await runCommand('ps', ['-eo', 'pid,args'])).stdout;
  t.notMatch(processes, mesh.stateDir, 'no process of the mesh');
  for (const pid of pids) t.ok(await gone(pid), `process ${pid} is gone`);
  await t.rejects(readdir(mesh.stateDir), { code: 'ENOENT' }, 'the state directory is gone');
  t.notOk(await subnetClaimed(prefix), 'the subnet claim is released');
});

/**
 * Whether a process no longer runs: no such pid, or a zombie. A killed process whose parent
 * exited is reaped by init, which may do so late (or, under some inits, never); a zombie
 * holds nothing of the mesh.
 */
async function gone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    // The state is the field after the command's closing parenthesis.
    if (stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return true;
    // SIGKILL lands once the process leaves an uninterruptible wait.
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a host-wide subnet claim (local/subnet.ts, under /run/ambit) names the prefix. */
async function subnetClaimed(prefix: string): Promise<boolean> {
  const dir = '/run/ambit/subnets';
  for (const claim of await readdir(dir).catch(() => [])) {
    const owner = await readFile(join(dir, claim), 'utf8').catch(() => '');
    if (owner.trim() === prefix) return true;
  }
  return false;
}
