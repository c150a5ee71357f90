import t from 'tap';
import { ConnectionTracker } from './connections.js';

const fakeConnection = () => {
  const connection = { destroyed: false, destroy: () => void (connection.destroyed = true) };
  return connection;
};

t.test('a drain with nothing open finishes at once', async (t) => {
  t.same(await new ConnectionTracker().drain(10_000), { finished: true, cut: 0 });
});

t.test('a drain waits for open connections to end by themselves', async (t) => {
  const tracker = new ConnectionTracker();
  const connection = fakeConnection();
  const done = tracker.add(connection, { direction: 'inbound', source: 'a', destination: 'b' });
  const drained = tracker.drain(10_000);
  t.equal(tracker.size, 1);
  done();
  t.same(await drained, { finished: true, cut: 0 });
  t.notOk(connection.destroyed, 'a connection that finished is not cut');
});

t.test('a drain cuts what is still open at its deadline', async (t) => {
  const tracker = new ConnectionTracker();
  const slow = fakeConnection();
  tracker.add(slow, { direction: 'outbound', source: 'a', destination: 'b' });
  t.same(await tracker.drain(20), { finished: false, cut: 1 });
  t.ok(slow.destroyed);
});

t.test('the list names each open connection', async (t) => {
  const tracker = new ConnectionTracker();
  const done = tracker.add(fakeConnection(), {
    direction: 'outbound',
    source: 'demo/sleep',
    destination: '10.0.0.1:80',
  });
  t.match(tracker.list(), [
    { direction: 'outbound', source: 'demo/sleep', destination: '10.0.0.1:80' },
  ]);
  done();
  t.same(tracker.list(), []);
});
