import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AMBIT_BIN, childEnv, runAmbit, tempDir } from '../support/ambit.js';
import { runCommand } from '../../local/command.js';
import { getInNetns } from '../../local/mesh/netns-http.js';
import { eventually, localMeshRun } from './local-support.js';

// `ambit local` as a user drives it: one 2-node mesh, a server and a client pod, a request
// through ztunnel, then through a waypoint, the store commands, proxy-status, and down.

const ECHO = join(process.cwd(), 'samples/echo/echo');

const NAMESPACE_AND_SERVICE = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels:
    istio.io/dataplane-mode: ambient
---
apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: demo
spec:
  selector:
    app: echo
  ports:
    - name: http
      port: 80
      targetPort: 8080
`;

// The VirtualService is valid; the DestinationRule's second subset has no name (line 18).
const HALF_INVALID = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: echo
  namespace: demo
spec:
  hosts: [echo]
  http:
    - route:
        - destination: { host: echo }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: echo
  namespace: demo
spec:
  host: echo
  subsets:
    - labels: { version: v1 }
`;

interface PodObject {
  metadata: { name: string };
  status: { podIP: string };
  spec: { nodeName: string };
}

t.test('run before up says there is no mesh and how to start one', async (t) => {
  const mesh = localMeshRun(t);
  const result = await mesh.ambit(['local', 'run', '-n', 'demo', '--name', 'x', '--', 'true']);
  t.equal(result.code, 1);
  t.match(result.stderr, /no local mesh is up in .*ambit local up/);
});

t.test('a typo in a flag is a usage error that names it', async (t) => {
  const result = await runAmbit(['local', 'up', '--node', '2']);
  t.equal(result.code, 2);
  t.match(result.stderr, /Unknown option '--node'/);
  t.match(result.stderr, /usage: ambit local/);
});

t.test('up as a user other than root says it needs root and changes nothing', async (t) => {
  const stateDir = join(await tempDir(t), 'state');
  const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        AMBIT_BIN,
        'local',
        'up',
        '--state-dir',
        stateDir,
      ],
      { env: childEnv(), timeout: 30_000 },
      (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }),
    );
  });
  t.equal(result.code, 1);
  t.match(result.stderr, /needs root .*sudo/);
  await t.rejects(readFile(join(stateDir, 'mesh.json')), { code: 'ENOENT' });
});

t.test('up on a host without iptables names what to install and makes nothing', async (t) => {
  const bin = await tempDir(t);
  // A PATH with everything `ambit local up` runs before iptables, and no iptables.
  for (const tool of ['node', 'ip', 'sh', 'dirname', 'readlink', 'setpriv']) {
    const found = (await runCommand('sh', ['-c', `command -v ${tool}`])).stdout.trim();
    await symlink(found, join(bin, tool));
  }
  const stateDir = join(bin, 'state');
  const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      AMBIT_BIN,
      ['local', 'up', '--state-dir', stateDir],
      { env: childEnv({ PATH: bin }), timeout: 30_000 },
      (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }),
    );
  });
  t.equal(result.code, 1);
  t.match(result.stderr, /iptables is not usable on this host; install iptables/);
  await t.rejects(readFile(join(stateDir, 'mesh.json')), { code: 'ENOENT' });
});

