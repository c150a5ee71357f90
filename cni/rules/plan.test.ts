import t from 'tap';
import type { FamilyObservation, Observation } from './observe.js';
import { installSteps, removeSteps, stateOf } from './plan.js';
import { captureRuleSet } from './ruleset.js';

// iptables-restore input parses like iptables-save output, so a rule set stands in for a
// netns that holds it.
const complete = (family: 4 | 6): FamilyObservation => ({
  saved: captureRuleSet(family),
  markRules: 1,
  route: true,
});
const empty: FamilyObservation = { saved: '', markRules: 0, route: false };

function observation(overrides: Partial<Observation> = {}): Observation {
  return {
    v4: complete(4),
    v6: complete(6),
    v6Failure: undefined,
    ipv6Disabled: false,
    ...overrides,
  };
}

t.test('installing over complete rules runs nothing', async (t) => {
  t.same(installSteps(observation()), []);
  t.equal(stateOf(observation()), 'installed');
});

t.test('a missing route alone is put back without touching iptables', async (t) => {
  const steps = installSteps(observation({ v6: { ...complete(6), route: false } }));
  t.same(steps, [
    { command: 'ip -6 -batch -', input: 'route replace local ::/0 dev lo table 100' },
  ]);
});

t.test('with IPv6 disabled only IPv4 is installed and checked', async (t) => {
  const steps = installSteps(observation({ v4: empty, v6: empty, ipv6Disabled: true }));
  t.same(
    steps.map((s) => s.command),
    ['ip -4 -batch -', 'iptables-restore --noflush --wait=5'],
  );
  t.equal(stateOf(observation({ v6: empty, ipv6Disabled: true })), 'installed');
});

t.test('IPv6 leftovers count as traces even where IPv6 is off, and are removed', async (t) => {
  const leftovers = observation({ v4: empty, v6: complete(6), ipv6Disabled: true });
  t.equal(stateOf(leftovers), 'partial');
  t.same(
    removeSteps(leftovers).map((s) => s.command),
    ['ip6tables-restore --noflush --wait=5', 'ip -6 -batch -'],
  );
});

t.test('a netns whose IPv6 tools fail is judged on IPv4', async (t) => {
  const noV6 = observation({ v6: undefined, v6Failure: 'ip6tables-save: not found' });
  t.equal(stateOf(noV6), 'installed');
  t.equal(stateOf(observation({ v4: empty, v6: undefined })), 'absent');
});

t.test('nothing of ours anywhere is absent, and removing it runs nothing', async (t) => {
  const bare = observation({ v4: empty, v6: empty });
  t.equal(stateOf(bare), 'absent');
  t.same(removeSteps(bare), []);
});
