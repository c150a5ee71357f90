import { Metadata } from '@grpc/grpc-js';
import t from 'tap';
import { bearerToken } from './bearer.js';

function metadata(...values: string[]): Metadata {
  const m = new Metadata();
  for (const value of values) m.add('authorization', value);
  return m;
}

t.test('the token of an authorization: Bearer header is read', async (t) => {
  t.equal(bearerToken(metadata('Bearer abc.def-123')), 'abc.def-123');
  t.equal(bearerToken(metadata('bearer abc')), 'abc');
});

t.test('no header, another scheme, an empty or repeated header gives no token', async (t) => {
  t.equal(bearerToken(new Metadata()), undefined);
  t.equal(bearerToken(metadata('Basic dXNlcjpwYXNz')), undefined);
  t.equal(bearerToken(metadata('Bearer ')), undefined);
  t.equal(bearerToken(metadata('Bearer a b')), undefined);
  t.equal(bearerToken(metadata('Bearer a', 'Bearer b')), undefined);
});
