import t from 'tap';
import { DEFAULT_TRUST_DOMAIN, parseIdentity, type Identity } from '../../core/identity/spiffe.js';
import {
  defaultNodeTunnelIdentities,
  identityToIssue,
  ImpersonationDeniedError,
  type ImpersonationPolicy,
  type PodLocator,
} from './impersonation.js';

const ztunnel = parseIdentity('spiffe://cluster.local/ns/istio-system/sa/ztunnel');
const productpage = parseIdentity('spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage');
const reviews = parseIdentity('spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews');

/** Pods by node, as the control-plane model would report them. */
class PodsByNode implements PodLocator {
  constructor(private readonly pods: Record<string, Identity[]>) {}
  hasPodOnNode(node: string, identity: Identity): boolean {
    return this.pods[node]?.includes(identity) ?? false;
  }
}

const policy: ImpersonationPolicy = {
  trustDomain: DEFAULT_TRUST_DOMAIN,
  nodeTunnelIdentities: defaultNodeTunnelIdentities(DEFAULT_TRUST_DOMAIN),
  podLocator: new PodsByNode({ 'node-1': [productpage], 'node-2': [reviews] }),
};

t.test('without ImpersonatedIdentity the caller gets its own identity', async (t) => {
  t.equal(identityToIssue({ identity: productpage }, undefined, policy), productpage);
  t.equal(identityToIssue({ identity: productpage }, '', policy), productpage);
  t.equal(identityToIssue({ identity: productpage }, productpage, policy), productpage);
});

t.test('a node tunnel gets the identity of a pod on its own node', async (t) => {
  t.equal(identityToIssue({ identity: ztunnel, node: 'node-1' }, productpage, policy), productpage);
});

t.test('a node tunnel is refused the identity of a pod on another node', async (t) => {
  t.throws(() => identityToIssue({ identity: ztunnel, node: 'node-1' }, reviews, policy), {
    name: ImpersonationDeniedError.name,
    code: 'AMBIT_IMPERSONATION_DENIED',
    caller: ztunnel,
    requested: reviews,
    reason: 'no pod with that identity runs on node node-1',
  });
});

t.test('a caller that is not a node tunnel may not impersonate anyone', async (t) => {
  t.throws(() => identityToIssue({ identity: reviews, node: 'node-1' }, productpage, policy), {
    name: ImpersonationDeniedError.name,
    reason: 'only a node tunnel may ask for another identity',
  });
});

t.test('a node tunnel whose credentials name no node may not impersonate', async (t) => {
  t.throws(() => identityToIssue({ identity: ztunnel }, productpage, policy), {
    name: ImpersonationDeniedError.name,
    reason: "the caller's credentials are not bound to a node",
  });
});

t.test('an identity in another trust domain is refused', async (t) => {
  const foreign = parseIdentity('spiffe://other.mesh/ns/bookinfo/sa/bookinfo-productpage');
  const locator = new PodsByNode({ 'node-1': [foreign] });
  t.throws(
    () =>
      identityToIssue({ identity: ztunnel, node: 'node-1' }, foreign, {
        ...policy,
        podLocator: locator,
      }),
    { name: ImpersonationDeniedError.name, reason: /outside the trust domain cluster\.local/ },
  );
});

t.test('a malformed ImpersonatedIdentity is an invalid identity, not a denial', async (t) => {
  t.throws(() => identityToIssue({ identity: ztunnel, node: 'node-1' }, 'productpage', policy), {
    code: 'AMBIT_INVALID_IDENTITY',
  });
});
