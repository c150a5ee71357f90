import t from 'tap';
import { DEFAULT_BEHAVIOUR, decide } from './behaviour.js';

t.test('a plain request is answered 200 at once', async (t) => {
  t.same(decide(DEFAULT_BEHAVIOUR, 1, {}), { kind: 'reply', status: 200, delayMs: 0 });
});

t.test('every Nth request fails with the fail status', async (t) => {
  const behaviour = { ...DEFAULT_BEHAVIOUR, failEvery: 3, failStatus: 502 };
  const statuses = [1, 2, 3, 4, 5, 6].map((n) => {
    const action = decide(behaviour, n, {});
    return action.kind === 'reply' ? action.status : action.kind;
  });
  t.same(statuses, [200, 200, 502, 200, 200, 502]);
});

t.test('request headers win over the server-wide behaviour', async (t) => {
  const behaviour = { ...DEFAULT_BEHAVIOUR, status: 503, delayMs: 10 };
  t.same(decide(behaviour, 1, { 'x-echo-status': '418', 'x-echo-delay-ms': '0' }), {
    kind: 'reply',
    status: 418,
    delayMs: 0,
  });
  t.same(decide(behaviour, 1, {}), { kind: 'reply', status: 503, delayMs: 10 });
});

t.test('a reset header resets after the delay', async (t) => {
  t.same(decide(DEFAULT_BEHAVIOUR, 1, { 'x-echo-reset': '1', 'x-echo-delay-ms': '20' }), {
    kind: 'reset',
    delayMs: 20,
  });
});

t.test('a malformed control header is a bad request naming the header', async (t) => {
  for (const headers of [
    { 'x-echo-status': 'abc' },
    { 'x-echo-status': '99' },
    { 'x-echo-status': '600' },
    { 'x-echo-delay-ms': '-1' },
    { 'x-echo-delay-ms': '1.5' },
  ]) {
    const action = decide(DEFAULT_BEHAVIOUR, 1, headers);
    t.equal(action.kind, 'bad-request', JSON.stringify(headers));
    if (action.kind === 'bad-request') t.match(action.reason, Object.keys(headers)[0]!);
  }
});
