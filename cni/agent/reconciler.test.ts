import t from 'tap';
import { silentLogger } from '../../core/telemetry/log.js';
import { Registry } from '../../core/telemetry/metrics.js';
import { EnrollmentError, SandboxCheckError } from './errors.js';
import { createAgentMetrics } from './metrics.js';
import { podUid, type NamespaceInfo, type PodInfo, type PodUid } from './pod-source.js';
import { Reconciler, type CaptureRules } from './reconciler.js';
import type { Sandbox } from './sandbox.js';
import type { WorkloadPublisher, ZdsWorkload } from './workload.js';

// The reconciler over plain data: a fake pod source, capture rules that only record what
// they were asked, a zds sender that only records what it was told.

type Call =
  ['install', string] | ['remove', string] | ['zds-add', string, string] | ['zds-del', string];

class World {
  readonly calls: Call[] = [];
  readonly pods = new Map<string, PodInfo>();
  readonly namespaces = new Map<string, NamespaceInfo>();
  readonly netns = new Set<string>();
  /** Netns paths whose install/remove fails; `vanish` also removes the netns as it fails. */
  readonly failing = new Map<string, 'fail' | 'vanish'>();
  readonly installed = new Set<string>();
  readonly saved: Sandbox[][] = [];
  readonly registry = new Registry();
  readonly metrics = createAgentMetrics(this.registry);
  /** Most rule operations seen running at once. */
  maxConcurrent = 0;
  private running = 0;

  readonly rules: CaptureRules = {
    installCapture: (netns) => this.rule('install', netns),
    removeCapture: (netns) => this.rule('remove', netns),
    captureState: async (netns) => (this.installed.has(netns) ? 'installed' : 'absent'),
  };

  readonly workloads: WorkloadPublisher = {
    add: async (w: ZdsWorkload) => {
      this.calls.push(['zds-add', w.uid, w.netns]);
    },
    del: async (uid: PodUid) => {
      this.calls.push(['zds-del', uid]);
    },
  };

  reconciler(): Reconciler {
    return new Reconciler({
      pods: {
        pod: (ns, name) => this.pods.get(`${ns}/${name}`),
        namespace: (name) => this.namespaces.get(name),
      },
      rules: this.rules,
      workloads: this.workloads,
      persist: async (sandboxes) => {
        this.saved.push([...sandboxes]);
      },
      logger: silentLogger(),
      metrics: this.metrics,
      netnsExists: (path) => this.netns.has(path),
    });
  }

  namespace(name: string, mode?: string): void {
    this.namespaces.set(name, {
      name,
      labels: mode === undefined ? {} : { 'istio.io/dataplane-mode': mode },
    });
  }

  pod(namespace: string, name: string, fields: Partial<PodInfo> = {}): void {
    this.pods.set(`${namespace}/${name}`, {
      uid: podUid(`uid-${name}`),
      name,
      namespace,
      labels: {},
      annotations: {},
      serviceAccount: `sa-${name}`,
      hostNetwork: false,
      ...fields,
    });
  }

  sandbox(namespace: string, name: string, containerId = `c-${name}`): Sandbox {
    const netns = `/run/netns/${name}-${containerId}`;
    this.netns.add(netns);
    return {
      uid: podUid(`uid-${name}`),
      containerId,
      netns,
      ifname: 'eth0',
      pod: { name, namespace },
      ips: ['10.0.0.1'],
    };
  }

  async failures(reason: string): Promise<number> {
    const metric = await this.registry
      .getSingleMetric('ambit_cni_enrollment_failures_total')
      ?.get();
    return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
  }

  async enrolledGauge(): Promise<number> {
    const metric = await this.registry.getSingleMetric('ambit_cni_enrolled_pods')?.get();
    return metric?.values[0]?.value ?? 0;
  }

  private async rule(kind: 'install' | 'remove', netns: string): Promise<void> {
    this.running++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.running);
    try {
      // Let other operations run if the reconciler allowed them to.
      await new Promise((resolve) => setImmediate(resolve));
      this.calls.push([kind, netns]);
      const failing = this.failing.get(netns);
      if (failing === 'vanish') this.netns.delete(netns);
      if (failing !== undefined) throw new Error(`${kind} failed in ${netns}`);
      if (kind === 'install') this.installed.add(netns);
      else this.installed.delete(netns);
    } finally {
      this.running--;
    }
  }
}

