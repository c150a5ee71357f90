import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { join, resolve } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { childEnv, tempDir } from '../../test/support/ambit.js';
import { AGENT_PATHS, PENDING_DIR, type PendingEvent } from './protocol.js';

// Every test runs the real program (bin/ambit-cni) as a runtime would: CNI_* in the
// environment, the net conf on stdin, the result or the spec's error JSON on stdout.

const CNI_BIN = resolve(process.cwd(), 'bin/ambit-cni');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runCni(env: Record<string, string>, stdin: string): Promise<Run> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      CNI_BIN,
      [],
      { timeout: 30_000, env: childEnv(env) },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

interface Received {
  path: string;
  body: unknown;
}

/** A stand-in node agent on a unix socket: records requests, answers as told. */
async function fakeAgent(
  t: Test,
  dir: string,
  answer: (path: string) => { status: number; body: unknown } = () => ({
    status: 200,
    body: { enrolled: true },
  }),
): Promise<{ socket: string; received: Received[] }> {
  const socket = join(dir, 'agent.sock');
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      const { status, body } = answer(req.url ?? '');
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((ready) => server.listen(socket, ready));
  t.teardown(() => new Promise<void>((done) => server.close(() => done())));
  return { socket, received };
}

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:f4:00:05', sandbox: '/var/run/netns/pod-a' }],
  ips: [
    { address: '10.244.0.5/24', gateway: '10.244.0.1', interface: 0 },
    { address: 'fd00::5/64', interface: 0 },
  ],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
};

function netConf(fields: Record<string, unknown>): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: 'ambit-net', type: 'ambit-cni', ...fields });
}

function cniEnv(command: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee01',
    CNI_NETNS: '/var/run/netns/pod-a',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS:
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-0;K8S_POD_INFRA_CONTAINER_ID=c0ffee01;K8S_POD_UID=0d7f-11',
    ...extra,
  };
}

async function pendingEvents(stateDir: string): Promise<PendingEvent[]> {
  const dir = join(stateDir, PENDING_DIR);
  const names = (await readdir(dir)).sort();
  return Promise.all(
    names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as PendingEvent),
  );
}

t.test('VERSION lists the spec versions the plugin supports', async (t) => {
  const run = await runCni({ CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '0.4.0' }));
  t.equal(run.code, 0);
  t.same(JSON.parse(run.stdout), {
    cniVersion: '0.4.0',
    supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'],
  });
});

t.test('VERSION with no configuration answers in 1.0.0', async (t) => {
  const run = await runCni({ CNI_COMMAND: 'VERSION' }, '');
  t.equal(run.code, 0);
  t.equal(JSON.parse(run.stdout).cniVersion, '1.0.0');
});

t.test('ADD tells the agent about the pod and prints prevResult unchanged', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const agent = await fakeAgent(t, dir);
  const run = await runCni(cniEnv('ADD'), netConf({ agentSocket: agent.socket, prevResult }));
  t.equal(run.code, 0, run.stderr);
  t.same(JSON.parse(run.stdout), prevResult);
  t.same(agent.received, [
    {
      path: AGENT_PATHS.add,
      body: {
        containerId: 'c0ffee01',
        netns: '/var/run/netns/pod-a',
        ifname: 'eth0',
        pod: { name: 'cart-0', namespace: 'shop', uid: '0d7f-11' },
        ips: ['10.244.0.5', 'fd00::5'],
      },
    },
  ]);
});

t.test('ADD without prevResult fails: the plugin only runs chained', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const agent = await fakeAgent(t, dir);
  const run = await runCni(cniEnv('ADD'), netConf({ agentSocket: agent.socket }));
  t.equal(run.code, 1);
  const error = JSON.parse(run.stdout);
  t.equal(error.cniVersion, '1.0.0');
  t.equal(error.code, 7, 'invalid network config');
  t.match(error.msg, /prevResult/);
  t.same(agent.received, [], 'the agent was not called');
});

t.test('ADD fails when the agent could not enroll a pod that belongs in the mesh', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const agent = await fakeAgent(t, dir, () => ({
    status: 409,
    body: {
      error:
        'pod shop/cart-0 could not be enrolled: installing capture rules failed: iptables-restore exit 4',
      code: 'AMBIT_CNI_ENROLLMENT',
    },
  }));
  const run = await runCni(cniEnv('ADD'), netConf({ agentSocket: agent.socket, prevResult }));
  t.equal(run.code, 1);
  const error = JSON.parse(run.stdout);
  t.equal(error.code, 100);
  t.match(error.msg, /shop\/cart-0.*iptables-restore exit 4/);
});

t.test('ADD with the agent away succeeds and leaves the sandbox for its next start', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const stateDir = join(dir, 'state');
  const run = await runCni(
    cniEnv('ADD'),
    netConf({ agentSocket: join(dir, 'nobody.sock'), stateDir, prevResult }),
  );
  t.equal(run.code, 0, run.stdout);
  t.same(JSON.parse(run.stdout), prevResult);
  t.match(run.stderr, /node agent unreachable/);
  const events = await pendingEvents(stateDir);
  t.equal(events.length, 1);
  t.equal(events[0]?.command, 'add');
  t.same(events[0]?.request, {
    containerId: 'c0ffee01',
    netns: '/var/run/netns/pod-a',
    ifname: 'eth0',
    pod: { name: 'cart-0', namespace: 'shop', uid: '0d7f-11' },
    ips: ['10.244.0.5', 'fd00::5'],
  });
});

