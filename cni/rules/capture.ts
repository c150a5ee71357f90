import { silentLogger, type Logger } from '../../core/telemetry/log.js';
import { runInNetns, stepsScript } from './netns-shell.js';
import { observe, type Observation } from './observe.js';
import { installSteps, removeSteps, stateOf, type CaptureState } from './plan.js';

/**
 * The capture rules of one pod netns (DESIGN.md "capture rules"): install, remove, check.
 * Each call reads the netns in one process and, only if something must change, changes it in
 * a second; iptables changes are one `iptables-restore --noflush` per family, so a pod is
 * never half-captured. Calls for the same netns must not overlap (the agent serialises per
 * pod); calls for different netns may.
 */

export { captureRuleSet } from './ruleset.js';
export { CaptureRulesError } from './errors.js';
export type { CaptureState } from './plan.js';

export interface CaptureOptions {
  /** Where to say that IPv6 is not captured in this netns; silent when absent. */
  logger?: Logger;
}

const quiet = silentLogger();

function reportIpv6(netns: string, observation: Observation, logger: Logger): void {
  if (observation.ipv6Disabled) {
    logger.info({ netns }, 'IPv6 is disabled in the netns; capturing IPv4 only');
  } else if (!observation.v6) {
    // IPv6 is on but its tools fail: IPv6 connections of this pod will bypass the mesh.
    logger.warn(
      { netns, error: observation.v6Failure },
      'cannot read IPv6 rules in the netns; capturing IPv4 only',
    );
  }
}

/** Installs the capture rules in the netns at `netnsPath`; a no-op when they are complete. */
export async function installCapture(
  netnsPath: string,
  options: CaptureOptions = {},
): Promise<void> {
  const logger = options.logger ?? quiet;
  const observation = await observe(netnsPath);
  reportIpv6(netnsPath, observation, logger);
  const steps = installSteps(observation);
  if (steps.length === 0) return;
  await runInNetns(netnsPath, stepsScript(steps));
  logger.debug(
    { netns: netnsPath, commands: steps.map((s) => s.command) },
    'capture rules installed',
  );
}

/**
 * Removes every jump, chain, the mark rule and the table-100 route from the netns at
 * `netnsPath`; a no-op when there are none.
 */
export async function removeCapture(
  netnsPath: string,
  options: CaptureOptions = {},
): Promise<void> {
  const steps = removeSteps(await observe(netnsPath));
  if (steps.length === 0) return;
  await runInNetns(netnsPath, stepsScript(steps));
  (options.logger ?? quiet).debug(
    { netns: netnsPath, commands: steps.map((s) => s.command) },
    'capture rules removed',
  );
}

/** Reads the netns at `netnsPath` and says whether its capture rules are complete. */
export async function captureState(netnsPath: string): Promise<CaptureState> {
  return stateOf(await observe(netnsPath));
}
