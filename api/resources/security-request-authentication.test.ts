import t from 'tap';
import { validateResource } from './load.js';

function requestAuthentication(spec: unknown, apiVersion = 'security.istio.io/v1') {
  return {
    apiVersion,
    kind: 'RequestAuthentication',
    metadata: { name: 'jwt', namespace: 'bookinfo' },
    spec,
  };
}

const problems = (spec: unknown) =>
  validateResource(requestAuthentication(spec)).errors.map((e) => [e.path, e.reason]);

t.test('Istio’s documented RequestAuthentication is accepted at v1 and v1beta1', async (t) => {
  const spec = {
    targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }],
    jwtRules: [
      {
        issuer: 'testing@secure.istio.io',
        jwksUri:
          'https://raw.githubusercontent.com/istio/istio/release-1.24/security/tools/jwt/samples/jwks.json',
        audiences: ['app'],
        fromHeaders: [{ name: 'x-jwt-assertion', prefix: 'Bearer ' }],
        fromParams: ['token'],
        outputPayloadToHeader: 'x-jwt-payload',
        forwardOriginalToken: true,
        outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }],
        timeout: '5s',
      },
    ],
  };
  for (const version of ['security.istio.io/v1', 'security.istio.io/v1beta1']) {
    const { resource, errors } = validateResource(requestAuthentication(spec, version));
    t.same(errors, [], version);
    t.equal(resource?.type, 'RequestAuthentication');
  }
});

t.test('bad jwt rules are refused at the field', async (t) => {
  t.same(problems({ jwtRules: [{ issuer: '' }] }), [
    ['spec.jwtRules[0].issuer', 'must not be empty'],
  ]);
  t.match(problems({ jwtRules: [{ issuer: 'a', jwksUri: 'ftp://keys' }] }), [
    ['spec.jwtRules[0].jwksUri', /http or https/],
  ]);
  t.match(problems({ jwtRules: [{ issuer: 'a', jwks: '{"nokeys":1}' }] }), [
    ['spec.jwtRules[0].jwks', /JSON Web Key Set/],
  ]);
  t.match(problems({ jwtRules: [{ issuer: 'a' }, { issuer: 'a' }] }), [
    ['spec.jwtRules[1].issuer', /duplicates issuer/],
  ]);
  t.match(problems({ selector: {}, targetRefs: [{ kind: 'Service', name: 'x' }] }), [
    [/targetRefs|selector|spec/, /.+/],
  ]);
});