t.test('ADD of a sandbox that is not a Kubernetes pod only passes the result on', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const agent = await fakeAgent(t, dir);
  const run = await runCni(
    cniEnv('ADD', { CNI_ARGS: 'IgnoreUnknown=1' }),
    netConf({ agentSocket: agent.socket, prevResult }),
  );
  t.equal(run.code, 0);
  t.same(JSON.parse(run.stdout), prevResult);
  t.same(agent.received, []);
});

t.test('DEL tells the agent and prints nothing', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const agent = await fakeAgent(t, dir, () => ({ status: 200, body: {} }));
  const run = await runCni(
    cniEnv('DEL', { CNI_NETNS: '' }),
    netConf({ agentSocket: agent.socket }),
  );
  t.equal(run.code, 0, run.stdout);
  t.equal(run.stdout, '');
  t.same(agent.received, [
    {
      path: AGENT_PATHS.del,
      body: { containerId: 'c0ffee01', pod: { name: 'cart-0', namespace: 'shop', uid: '0d7f-11' } },
    },
  ]);
});

t.test('DEL with the agent away succeeds and is recorded for its next start', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const stateDir = join(dir, 'state');
  const run = await runCni(
    cniEnv('DEL'),
    netConf({ agentSocket: join(dir, 'nobody.sock'), stateDir }),
  );
  t.equal(run.code, 0);
  t.equal(run.stdout, '');
  const events = await pendingEvents(stateDir);
  t.same(
    events.map((e) => [e.command, e.request.containerId]),
    [['del', 'c0ffee01']],
  );
});

t.test('CHECK succeeds silently when the agent agrees', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const agent = await fakeAgent(t, dir);
  const run = await runCni(cniEnv('CHECK'), netConf({ agentSocket: agent.socket, prevResult }));
  t.equal(run.code, 0, run.stdout);
  t.equal(run.stdout, '');
  t.equal(agent.received[0]?.path, AGENT_PATHS.check);
});

t.test('CHECK fails with a plugin code when the capture state is wrong', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const agent = await fakeAgent(t, dir, () => ({
    status: 409,
    body: { error: 'capture rules are partial but the pod is enrolled', code: 'AMBIT_CNI_CHECK' },
  }));
  const run = await runCni(cniEnv('CHECK'), netConf({ agentSocket: agent.socket, prevResult }));
  t.equal(run.code, 1);
  const error = JSON.parse(run.stdout);
  t.equal(error.code, 101);
  t.match(error.msg, /partial/);
});

t.test('CHECK with the agent away asks the runtime to try again later', async (t) => {
  const dir = await tempDir(t, 'ambit-cni-');
  const run = await runCni(
    cniEnv('CHECK'),
    netConf({ agentSocket: join(dir, 'nobody.sock'), prevResult }),
  );
  t.equal(run.code, 1);
  t.equal(JSON.parse(run.stdout).code, 11);
});

t.test('errors follow the spec: code, msg, and the input cniVersion', async (t) => {
  const cases: {
    name: string;
    env: Record<string, string>;
    stdin: string;
    code: number;
    msg: RegExp;
  }[] = [
    {
      name: 'an unsupported cniVersion',
      env: cniEnv('ADD'),
      stdin: JSON.stringify({ cniVersion: '9.9.9', name: 'n', type: 'ambit-cni', prevResult }),
      code: 1,
      msg: /9\.9\.9/,
    },
    {
      name: 'a net conf that is not JSON',
      env: cniEnv('ADD'),
      stdin: '{"cniVersion": ',
      code: 6,
      msg: /not valid JSON/,
    },
    {
      name: 'missing CNI variables',
      env: cniEnv('ADD', { CNI_CONTAINERID: '', CNI_NETNS: '' }),
      stdin: netConf({ prevResult }),
      code: 4,
      msg: /CNI_CONTAINERID, CNI_NETNS must be set/,
    },
    {
      name: 'an unknown command',
      env: cniEnv('GC'),
      stdin: netConf({}),
      code: 4,
      msg: /CNI_COMMAND GC is not supported/,
    },
    {
      name: 'a pod without its uid',
      env: cniEnv('ADD', { CNI_ARGS: 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-0' }),
      stdin: netConf({ prevResult }),
      code: 4,
      msg: /K8S_POD_UID/,
    },
  ];
  for (const c of cases) {
    const run = await runCni(c.env, c.stdin);
    t.equal(run.code, 1, `${c.name}: exit code`);
    const error = JSON.parse(run.stdout);
    t.equal(error.code, c.code, `${c.name}: code`);
    t.match(error.msg, c.msg, `${c.name}: msg`);
    t.type(error.cniVersion, 'string', `${c.name}: cniVersion`);
  }
});
