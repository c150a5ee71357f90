import t from 'tap';
import { parseSummary } from './k6.js';

const summary = (metrics: object) => JSON.stringify({ metrics });

t.test("k6's summary export becomes requests/s, p50, p99 and failures", async (t) => {
  const text = summary({
    http_reqs: { count: 24346, rate: 12163.0066 },
    http_req_duration: { 'p(50)': 0.1731, 'p(99)': 2.9734 },
    // A Rate metric: `passes` counts true samples, here failed requests.
    http_req_failed: { passes: 3, fails: 24343, value: 0.0001 },
  });
  t.same(parseSummary('step', text, 4), {
    connections: 4,
    requestsPerSecond: 12163.0066,
    p50Ms: 0.1731,
    p99Ms: 2.9734,
    requests: 24346,
    failed: 3,
  });
});

t.test('a summary without requests or without a metric is an error naming it', async (t) => {
  const none = summary({ http_reqs: { count: 0, rate: 0 } });
  t.throws(() => parseSummary('step', none, 1), { code: 'AMBIT_PERF', message: /made no request/ });
  const partial = summary({ http_reqs: { count: 5, rate: 1 }, http_req_duration: {} });
  t.throws(() => parseSummary('step', partial, 1), {
    code: 'AMBIT_PERF',
    message: /no http_req_duration p\(50\)/,
  });
});
