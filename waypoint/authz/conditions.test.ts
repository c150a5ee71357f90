import t from 'tap';
import type { PolicyCondition } from '../../api/waypoint/config.js';
import { canonicalIpBytes } from '../../core/net/ip.js';
import type { RequestAttributes } from './attributes.js';
import { conditionMatches } from './conditions.js';

const base: RequestAttributes = {
  peer: {
    principal: 'cluster.local/ns/demo/sa/client',
    namespace: 'demo',
    trustDomain: 'cluster.local',
    sourceIp: canonicalIpBytes('10.1.0.5'),
  },
  method: 'GET',
  path: '/',
  authority: 'echo',
  headers: { 'x-user': 'alice', 'x-many': ['a', 'b'] },
  destinationIp: canonicalIpBytes('10.96.0.10'),
  destinationPort: 9080,
  jwt: {
    principal: 'https://issuer/alice',
    audiences: ['api', 'web'],
    presenter: 'cli',
    claims: { iss: 'https://issuer', groups: ['dev', 'ops'], org: { team: 'mesh' }, 'a.b': 'flat' },
  },
};

const when = (condition: PolicyCondition, r: RequestAttributes = base) =>
  conditionMatches(condition, r);

t.test('headers: any value matches, notValues none, names case-insensitive', async (t) => {
  t.equal(when({ key: 'request.headers[X-User]', values: ['bob', 'alice'] }), true);
  t.equal(when({ key: 'request.headers[x-user]', values: ['al*'] }), true);
  t.equal(when({ key: 'request.headers[x-user]', notValues: ['alice'] }), false);
  t.equal(when({ key: 'request.headers[x-many]', values: ['a,b'] }), true, 'joined with ,');
  t.equal(when({ key: 'request.headers[x-none]', values: ['*'] }), false);
  t.equal(when({ key: 'request.headers[x-none]', notValues: ['x'] }), true);
});

t.test('peer and destination attributes', async (t) => {
  t.equal(when({ key: 'source.ip', values: ['10.1.0.0/16'] }), true);
  t.equal(when({ key: 'remote.ip', values: ['10.2.0.0/16'] }), false);
  t.equal(when({ key: 'source.namespace', values: ['demo'] }), true);
  t.equal(when({ key: 'source.principal', values: ['*/sa/client'] }), true);
  t.equal(when({ key: 'source.trustDomain', values: ['cluster.local'] }), true);
  t.equal(when({ key: 'destination.ip', values: ['10.96.0.10'] }), true);
  t.equal(when({ key: 'destination.port', values: ['9080'] }), true);
  t.equal(when({ key: 'destination.port', values: ['80'] }), false);
  t.equal(when({ key: 'connection.sni', values: ['*'] }), false, 'no SNI inside the tunnel');
});

t.test('request.auth attributes and claims, nested', async (t) => {
  t.equal(when({ key: 'request.auth.principal', values: ['https://issuer/*'] }), true);
  t.equal(when({ key: 'request.auth.audiences', values: ['web'] }), true);
  t.equal(when({ key: 'request.auth.presenter', values: ['cli'] }), true);
  t.equal(when({ key: 'request.auth.claims[groups]', values: ['ops'] }), true);
  t.equal(when({ key: 'request.auth.claims[groups]', values: ['admin'] }), false);
  t.equal(when({ key: 'request.auth.claims[org][team]', values: ['mesh'] }), true);
  t.equal(when({ key: 'request.auth.claims[org.team]', values: ['mesh'] }), true);
  t.equal(when({ key: 'request.auth.claims[a.b]', values: ['flat'] }), true);
  const anonymous = { ...base, jwt: undefined };
  t.equal(when({ key: 'request.auth.claims[groups]', values: ['ops'] }, anonymous), false);
  t.equal(when({ key: 'request.auth.principal', notValues: ['*'] }, anonymous), true);
});
