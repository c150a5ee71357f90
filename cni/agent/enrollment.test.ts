import t from 'tap';
import { shouldEnroll } from './enrollment.js';
import type { NamespaceInfo, PodInfo } from './pod-source.js';

function pod(fields: Partial<PodInfo> = {}): PodInfo {
  return {
    name: 'cart-0',
    namespace: 'shop',
    labels: {},
    annotations: {},
    serviceAccount: 'cart',
    hostNetwork: false,
    ...fields,
  };
}

const ambientNs: NamespaceInfo = { name: 'shop', labels: { 'istio.io/dataplane-mode': 'ambient' } };
const plainNs: NamespaceInfo = { name: 'shop', labels: {} };

t.test('enrollment follows istio.io/dataplane-mode on the namespace and the pod', async (t) => {
  const cases: [string, PodInfo, NamespaceInfo | undefined, boolean][] = [
    ['a pod in an ambient namespace', pod(), ambientNs, true],
    ['a pod in a namespace without the label', pod(), plainNs, false],
    ['a pod whose namespace is unknown', pod(), undefined, false],
    [
      'a pod labelled ambient in a plain namespace',
      pod({ labels: { 'istio.io/dataplane-mode': 'ambient' } }),
      plainNs,
      true,
    ],
    [
      'a pod labelled none in an ambient namespace (opts out)',
      pod({ labels: { 'istio.io/dataplane-mode': 'none' } }),
      ambientNs,
      false,
    ],
    [
      'a pod with another value in an ambient namespace',
      pod({ labels: { 'istio.io/dataplane-mode': 'sidecar' } }),
      ambientNs,
      true,
    ],
    [
      'a namespace labelled none',
      pod(),
      { name: 'shop', labels: { 'istio.io/dataplane-mode': 'none' } },
      false,
    ],
    ['a host-network pod in an ambient namespace', pod({ hostNetwork: true }), ambientNs, false],
    [
      'a host-network pod labelled ambient',
      pod({ hostNetwork: true, labels: { 'istio.io/dataplane-mode': 'ambient' } }),
      plainNs,
      false,
    ],
    [
      'a pod with an injected sidecar in an ambient namespace',
      pod({ annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } }),
      ambientNs,
      false,
    ],
  ];
  for (const [name, p, ns, want] of cases) t.equal(shouldEnroll(p, ns), want, name);
});
