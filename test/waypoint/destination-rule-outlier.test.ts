import t, { type Test } from 'tap';
import { netnsAgent } from '../support/netns.js';
import type { EchoAnswer } from '../support/waypoint.js';
import { startDrMesh, tally, type DumpedCluster } from './destination-rule-mesh.js';

// DestinationRule outlier detection at a waypoint, end to end: two echo pods behind each
// service, `reviews-v2` made to fail, and the waypoint's ejections observed in what the pods
// are sent and in its /config_dump. Each case has a service (so a cluster, with its own
// detector) of its own over the same two pods.
// https://istio.io/latest/docs/reference/config/networking/destination-rule/#OutlierDetection

const PORT = 9080;
const CASES = ['consecutive', 'gateway', 'default-cap', 'half-cap', 'min-health'] as const;
type Case = (typeof CASES)[number];

t.test('DestinationRule outlier detection at a waypoint', async (t) => {
  const dr = await startDrMesh(t, {
    backends: ['v1', 'v2'].map((version) => ({
      name: `reviews-${version}`,
      labels: { app: 'reviews', version },
      ports: [PORT],
    })),
    services: CASES.map((name) => ({
      name,
      selector: { app: 'reviews' },
      ports: [{ name: 'http', port: PORT, targetPort: PORT }],
    })),
  });
  const pods = { good: dr.backend('reviews-v1'), bad: dr.backend('reviews-v2') };
  const agent = netnsAgent(t, dr.client.netnsPath, { maxSockets: 4 });
  const podOf = (answer: EchoAnswer): string => answer.reply?.pod ?? `HTTP ${answer.status}`;
  /** `n` requests to the case's service, one after another. */
  const inTurn = async (service: Case, n: number) => {
    const answers: EchoAnswer[] = [];
    for (let i = 0; i < n; i++) answers.push(await dr.ask(service, PORT, { agent }));
    return answers;
  };
  /** Writes the case's rule and waits until the waypoint runs it over both (healthy) pods. */
  const detect = async (service: Case, outlierDetection: Record<string, unknown>) => {
    await dr.destinationRule(service, { host: service, trafficPolicy: { outlierDetection } });
    await dr.waitCluster(
      dr.clusterName(service, PORT),
      (c) => c.policy.outlierDetection !== undefined && c.endpoints.length === 2,
    );
  };
  /** Makes a pod answer every request with `status` for the rest of the test `t`. */
  const failing = (t: Test, pod: keyof typeof pods, status: number) => {
    const { behaviour } = pods[pod].echo;
    behaviour.status = status;
    t.teardown(() => void (behaviour.status = 200));
  };
  /** Which pods the waypoint has ejected from the case's cluster now. */
  const ejected = async (service: Case): Promise<string[]> => {
    const cluster = (await dr.cluster(dr.clusterName(service, PORT))) as DumpedCluster;
    const ips = cluster.endpoints.filter((e) => e.ejected).map((e) => e.endpoint.split(':')[0]);
    return Object.values(pods)
      .filter((b) => ips.includes(b.pod.ip))
      .map((b) => b.pod.name);
  };
  /**
   * Requests until `pod` has answered `failures` times (at most 200 requests); resolves with
   * when the last of those answers arrived.
   */
  const untilFailed = async (service: Case, pod: string, failures: number) => {
    for (let seen = 0, i = 0; i < 200; i++) {
      const answer = await dr.ask(service, PORT, { agent });
      if (podOf(answer) === pod && ++seen === failures) return performance.now();
    }
    throw new Error(`${pod} did not answer ${failures} times in 200 requests`);
  };

  t.test('consecutive5xxErrors ejects a failing pod, baseEjectionTime readmits it', async (t) => {
    await detect('consecutive', {
      consecutive5xxErrors: 3,
      interval: '1s',
      baseEjectionTime: '2s',
      maxEjectionPercent: 100,
    });
    failing(t, 'bad', 500);
    await untilFailed('consecutive', 'reviews-v2', 2);
    t.same(await ejected('consecutive'), [], 'two 500s in a row are not enough');
    const ejectedAt = await untilFailed('consecutive', 'reviews-v2', 1);
    t.same(await ejected('consecutive'), ['reviews-v2'], 'the third ejects it');
    t.same(
      tally(await inTurn('consecutive', 20)),
      { 'reviews-v1': 20 },
      'an ejected pod is sent nothing',
    );
    // Envoy readmits at the first interval tick at least baseEjectionTime after the ejection.
    await dr.waitCluster(dr.clusterName('consecutive', PORT), (c) =>
      c.endpoints.every((e) => !e.ejected),
    );
    const out = performance.now() - ejectedAt;
    t.ok(out >= 1900 && out <= 4000, `readmitted ${Math.round(out)} ms after (2 s, ticks of 1 s)`);
    await untilFailed('consecutive', 'reviews-v2', 1);
    t.pass('the readmitted pod is sent requests again');
  });

  t.test('consecutiveGatewayErrors counts 502, 503 and 504 only', async (t) => {
    await detect('gateway', {
      consecutive5xxErrors: 0,
      consecutiveGatewayErrors: 2,
      interval: '1s',
      baseEjectionTime: '30s',
      maxEjectionPercent: 100,
    });
    failing(t, 'bad', 500);
    await untilFailed('gateway', 'reviews-v2', 10);
    t.same(await ejected('gateway'), [], 'ten 500s in a row eject nothing');
    // 503 would be retried on the other pod by Istio's default retry policy; 502 is not.
    failing(t, 'bad', 502);
    await untilFailed('gateway', 'reviews-v2', 1);
    t.same(await ejected('gateway'), [], 'one 502 is not enough');
    await untilFailed('gateway', 'reviews-v2', 1);
    t.same(await ejected('gateway'), ['reviews-v2'], 'the second 502 in a row ejects it');
    t.same(tally(await inTurn('gateway', 20)), { 'reviews-v1': 20 });
  });

  t.test('maxEjectionPercent left at 10 %: one of two pods is never ejected', async (t) => {
    // Envoy ≥ 1.27 counts the ejection it is about to make: 1 of 2 hosts is 50 % > 10 %, so
    // the failing pod keeps its traffic (before, Envoy always let one host go).
    await detect('default-cap', {
      consecutive5xxErrors: 3,
      interval: '1s',
      baseEjectionTime: '30s',
    });
    failing(t, 'bad', 500);
    await untilFailed('default-cap', 'reviews-v2', 12);
    t.same(await ejected('default-cap'), [], 'twelve 500s in a row eject nothing');
    const answers = tally(await inTurn('default-cap', 20));
    t.ok(
      (answers['reviews-v2'] ?? 0) > 0,
      `the failing pod still answers: ${JSON.stringify(answers)}`,
    );
  });

  t.test('maxEjectionPercent 50: of two failing pods, one is ejected', async (t) => {
    await detect('half-cap', {
      consecutive5xxErrors: 3,
      interval: '1s',
      baseEjectionTime: '30s',
      maxEjectionPercent: 50,
    });
    failing(t, 'bad', 500);
    failing(t, 'good', 500);
    // Enough for both to fail three times in a row (the second pod's run comes at the latest
    // once the first is ejected and it takes every request).
    await inTurn('half-cap', 40);
    const out = await ejected('half-cap');
    t.equal(out.length, 1, `one pod ejected: ${JSON.stringify(out)}`);
    const kept = out[0] === 'reviews-v1' ? 'reviews-v2' : 'reviews-v1';
    t.same(tally(await inTurn('half-cap', 20)), { [kept]: 20 }, 'the other takes every request');
    t.same(await ejected('half-cap'), out, 'and is not ejected, whatever it answers');
  });

  t.test('minHealthPercent: below it, an ejected pod takes traffic again (panic)', async (t) => {
    // 1 healthy pod of 2 is 50 % < 60 %: Envoy's panic threshold (Istio's minHealthPercent)
    // balances over every pod, ejected or not.
    await detect('min-health', {
      consecutive5xxErrors: 3,
      interval: '1s',
      baseEjectionTime: '30s',
      maxEjectionPercent: 100,
      minHealthPercent: 60,
    });
    failing(t, 'bad', 500);
    await untilFailed('min-health', 'reviews-v2', 3);
    t.same(await ejected('min-health'), ['reviews-v2'], 'ejected after three 500s');
    const answers = tally(await inTurn('min-health', 30));
    t.ok(
      (answers['reviews-v2'] ?? 0) > 0,
      `the ejected pod still answers: ${JSON.stringify(answers)}`,
    );
    t.same(await ejected('min-health'), ['reviews-v2'], 'while it stays ejected');
  });
});
