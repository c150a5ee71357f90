import type { IpFamily } from '../../core/net/socket.js';
import { IPTABLES_RESTORE, type ShellStep } from './netns-shell.js';
import {
  capturedFamilies,
  observedFamilies,
  type FamilyObservation,
  type Observation,
} from './observe.js';
import {
  captureRuleSet,
  captureTables,
  jumpCount,
  loopbackRoute,
  MARK_RULE,
  removalRuleSet,
} from './ruleset.js';
import { parseSavedTables } from './saved-tables.js';

/** Whether the capture rules are all there, none of them are, or something in between. */
export type CaptureState = 'installed' | 'absent' | 'partial';

/** Each jump once, and our chains holding exactly the rules of the set, in order. */
function tablesInstalled(family: IpFamily, saved: string): boolean {
  const tables = parseSavedTables(saved);
  return captureTables(family).every(
    ({ table, jumps, chains }) =>
      jumps.every(({ from, to }) => jumpCount(tables, table, from, to) === 1) &&
      [...chains].every(([chain, rules]) => {
        const found = tables.get(table)?.get(chain);
        return found?.length === rules.length && found.every((rule, i) => rule === rules[i]);
      }),
  );
}

/** Whether anything of ours is left: a chain, a jump, the mark rule or the route. */
function hasTraces(observation: FamilyObservation): boolean {
  return observation.markRules > 0 || observation.route || removalRuleSet(observation.saved) !== '';
}

function familyInstalled(family: IpFamily, observation: FamilyObservation): boolean {
  return (
    observation.markRules > 0 && observation.route && tablesInstalled(family, observation.saved)
  );
}

/**
 * What to run so the capture rules are complete: nothing when they already are. The route and
 * the mark rule come first, so replies to ztunnel's sockets route back from the first
 * captured connection on.
 */
export function installSteps(observation: Observation): ShellStep[] {
  const steps: ShellStep[] = [];
  for (const [family, found] of capturedFamilies(observation)) {
    const ip: string[] = [];
    // `replace`, not `add`: correct even if the route appeared since it was read.
    if (!found.route) ip.push(`route replace ${loopbackRoute(family)}`);
    if (found.markRules === 0) ip.push(`rule add ${MARK_RULE}`);
    if (ip.length > 0) steps.push({ command: `ip -${family} -batch -`, input: ip.join('\n') });
    if (!tablesInstalled(family, found.saved))
      steps.push({ command: IPTABLES_RESTORE(family), input: captureRuleSet(family, found.saved) });
  }
  return steps;
}

/** What to run so nothing of the capture rules is left, in every family we could read. */
export function removeSteps(observation: Observation): ShellStep[] {
  const steps: ShellStep[] = [];
  for (const [family, found] of observedFamilies(observation)) {
    const tables = removalRuleSet(found.saved);
    if (tables !== '') steps.push({ command: IPTABLES_RESTORE(family), input: tables });
    const ip: string[] = [];
    for (let n = found.markRules; n > 0; n--) ip.push(`rule del ${MARK_RULE}`);
    if (found.route) ip.push(`route del ${loopbackRoute(family)}`);
    if (ip.length > 0) steps.push({ command: `ip -${family} -batch -`, input: ip.join('\n') });
  }
  return steps;
}

/**
 * `installed` when every family we capture is complete; `absent` when no family we could read
 * holds anything of ours; `partial` otherwise.
 */
export function stateOf(observation: Observation): CaptureState {
  if (capturedFamilies(observation).every(([family, found]) => familyInstalled(family, found)))
    return 'installed';
  return observedFamilies(observation).some(([, found]) => hasTraces(found)) ? 'partial' : 'absent';
}
