import t from 'tap';
import { decideFault } from './fault.js';
import { draws } from './testing/fixtures.js';

t.test('no fault policy injects nothing and draws nothing', async (t) => {
  t.same(decideFault(undefined, draws()), {});
});

t.test('100 % always fires and 0 % never does', async (t) => {
  const fault = {
    delay: { fixedDelayMs: 500, percentage: 100 },
    abort: { httpStatus: 503, percentage: 0 },
  };
  t.same(decideFault(fault, draws(0.999999, 0)), { delayMs: 500 });
});

t.test(
  'a fractional percentage fires for that share of draws (0.5 % is 5000 per million)',
  async (t) => {
    const fault = { abort: { httpStatus: 418, percentage: 0.5 } };
    t.same(decideFault(fault, draws(0.004999)), { abortStatus: 418 });
    t.same(decideFault(fault, draws(0.005)), {});
  },
);

t.test('the delay is drawn first, then the abort, each on its own', async (t) => {
  const fault = {
    delay: { fixedDelayMs: 100, percentage: 50 },
    abort: { httpStatus: 500, percentage: 50 },
  };
  t.same(decideFault(fault, draws(0.1, 0.9)), { delayMs: 100 });
  t.same(decideFault(fault, draws(0.9, 0.1)), { abortStatus: 500 });
  t.same(decideFault(fault, draws(0.1, 0.1)), { delayMs: 100, abortStatus: 500 });
});

t.test('a gRPC abort carries its grpc-status', async (t) => {
  const fault = { abort: { httpStatus: 200, grpcStatus: 14, percentage: 100 } };
  t.same(decideFault(fault, draws(0)), { abortStatus: 200, abortGrpcStatus: 14 });
});
