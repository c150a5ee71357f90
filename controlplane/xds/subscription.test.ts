import t from 'tap';
import { typeSnapshot, type TypeSnapshot } from './snapshot.js';
import { Subscription } from './subscription.js';

const TYPE = 'type.googleapis.com/istio.workload.Address';
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function snapshot(resources: Record<string, string>): TypeSnapshot {
  return typeSnapshot(
    TYPE,
    new Map(Object.entries(resources).map(([name, body]) => [name, bytes(body)])),
  );
}

function sent(subscription: Subscription, snap: TypeSnapshot, nonce: string) {
  const planned = subscription.plan(snap, nonce);
  return planned && { upserts: [...planned.upserts.keys()], removals: [...planned.removals] };
}

t.test('an empty first subscribe list is a wildcard subscription', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  t.ok(sub.wildcard);
  t.strictSame(sent(sub, snapshot({ a: '1', b: '2' }), 'n1'), {
    upserts: ['a', 'b'],
    removals: [],
  });
});

t.test('a new subscription is answered even when there is nothing to send', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  const planned = sub.plan(snapshot({}), 'n1');
  t.equal(planned?.nonce, 'n1');
  t.equal(planned?.upserts.size, 0);
  t.equal(planned?.removals.length, 0);
  sub.reply('n1', false);
  t.equal(sub.plan(snapshot({}), 'n2'), undefined, 'later, an empty diff sends nothing');
});

t.test('a subscription waits for the type to have a snapshot', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  t.equal(sub.plan(undefined, 'n1'), undefined);
  t.equal(sub.plan(snapshot({ a: '1' }), 'n2')?.nonce, 'n2');
});

t.test(
  'explicit names limit what is sent; * adds the wildcard; unsubscribing * ends it',
  async (t) => {
    const sub = new Subscription(TYPE, { subscribe: ['a'] });
    t.notOk(sub.wildcard);
    const snap = snapshot({ a: '1', b: '2' });
    t.strictSame(sent(sub, snap, 'n1'), { upserts: ['a'], removals: [] });
    sub.reply('n1', false);
    sub.change(['*'], []);
    t.strictSame(sent(sub, snap, 'n2'), { upserts: ['b'], removals: [] });
    sub.reply('n2', false);
    sub.change([], ['*']);
    t.strictSame([...sub.acked.keys()], ['a'], 'the client forgets what only the wildcard covered');
  },
);

t.test(
  'an explicitly subscribed name that does not exist is answered as removed, once',
  async (t) => {
    const sub = new Subscription(TYPE, { subscribe: ['a', 'missing'] });
    const snap = snapshot({ a: '1' });
    t.strictSame(sent(sub, snap, 'n1'), { upserts: ['a'], removals: ['missing'] });
    sub.reply('n1', false);
    t.equal(sub.plan(snap, 'n2'), undefined);
  },
);

t.test('unsubscribing a name forgets it, and it is not removed later', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: ['a', 'b'] });
  sub.plan(snapshot({ a: '1', b: '2' }), 'n1');
  sub.reply('n1', false);
  sub.change([], ['b']);
  t.strictSame([...sub.acked.keys()], ['a']);
  t.strictSame(sent(sub, snapshot({ a: '1' }), 'n2'), undefined);
});

t.test('one response per type is in flight; changes meanwhile go out after the ACK', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  t.ok(sub.plan(snapshot({ a: '1' }), 'n1'));
  t.equal(sub.plan(snapshot({ a: '2' }), 'n2'), undefined, 'held while n1 is unanswered');
  t.equal(sub.inFlight?.nonce, 'n1');
  t.equal(sub.reply('n1', false).kind, 'ack');
  t.equal(sub.inFlight, undefined);
  t.strictSame(sent(sub, snapshot({ a: '2' }), 'n3'), { upserts: ['a'], removals: [] });
});

t.test('an ACK records what the client holds, including removals', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  const first = snapshot({ a: '1', b: '2' });
  sub.plan(first, 'n1');
  sub.reply('n1', false);
  t.strictSame(Object.fromEntries(sub.acked), {
    a: first.resources.get('a')?.version,
    b: first.resources.get('b')?.version,
  });
  t.strictSame(sent(sub, snapshot({ a: '1' }), 'n2'), { upserts: [], removals: ['b'] });
  sub.reply('n2', false);
  t.strictSame([...sub.acked.keys()], ['a']);
});

t.test('a reply with an unknown or old nonce is stale and changes nothing', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  sub.plan(snapshot({ a: '1' }), 'n1');
  t.equal(sub.reply('other', false).kind, 'stale');
  t.equal(sub.inFlight?.nonce, 'n1');
  t.equal(sub.acked.size, 0);
  t.equal(sub.reply('n1', false).kind, 'ack');
  t.equal(sub.reply('n1', false).kind, 'stale', 'the same nonce twice is stale the second time');
});