t.test('a pod in an ambient namespace is captured, then handed to ztunnel', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.pod('shop', 'cart');
  const sandbox = w.sandbox('shop', 'cart');
  const result = await w.reconciler().add(sandbox);
  t.same(result, { enrolled: true });
  t.same(w.calls, [
    ['install', sandbox.netns],
    ['zds-add', 'uid-cart', sandbox.netns],
  ]);
  t.same(w.saved.at(-1), [sandbox], 'the sandbox is saved');
  t.equal(await w.enrolledGauge(), 1);
});

t.test('a pod outside the mesh is recorded without touching its netns', async (t) => {
  const w = new World();
  w.namespace('shop');
  w.pod('shop', 'cart');
  const sandbox = w.sandbox('shop', 'cart');
  t.same(await w.reconciler().add(sandbox), { enrolled: false });
  t.same(w.calls, []);
  t.same(w.saved.at(-1), [sandbox], 'known, so that labelling the namespace later enrolls it');
});

t.test(
  'labelling the namespace enrolls a running pod; removing the label releases it',
  async (t) => {
    const w = new World();
    w.namespace('shop');
    w.pod('shop', 'cart');
    const sandbox = w.sandbox('shop', 'cart');
    const reconciler = w.reconciler();
    await reconciler.add(sandbox);
    w.namespace('shop', 'ambient');
    await reconciler.reconcile();
    t.same(w.calls, [
      ['install', sandbox.netns],
      ['zds-add', 'uid-cart', sandbox.netns],
    ]);
    w.calls.length = 0;
    w.namespace('shop');
    await reconciler.reconcile();
    t.same(w.calls, [
      ['remove', sandbox.netns],
      ['zds-del', 'uid-cart'],
    ]);
    t.equal(reconciler.enrolledCount(), 0);
  },
);

t.test('a pod labelled none opts out of an ambient namespace', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.pod('shop', 'cart', { labels: { 'istio.io/dataplane-mode': 'none' } });
  t.same(await w.reconciler().add(w.sandbox('shop', 'cart')), { enrolled: false });
  t.same(w.calls, []);
});

t.test('a Pod of the same name with another uid is not the sandbox’s pod', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.pod('shop', 'cart', { uid: podUid('a-newer-pod') });
  t.same(await w.reconciler().add(w.sandbox('shop', 'cart')), { enrolled: false });
  t.same(w.calls, []);
});

t.test('a pod that is not in the source yet is enrolled when it appears', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  const sandbox = w.sandbox('shop', 'cart');
  const reconciler = w.reconciler();
  t.same(await reconciler.add(sandbox), { enrolled: false });
  w.pod('shop', 'cart');
  await reconciler.reconcile();
  t.same(w.calls, [
    ['install', sandbox.netns],
    ['zds-add', 'uid-cart', sandbox.netns],
  ]);
});

t.test('ADD fails when the rules of a mesh pod cannot be installed', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.pod('shop', 'cart');
  const sandbox = w.sandbox('shop', 'cart');
  w.failing.set(sandbox.netns, 'fail');
  const reconciler = w.reconciler();
  await t.rejects(reconciler.add(sandbox), EnrollmentError);
  t.same(
    w.calls.filter((c) => c[0] === 'zds-add'),
    [],
    'ztunnel is not told about it',
  );
  t.equal(await w.failures('capture_rules'), 1);
  t.same(reconciler.statuses(), [], 'the failed sandbox is not kept');
});

t.test('a netns that vanishes mid-enrollment is counted and forgotten', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.pod('shop', 'cart');
  w.pod('shop', 'web');
  const cart = w.sandbox('shop', 'cart');
  const web = w.sandbox('shop', 'web');
  const reconciler = w.reconciler();
  reconciler.restore([cart, web]);
  w.failing.set(cart.netns, 'vanish');
  await reconciler.reconcile();
  t.equal(await w.failures('netns_gone'), 1);
  t.same(
    reconciler.statuses().map((s) => [s.sandbox.uid, s.enrolled]),
    [['uid-web', true]],
    'the other pod is enrolled all the same',
  );
  t.same(w.saved.at(-1), [web]);
});