t.test('the local mesh end to end', async (t) => {
  const mesh = localMeshRun(t);
  const files = await tempDir(t);
  const up = await mesh.ambit(['local', 'up', '--nodes', '2']);
  t.equal(up.code, 0, up.stderr);
  t.match(up.stdout, /local mesh up: 2 node\(s\)/);
  t.match(up.stderr, /starting the control plane/, 'progress lines on stderr');

  t.test('up twice says the mesh is already up', async (t) => {
    const again = await mesh.ambit(['local', 'up']);
    t.equal(again.code, 1);
    t.match(again.stderr, /already up/);
  });

  const base = join(files, 'base.yaml');
  await writeFile(base, NAMESPACE_AND_SERVICE);
  const applied = await mesh.ambit(['apply', '-f', base]);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /namespace\/demo created\nservice\/echo created/);
  t.match((await mesh.ambit(['apply', '-f', base])).stdout, /service\/echo unchanged/);

  t.test(
    'an invalid document is reported by line and nothing of the file is applied',
    async (t) => {
      const bad = join(files, 'bad.yaml');
      await writeFile(bad, HALF_INVALID);
      const result = await mesh.ambit(['apply', '-f', bad]);
      t.equal(result.code, 1);
      t.match(result.stderr, `${bad}:20:`);
      t.match(result.stderr, /nothing applied/);
      const vs = await mesh.ambit(['get', 'vs', '-n', 'demo']);
      t.match(vs.stderr, /No resources found in demo namespace/);
    },
  );

  const server = await mesh.ambit([
    'local',
    'run',
    '-n',
    'demo',
    '--name',
    'echo',
    '--labels',
    'app=echo,version=v1',
    '--node',
    'node-1',
    '--port',
    '8080',
    '--',
    ECHO,
    '--port',
    '8080',
    '--name',
    'echo',
  ]);
  t.equal(server.code, 0, server.stderr);
  const client = await mesh.ambit([
    'local',
    'run',
    '-n',
    'demo',
    '--name',
    'client',
    '--node',
    'node-2',
    '--',
    'sleep',
    'infinity',
  ]);
  t.equal(client.code, 0, client.stderr);

  t.test('a pod whose command cannot start is not kept', async (t) => {
    const bad = await mesh.ambit([
      'local',
      'run',
      '-n',
      'demo',
      '--name',
      'typo',
      '--',
      'sleeep',
      '1',
    ]);
    t.equal(bad.code, 1);
    t.match(bad.stderr, /pod demo\/typo: .*exited at once.*nothing of it was kept/);
    t.match(bad.stderr, /sleeep/, 'what the command said is shown');
    const pods = await mesh.ambit(['get', 'pods', '-n', 'demo']);
    t.notMatch(pods.stdout, /^typo\s/m);
  });

  const svc = JSON.parse(
    (await mesh.ambit(['get', 'svc', 'echo', '-n', 'demo', '-o', 'json'])).stdout,
  ) as {
    spec: { clusterIP: string };
  };
  const vip = svc.spec.clusterIP;
  t.match(vip, /^10\.\d+\.255\.\d+$/, 'the Service got a VIP from the mesh service range');
  const curl = (path: string, headers: string[] = []) =>
    mesh.ambit([
      'local',
      'exec',
      'demo/client',
      '--',
      'curl',
      '-s',
      '-m',
      '10',
      ...headers.flatMap((h) => ['-H', h]),
      `http://${vip}/${path}`,
    ]);

  await t.test('a request from the client reaches the server through ztunnel', async (t) => {
    await eventually('the echo answers through the VIP', async () => {
      const reply = await curl('hello');
      return reply.code === 0 && reply.stdout.includes('"pod":"echo"') ? undefined : reply.stderr;
    });
    // A slow request keeps its connection open long enough to be seen in ztunnel's table.
    const slow = curl('slow', ['x-echo-delay-ms: 3000']);
    await eventually('ztunnel lists the client connection', async () => {
      const out = await mesh.ambit([
        'ztunnel-config',
        'connections',
        '--node',
        'node-2',
        '-o',
        'json',
      ]);
      const connections = JSON.parse(out.stdout || '[]') as {
        destination: string;
        direction: string;
      }[];
      return connections.some((c) => c.direction === 'outbound' && c.destination.startsWith(vip))
        ? undefined
        : `connections: ${out.stdout}`;
    });
    t.equal((await slow).code, 0);
    const exit = await mesh.ambit(['local', 'exec', 'demo/client', '--', 'sh', '-c', 'exit 7']);
    t.equal(exit.code, 7, 'exec passes the exit code through');
  });

  t.test('get lists pods and services, as tables and as JSON', async (t) => {
    const pods = JSON.parse(
      (await mesh.ambit(['get', 'pods', '-n', 'demo', '-o', 'json'])).stdout,
    ) as {
      kind: string;
      items: PodObject[];
    };
    t.equal(pods.kind, 'List');
    t.same(pods.items.map((p) => p.metadata.name).sort(), ['client', 'echo']);
    t.ok(pods.items.every((p) => /^10\./.test(p.status.podIP)));
    const table = await mesh.ambit(['get', 'svc', '-A']);
    t.match(table.stdout, /NAMESPACE\s+NAME\s+CLUSTER-IP\s+PORT\(S\)\s+AGE/);
    t.match(table.stdout, new RegExp(`demo\\s+echo\\s+${vip.replace(/\./g, '\\.')}\\s+80/TCP`));
    const workloads = await mesh.ambit(['ztunnel-config', 'workloads']);
    t.match(workloads.stdout, /node-1\s+demo\s+echo\s+\S+\s+node-1\s+HBONE/);
  });

  await t.test('apply and delete from stdin; ztunnel-config shows the policy', async (t) => {
    const policy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-nowhere
  namespace: demo
spec:
  action: DENY
  rules:
    - from:
        - source:
            namespaces: [nowhere]
`;
    const applied = await mesh.ambit(['apply', '-f', '-'], { input: policy });
    t.equal(applied.code, 0, applied.stderr);
    t.match(applied.stdout, 'authorizationpolicy/deny-nowhere created');
    t.match((await mesh.ambit(['get', 'ap', '-n', 'demo'])).stdout, /deny-nowhere\s+DENY/);
    await eventually('every ztunnel holds the policy', async () => {
      const out = await mesh.ambit(['ztunnel-config', 'policies']);
      const rows = out.stdout.split('\n').filter((l) => /demo\s+deny-nowhere\s+DENY/.test(l));
      return rows.length === 2 ? undefined : out.stdout + out.stderr;
    });
    const deleted = await mesh.ambit(['delete', '-f', '-'], { input: policy });
    t.equal(deleted.code, 0, deleted.stderr);
    t.match(deleted.stdout, 'authorizationpolicy/deny-nowhere deleted');
    t.match((await mesh.ambit(['get', 'ap', '-n', 'demo'])).stderr, /No resources found/);
  });

  await t.test(
    'after waypoint apply --enroll-namespace requests go through the waypoint',
    async (t) => {
      const applied = await mesh.ambit(['waypoint', 'apply', '-n', 'demo', '--enroll-namespace']);
      t.equal(applied.code, 0, applied.stderr);
      t.match(applied.stdout, /waypoint demo\/waypoint applied: Ready/);
      const ns = JSON.parse((await mesh.ambit(['get', 'ns', 'demo', '-o', 'json'])).stdout) as {
        metadata: { labels: Record<string, string> };
      };
      t.equal(ns.metadata.labels['istio.io/use-waypoint'], 'waypoint');
      const gateway = JSON.parse(
        (await mesh.ambit(['get', 'gtw', 'waypoint', '-n', 'demo', '-o', 'json'])).stdout,
      ) as {
        spec: {
          gatewayClassName: string;
          listeners: { name: string; port: number; protocol: string }[];
        };
      };
      t.equal(gateway.spec.gatewayClassName, 'istio-waypoint');
      t.match(gateway.spec.listeners, [{ name: 'mesh', port: 15008, protocol: 'HBONE' }]);

      const record = JSON.parse(
        await readFile(join(mesh.stateDir, 'pods', 'demo.waypoint-0.json'), 'utf8'),
      ) as { netnsPath: string; ip: string };
      await eventually('the echo is called by the waypoint', async () => {
        const reply = await curl('via-waypoint');
        if (reply.code !== 0) return reply.stderr;
        const seen = (JSON.parse(reply.stdout) as { sourceAddress: string }).sourceAddress;
        return seen === record.ip ? undefined : `the echo was called from ${seen}`;
      });
      const metrics = await getInNetns(record.netnsPath, 'http://127.0.0.1:15020/metrics');
      const served = metrics.body
        .split('\n')
        .filter((l) => /^(ambit_waypoint|istio)_requests_total\{.*response_code="200"/.test(l))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      t.ok(served > 0, `the waypoint counted the request (${served})`);
      const list = await mesh.ambit(['waypoint', 'list', '-n', 'demo']);
      t.match(list.stdout, /demo\s+waypoint\s+service\s+\S+\s+node-\d\s+Ready/);
    },
  );

  await t.test('proxy-status shows every proxy SYNCED', async (t) => {
    let last = '';
    await eventually('every proxy is synced', async () => {
      const out = await mesh.ambit(['proxy-status', '-o', 'json']);
      last = out.stdout;
      const statuses = JSON.parse(out.stdout) as {
        name: string;
        connected: boolean;
        types: Record<string, { status: string }>;
      }[];
      const names = statuses.map((s) => s.name).sort();
      // `local up` starts the ingress gateway: a router in istio-system.
      const expected = [
        'router/istio-ingressgateway-0.istio-system',
        'waypoint/demo/waypoint',
        'ztunnel/node-1',
        'ztunnel/node-2',
      ];
      if (names.join(',') !== expected.join(',')) return `proxies: ${names.join(',')}`;
      const behind = statuses.filter(
        (s) => !s.connected || Object.values(s.types).some((type) => type.status !== 'SYNCED'),
      );
      return behind.length === 0 ? undefined : last;
    });
    const table = await mesh.ambit(['proxy-status']);
    t.equal(table.code, 0);
    t.match(table.stdout, /ztunnel\/node-1\s+ztunnel\s+SYNCED/);
    t.match(table.stdout, /router\/istio-ingressgateway-0\.istio-system\s+router\s+-\s+-\s+SYNCED/);
    t.notMatch(table.stdout, /STALE|NOT CONNECTED/);
  });

  await t.test(
    'waypoint delete stops it, unenrolls the namespace, and traffic goes direct',
    async (t) => {
      const deleted = await mesh.ambit(['waypoint', 'delete', '-n', 'demo']);
      t.equal(deleted.code, 0, deleted.stderr);
      const ns = JSON.parse((await mesh.ambit(['get', 'ns', 'demo', '-o', 'json'])).stdout) as {
        metadata: { labels: Record<string, string> };
      };
      t.equal(ns.metadata.labels['istio.io/use-waypoint'], undefined);
      t.match((await mesh.ambit(['waypoint', 'list', '-A'])).stderr, /No waypoints found/);
      const client = JSON.parse(
        await readFile(join(mesh.stateDir, 'pods', 'demo.client.json'), 'utf8'),
      ) as { ip: string };
      await eventually('the echo is called by the client itself again', async () => {
        const reply = await curl('direct');
        if (reply.code !== 0) return reply.stderr;
        const seen = (JSON.parse(reply.stdout) as { sourceAddress: string }).sourceAddress;
        return seen === client.ip ? undefined : `the echo was called from ${seen}`;
      });
    },
  );

  await t.test('delete pod stops the pod and removes its network and object', async (t) => {
    const record = JSON.parse(
      await readFile(join(mesh.stateDir, 'pods', 'demo.echo.json'), 'utf8'),
    ) as { netns: string };
    const deleted = await mesh.ambit(['delete', 'pod', 'echo', '-n', 'demo']);
    t.equal(deleted.code, 0, deleted.stderr);
    t.match(deleted.stdout, 'pod/echo deleted');
    const pods = await mesh.ambit(['get', 'pods', '-n', 'demo']);
    t.notMatch(pods.stdout, /^echo\s/m);
    t.notMatch((await runCommand('ip', ['netns', 'list'])).stdout, record.netns);
    const again = await mesh.ambit(['delete', 'pod', 'echo', '-n', 'demo']);
    t.equal(again.code, 1);
    t.match(again.stderr, /pod\/echo in namespace demo not found/);
  });

  await t.test('down removes the mesh and its state', async (t) => {
    const prefix = await mesh.prefix();
    const down = await mesh.ambit(['local', 'down']);
    t.equal(down.code, 0, down.stderr);
    t.match(down.stdout, `cluster ${prefix}`);
    const again = await mesh.ambit(['get', 'pods', '-A']);
    t.equal(again.code, 1);
    t.match(again.stderr, /no local mesh is up/);
  });
});