t.test('after a NACK the client keeps its last good versions', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  const good = snapshot({ a: '1' });
  sub.plan(good, 'n1');
  sub.reply('n1', false);
  sub.plan(snapshot({ a: 'bad' }), 'n2');
  const outcome = sub.reply('n2', true);
  t.equal(outcome.kind, 'nack');
  t.equal(sub.acked.get('a'), good.resources.get('a')?.version);
});

t.test('a NACKed version is not resent; it goes out again only when it changes', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  sub.plan(snapshot({ a: '1', b: '1' }), 'n1');
  sub.reply('n1', false);
  const bad = snapshot({ a: 'bad', b: '1' });
  sub.plan(bad, 'n2');
  sub.reply('n2', true);
  t.equal(sub.plan(bad, 'n3'), undefined, 'the rejected version is not sent again');
  t.strictSame(
    sent(sub, snapshot({ a: 'bad', b: '2' }), 'n4'),
    { upserts: ['b'], removals: [] },
    'other changes flow, without the rejected resource',
  );
  sub.reply('n4', false);
  t.strictSame(sent(sub, snapshot({ a: 'fixed', b: '2' }), 'n5'), { upserts: ['a'], removals: [] });
  sub.reply('n5', false);
  t.equal(sub.plan(snapshot({ a: 'fixed', b: '2' }), 'n6'), undefined);
});

t.test('a NACKed removal is not resent until the resource comes back and goes again', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  sub.plan(snapshot({ a: '1', b: '1' }), 'n1');
  sub.reply('n1', false);
  sub.plan(snapshot({ a: '1' }), 'n2');
  sub.reply('n2', true);
  t.equal(sub.plan(snapshot({ a: '1' }), 'n3'), undefined);
  t.equal(sub.plan(snapshot({ a: '1', b: '1' }), 'n4'), undefined, 'back as the client holds it');
  t.strictSame(sent(sub, snapshot({ a: '1' }), 'n5'), { upserts: [], removals: ['b'] });
});

t.test('a NACKed version that comes back after another change is sent again', async (t) => {
  const sub = new Subscription(TYPE, { subscribe: [] });
  sub.plan(snapshot({ a: '1' }), 'n1');
  sub.reply('n1', false);
  sub.plan(snapshot({ a: 'bad' }), 'n2');
  sub.reply('n2', true);
  t.equal(sub.plan(snapshot({ a: '1' }), 'n3'), undefined, 'the client already holds 1');
  t.strictSame(sent(sub, snapshot({ a: 'bad' }), 'n4'), { upserts: ['a'], removals: [] });
});

t.test('initial resource versions count as held: only the difference is sent', async (t) => {
  const before = snapshot({ same: 's', changed: 'old', gone: 'g' });
  const initialVersions = Object.fromEntries(
    [...before.resources].map(([name, resource]) => [name, resource.version]),
  );
  const sub = new Subscription(TYPE, { subscribe: [], initialVersions });
  t.strictSame(sent(sub, snapshot({ same: 's', changed: 'new', added: 'a' }), 'n1'), {
    upserts: ['added', 'changed'],
    removals: ['gone'],
  });
});

t.test(
  'a reconnect that holds exactly the current state still gets a first response',
  async (t) => {
    const current = snapshot({ a: '1' });
    const sub = new Subscription(TYPE, {
      subscribe: [],
      initialVersions: { a: current.resources.get('a')?.version ?? '' },
    });
    const planned = sub.plan(current, 'n1');
    t.equal(planned?.upserts.size, 0);
    t.equal(planned?.removals.length, 0);
    t.equal(planned?.systemVersion, current.version);
  },
);

t.test(
  'sync status: NOT SENT, then STALE while unanswered or behind, SYNCED once ACKed',
  async (t) => {
    const sub = new Subscription(TYPE, { subscribe: [] });
    const first = snapshot({ a: '1' });
    t.equal(sub.status(first), 'NOT SENT');
    t.equal(sub.status(undefined), 'NOT SENT', 'no snapshot yet');
    sub.plan(first, 'n1');
    t.equal(sub.status(first), 'STALE', 'a response is in flight');
    sub.reply('n1', false);
    t.equal(sub.status(first), 'SYNCED');
    t.equal(sub.ackedVersion, first.version);
    const second = snapshot({ a: '2' });
    t.equal(sub.status(second), 'STALE', 'the snapshot moved on');
    sub.plan(second, 'n2');
    sub.reply('n2', true);
    t.equal(sub.status(second), 'STALE', 'a NACKed change is not held');
    t.equal(sub.ackedVersion, first.version, 'a NACK leaves the ACKed version');
  },
);
