import t from 'tap';
import {
  addressPlan,
  cidrsOverlap,
  FIRST_OCTET,
  LAST_OCTET,
  octetCandidates,
  parseIpv4Cidr,
} from './addresses.js';
import { parsePrefix } from './names.js';

t.test(
  'a plan puts nodes on the bridge subnet and gives node i the pod CIDR 10.o.i.0/24',
  async (t) => {
    const plan = addressPlan(140);
    t.equal(plan.bridgeIp, '10.140.0.1');
    t.equal(plan.nodeIp(1), '10.140.0.2');
    t.equal(plan.podCidr(2), '10.140.2.0/24');
    t.equal(plan.podGateway(2), '10.140.2.1');
    t.equal(plan.serviceVip(1), '10.140.255.1');
    t.throws(() => plan.serviceVip(255), RangeError);
    t.ok(cidrsOverlap(plan.podCidr(200), plan.clusterCidr));
    t.notOk(cidrsOverlap(plan.podCidr(200), plan.serviceCidr));
  },
);

t.test(
  'every octet in the range is a candidate once, starting where the prefix points',
  async (t) => {
    const a = octetCandidates(parsePrefix('amaaaa'));
    t.equal(a.length, LAST_OCTET - FIRST_OCTET + 1);
    t.same([...new Set(a)].sort(), [...a].sort());
    t.ok(a.every((o) => o >= FIRST_OCTET && o <= LAST_OCTET));
    t.same(octetCandidates(parsePrefix('amaaaa')), a, 'the same prefix, the same order');
  },
);

t.test('CIDR overlap covers containment both ways, host routes and disjoint ranges', async (t) => {
  t.ok(cidrsOverlap('10.0.0.0/8', '10.140.0.0/16'));
  t.ok(cidrsOverlap('10.140.3.0/24', '10.140.0.0/16'));
  t.ok(cidrsOverlap('10.140.7.9', '10.140.0.0/16'));
  t.notOk(cidrsOverlap('10.141.0.0/16', '10.140.0.0/16'));
  t.notOk(cidrsOverlap('192.0.2.0/24', '10.140.0.0/16'));
  t.notOk(cidrsOverlap('fe80::/64', '10.140.0.0/16'), 'non-IPv4 never overlaps');
  t.same(parseIpv4Cidr('10.140.3.7/24'), [10 * 256 ** 3 + 140 * 256 ** 2 + 3 * 256, 24]);
  t.equal(parseIpv4Cidr('300.1.1.1'), undefined);
});
