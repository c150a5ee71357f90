import t from 'tap';
import { forwardedFor, sourceAddressOf } from './source.js';

t.test("the tunnel's forwarded for= names the source workload", async (t) => {
  t.equal(forwardedFor('for="10.1.2.3"'), '10.1.2.3');
  t.equal(forwardedFor('for=10.1.2.3'), '10.1.2.3');
  t.equal(forwardedFor('for="10.1.2.3:41234";proto=http'), '10.1.2.3');
  t.equal(forwardedFor('for="[2001:db8::7]:80"'), '2001:db8::7');
  t.equal(forwardedFor('proto=http;for="10.0.0.9", for=10.0.0.1'), '10.0.0.9');
  t.equal(forwardedFor('for=unknown'), undefined);
});

t.test('without a usable forwarded header the peer address is the source', async (t) => {
  t.equal(sourceAddressOf({ headers: {}, peerAddress: '10.0.0.4' }), '10.0.0.4');
  t.equal(
    sourceAddressOf({ headers: { forwarded: 'for=_hidden' }, peerAddress: '10.0.0.4' }),
    '10.0.0.4',
  );
  t.equal(sourceAddressOf({ headers: {}, peerAddress: '::ffff:10.0.0.4' }), '10.0.0.4');
  t.equal(
    sourceAddressOf({ headers: { forwarded: 'for="10.9.9.9"' }, peerAddress: '10.0.0.4' }),
    '10.9.9.9',
  );
});