t.test('after a restart every known sandbox is brought to its wanted state', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.namespace('plain');
  w.pod('shop', 'cart');
  w.pod('plain', 'db');
  const cart = w.sandbox('shop', 'cart');
  const db = w.sandbox('plain', 'db');
  const gone = w.sandbox('shop', 'gone');
  w.netns.delete(gone.netns);
  const reconciler = w.reconciler();
  reconciler.restore([cart, db, gone]);
  await reconciler.reconcile();
  t.same(w.calls, [
    // Rules may be partial after a crash: installing is idempotent, so it is redone.
    ['install', cart.netns],
    ['zds-add', 'uid-cart', cart.netns],
    // The namespace may have left the mesh while the agent was down: stale rules go.
    ['remove', db.netns],
  ]);
  t.same(w.saved.at(-1), [cart, db], 'the sandbox whose netns is gone is forgotten');
  w.calls.length = 0;
  await reconciler.reconcile();
  t.same(w.calls, [], 'a second pass has nothing to do');
});

t.test('DEL forgets the sandbox and tells ztunnel; an unknown one is fine', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.pod('shop', 'cart');
  const sandbox = w.sandbox('shop', 'cart');
  const reconciler = w.reconciler();
  await reconciler.add(sandbox);
  w.calls.length = 0;
  await reconciler.delete('no-such-container');
  t.same(w.calls, []);
  await reconciler.delete(sandbox.containerId);
  t.same(w.calls, [['zds-del', 'uid-cart']]);
  t.same(reconciler.statuses(), []);
  t.same(w.saved.at(-1), []);
});

t.test('a new sandbox for the same pod replaces the old one in ztunnel', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.pod('shop', 'cart');
  const reconciler = w.reconciler();
  const first = w.sandbox('shop', 'cart', 'c-1');
  const second = w.sandbox('shop', 'cart', 'c-2');
  await reconciler.add(first);
  await reconciler.add(second);
  // The old sandbox's DEL arrives late: it must not remove the new one.
  await reconciler.delete('c-1');
  t.same(w.calls, [
    ['install', first.netns],
    ['zds-add', 'uid-cart', first.netns],
    ['install', second.netns],
    ['zds-add', 'uid-cart', second.netns],
  ]);
  t.same(
    reconciler.statuses().map((s) => s.sandbox.containerId),
    ['c-2'],
  );
});

t.test('operations never overlap, and passes asked for meanwhile are merged', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  const reconciler = w.reconciler();
  const sandboxes = ['a', 'b', 'c'].map((name) => {
    w.pod('shop', name);
    return w.sandbox('shop', name);
  });
  reconciler.restore(sandboxes);
  const passes = [reconciler.reconcile(), reconciler.reconcile()];
  const adds = [reconciler.add(w.sandbox('shop', 'a', 'c-a2'))];
  passes.push(reconciler.reconcile(), reconciler.reconcile());
  await Promise.all([...passes, ...adds]);
  t.equal(w.maxConcurrent, 1);
  t.equal(passes[0], passes[1], 'a pass requested while one waits is shared');
  t.equal(passes[2], passes[3]);
  t.equal(
    w.calls.filter((c) => c[0] === 'install').length,
    4,
    'three restored sandboxes and the replacement of one',
  );
});

t.test('CHECK compares the rules in the netns with the decision', async (t) => {
  const w = new World();
  w.namespace('shop', 'ambient');
  w.pod('shop', 'cart');
  const sandbox = w.sandbox('shop', 'cart');
  const reconciler = w.reconciler();
  await reconciler.add(sandbox);
  t.same(await reconciler.check(sandbox), { enrolled: true });
  w.installed.delete(sandbox.netns);
  await t.rejects(reconciler.check(sandbox), SandboxCheckError);
  await t.rejects(
    reconciler.check({ ...sandbox, containerId: 'other' }),
    SandboxCheckError,
    'a sandbox the agent does not know',
  );
});
