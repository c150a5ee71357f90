import t from 'tap';
import { ADDRESS_TYPE_URL, GATEWAY_PROXY_TYPE_URL } from '../../api/xds/type-urls.js';
import type { Identity } from '../../core/identity/spiffe.js';
import type { SnapshotResource, TypeSnapshot } from './snapshot.js';
import { visibleTo } from './visibility.js';

const caller = (identity: string) => ({ identity: identity as Identity });
const snapshot = (typeUrl: string, names: string[]): TypeSnapshot => ({
  typeUrl,
  version: 'v1',
  resources: new Map(
    names.map((n): [string, SnapshotResource] => [
      n,
      { version: 'x', bytes: new Uint8Array() } as SnapshotResource,
    ]),
  ),
});

t.test(
  'a gateway config goes only to the identity it names (it may hold private keys)',
  async (t) => {
    const all = snapshot(GATEWAY_PROXY_TYPE_URL, [
      'istio-system/istio-ingressgateway/gw-0',
      'istio-system/other/gw-1',
      'shop/istio-ingressgateway/gw-2',
    ]);
    const gateway = caller('spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway');
    t.same(
      [...(visibleTo(gateway, all)?.resources.keys() ?? [])],
      ['istio-system/istio-ingressgateway/gw-0'],
    );
    const ztunnel = caller('spiffe://cluster.local/ns/istio-system/sa/ztunnel');
    t.same([...(visibleTo(ztunnel, all)?.resources.keys() ?? [])], []);
  },
);

t.test('other types are served whole to every caller', async (t) => {
  const addresses = snapshot(ADDRESS_TYPE_URL, ['a', 'b']);
  t.equal(visibleTo(caller('spiffe://cluster.local/ns/x/sa/y'), addresses), addresses);
});
