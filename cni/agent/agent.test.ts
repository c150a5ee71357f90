import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { DirectorySource } from '../../core/config/directory.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { Registry } from '../../core/telemetry/metrics.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import { childEnv, tempDir } from '../../test/support/ambit.js';
import { captureState, installCapture, removeCapture } from '../rules/capture.js';
import { NodeAgent } from './agent.js';
import { FilePodSource } from './file-pod-source.js';
import { FakeZtunnel } from './testing/fake-ztunnel.js';
import { tempNetns } from './testing/netns.js';

// The node agent as it runs on a node: pods from a config directory, real capture rules in
// real network namespaces, the real CNI plugin calling it, a ztunnel stand-in on the zds
// socket. Each test restarts the agent to pin what survives a restart.

const CNI_BIN = resolve(process.cwd(), 'bin/ambit-cni');
const NODE = 'node-1';

interface Node {
  config: string;
  stateDir: string;
  cniSocket: string;
  zdsSocket: string;
}

async function node(t: Test): Promise<Node> {
  const dir = await tempDir(t, 'ambit-agent-');
  return {
    config: join(dir, 'config'),
    stateDir: join(dir, 'state'),
    cniSocket: join(dir, 'cni.sock'),
    zdsSocket: join(dir, 'zds.sock'),
  };
}

/** Starts an agent on `n`, stopped at the end of the test (if the test has not stopped it). */
async function startAgent(t: Test, n: Node): Promise<NodeAgent> {
  const registry = new Registry();
  const agent = new NodeAgent({
    nodeName: NODE,
    pods: new FilePodSource(
      new DirectorySource({ directory: n.config, logger: silentLogger(), registry }),
      NODE,
    ),
    rules: { installCapture, removeCapture, captureState },
    stateDir: n.stateDir,
    cniSocket: n.cniSocket,
    zdsSocket: n.zdsSocket,
    logger: silentLogger(),
    registry,
  });
  t.teardown(() => agent.stop());
  await agent.start();
  return agent;
}

function namespaceYaml(name: string, ambient: boolean): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels:
    istio.io/dataplane-mode: ${ambient ? 'ambient' : 'none'}
`;
}

function podYaml(namespace: string, name: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
  uid: uid-${name}
spec:
  nodeName: ${NODE}
  serviceAccountName: ${name}
  containers: [{name: app, image: app}]
`;
}

/** Runs the real plugin's ADD for a pod, as the runtime does after bridge + host-local. */
function cniAdd(
  n: Node,
  namespace: string,
  name: string,
  netns: string,
  agentSocket = n.cniSocket,
): Promise<{ code: number; stdout: string }> {
  const conf = {
    cniVersion: '1.0.0',
    name: 'ambit-net',
    type: 'ambit-cni',
    agentSocket,
    stateDir: n.stateDir,
    prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.244.1.9/24' }] },
  };
  return new Promise((done) => {
    const child = execFile(
      CNI_BIN,
      [],
      {
        timeout: 30_000,
        env: childEnv({
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: `c-${name}`,
          CNI_NETNS: netns,
          CNI_IFNAME: 'eth0',
          CNI_ARGS: `K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}`,
        }),
      },
      (error, stdout) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout }),
    );
    child.stdin?.end(JSON.stringify(conf));
  });
}

async function writeConfig(n: Node, file: string, ...docs: string[]): Promise<void> {
  await mkdir(n.config, { recursive: true });
  await writeFile(join(n.config, file), docs.join('---\n'));
}

t.test('after a restart enrolled pods stay enrolled and stale rules are removed', async (t) => {
  const n = await node(t);
  const cart = await tempNetns(t);
  const post = await tempNetns(t);
  await writeConfig(n, 'shop.yaml', namespaceYaml('shop', true), podYaml('shop', 'cart'));
  await writeConfig(n, 'blog.yaml', namespaceYaml('blog', true), podYaml('blog', 'post'));
  const first = await startAgent(t, n);
  t.match(await cniAdd(n, 'shop', 'cart', cart.path), { code: 0 });
  t.match(await cniAdd(n, 'blog', 'post', post.path), { code: 0 });
  t.equal(await captureState(cart.path), 'installed');
  t.equal(await captureState(post.path), 'installed');
  await first.stop();

  // While the agent is down, blog leaves the mesh.
  await writeConfig(n, 'blog.yaml', namespaceYaml('blog', false), podYaml('blog', 'post'));
  const second = await startAgent(t, n);
  t.equal(await captureState(cart.path), 'installed', 'the running pod is still captured');
  t.equal(await captureState(post.path), 'absent', 'the pod that left the mesh lost its rules');
  t.same(
    second.statuses().map((s) => [s.sandbox.pod.name, s.enrolled]),
    [
      ['cart', true],
      ['post', false],
    ],
  );

  const ztunnel = await FakeZtunnel.connect(t, n.zdsSocket);
  ztunnel.hello();
  await waitFor('the snapshot', () => ztunnel.summary().includes('snapshot'));
  t.same(ztunnel.summary(), ['add uid-cart', 'snapshot'], 'ztunnel serves the enrolled pod only');
});

t.test('a pod added while the agent was away is enrolled when it starts', async (t) => {
  const n = await node(t);
  const cart = await tempNetns(t);
  await writeConfig(n, 'shop.yaml', namespaceYaml('shop', true), podYaml('shop', 'cart'));
  t.match(await cniAdd(n, 'shop', 'cart', cart.path), { code: 0 }, 'ADD succeeds without an agent');
  t.equal(await captureState(cart.path), 'absent');
  const agent = await startAgent(t, n);
  t.equal(await captureState(cart.path), 'installed');
  t.equal(agent.statuses()[0]?.enrolled, true);
});

t.test('a pod recorded just as the agent started listening is enrolled all the same', async (t) => {
  // The plugin found no listener (here: a socket path nobody serves, as just before the
  // agent's listen()) and wrote its record after the agent's start-up replay. No other CNI
  // call follows on the node, so nothing but the agent's own polling can pick it up.
  const n = await node(t);
  const cart = await tempNetns(t);
  await writeConfig(n, 'shop.yaml', namespaceYaml('shop', true), podYaml('shop', 'cart'));
  const agent = await startAgent(t, n);
  const missed = await cniAdd(n, 'shop', 'cart', cart.path, `${n.cniSocket}.not-yet`);
  t.match(missed, { code: 0 }, 'ADD succeeds, recorded for the agent');
  await waitFor('the recorded pod enrolled', () => agent.statuses()[0]?.enrolled === true, 5000);
  t.equal(await captureState(cart.path), 'installed');
});

t.test('a sandbox whose netns vanished while the agent was down is forgotten', async (t) => {
  const n = await node(t);
  const cart = await tempNetns(t);
  await writeConfig(n, 'shop.yaml', namespaceYaml('shop', true), podYaml('shop', 'cart'));
  const first = await startAgent(t, n);
  t.match(await cniAdd(n, 'shop', 'cart', cart.path), { code: 0 });
  await first.stop();
  await cart.remove();
  const second = await startAgent(t, n);
  t.same(second.statuses(), []);
});

t.test('labelling a namespace enrolls its running pods; ztunnel is told', async (t) => {
  const n = await node(t);
  const cart = await tempNetns(t);
  await writeConfig(n, 'shop.yaml', namespaceYaml('shop', false), podYaml('shop', 'cart'));
  const agent = await startAgent(t, n);
  const ztunnel = await FakeZtunnel.connect(t, n.zdsSocket);
  ztunnel.hello();
  await waitFor('the snapshot', () => ztunnel.summary().includes('snapshot'));
  t.match(await cniAdd(n, 'shop', 'cart', cart.path), { code: 0 });
  t.equal(await captureState(cart.path), 'absent');
  await writeConfig(n, 'shop.yaml', namespaceYaml('shop', true), podYaml('shop', 'cart'));
  await waitFor('ztunnel to hear of the pod', () => ztunnel.summary().includes('add uid-cart'));
  t.equal(await captureState(cart.path), 'installed', 'rules are in before ztunnel is told');
  t.equal(agent.statuses()[0]?.enrolled, true);
});
