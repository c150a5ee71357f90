import type { IpFamily } from '../../core/net/socket.js';
import { CaptureRulesError } from './errors.js';
import { runInNetns } from './netns-shell.js';
import { CONNECTION_MARK, RULE_PRIORITY, ROUTE_TABLE } from './ruleset.js';

/** What one family of a netns holds that the capture rules care about. */
export interface FamilyObservation {
  /** The family's `iptables-save` / `ip6tables-save` output. */
  saved: string;
  /** Copies of the `fwmark 0x111/0xfff lookup 100` rule. */
  markRules: number;
  /** Whether table 100 holds the `local default dev lo` route. */
  route: boolean;
}

export interface Observation {
  v4: FamilyObservation;
  /** Undefined when ip6tables or `ip -6` could not run (the reason is `v6Failure`). */
  v6: FamilyObservation | undefined;
  v6Failure: string | undefined;
  /** IPv6 is off on the netns's loopback (disable_ipv6), or absent from the kernel. */
  ipv6Disabled: boolean;
}

const IP_QUERIES = `rule show pref ${RULE_PRIORITY}\\nroute show table ${ROUTE_TABLE}\\n`;

/**
 * Reads everything in one shell: each command's exit status and output (stderr included, so a
 * failure explains itself) under a `#ambit NAME STATUS` header. Reading the sysctl from
 * /proc/sys/net inside the netns sees the netns's own value.
 */
const READ_SCRIPT = `section() { printf '#ambit %s %s\\n' "$1" "$2"; [ -z "$3" ] || printf '%s\\n' "$3"; }
out=$(iptables-save 2>&1); section iptables-4 $? "$out"
out=$(ip6tables-save 2>&1); section iptables-6 $? "$out"
out=$(printf '${IP_QUERIES}' | ip -4 -batch - 2>&1); section ip-4 $? "$out"
out=$(printf '${IP_QUERIES}' | ip -6 -batch - 2>&1); section ip-6 $? "$out"
if [ -r /proc/sys/net/ipv6/conf/lo/disable_ipv6 ]; then
  read -r v </proc/sys/net/ipv6/conf/lo/disable_ipv6; section ipv6-disabled 0 "$v"
else
  section ipv6-disabled 0 1
fi
`;

interface Section {
  status: number;
  body: string;
}

const HEADER = /^#ambit (\S+) (\d+)$/;
// How `ip rule show` prints MARK_RULE.
const MARK_RULE_LINE = new RegExp(
  `^${RULE_PRIORITY}:\\s+from all fwmark ${CONNECTION_MARK} lookup ${ROUTE_TABLE}$`,
);
const ROUTE_LINE = /^local default dev lo(\s|$)/;

function sections(stdout: string): Map<string, Section> {
  const found = new Map<string, Section>();
  let open: { name: string; status: number; lines: string[] } | undefined;
  const close = (): void => {
    if (open) found.set(open.name, { status: open.status, body: open.lines.join('\n') });
  };
  for (const line of stdout.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      close();
      open = { name: header[1]!, status: Number(header[2]), lines: [] };
    } else {
      open?.lines.push(line);
    }
  }
  close();
  return found;
}

/** Counts the mark rule and finds the route in `ip -batch` output of IP_QUERIES. */
function parseIpOutput(body: string): { markRules: number; route: boolean } {
  const lines = body.split('\n').map((line) => line.trim());
  return {
    markRules: lines.filter((line) => MARK_RULE_LINE.test(line)).length,
    route: lines.some((line) => ROUTE_LINE.test(line)),
  };
}

/** Turns the read script's output into an observation; throws when IPv4 cannot be read. */
export function parseObservation(netns: string, stdout: string): Observation {
  const found = sections(stdout);
  const get = (name: string): Section => {
    const section = found.get(name);
    if (!section) throw new CaptureRulesError(netns, 'sh', `no ${name} section in the output`);
    return section;
  };
  const family = (f: IpFamily): FamilyObservation | CaptureRulesError => {
    const tables = get(`iptables-${f}`);
    if (tables.status !== 0)
      return new CaptureRulesError(
        netns,
        `${f === 4 ? 'iptables' : 'ip6tables'}-save`,
        tables.body,
      );
    const ip = get(`ip-${f}`);
    if (ip.status !== 0) return new CaptureRulesError(netns, `ip -${f} -batch`, ip.body);
    return { saved: tables.body, ...parseIpOutput(ip.body) };
  };
  const v4 = family(4);
  if (v4 instanceof CaptureRulesError) throw v4;
  const v6 = family(6);
  return {
    v4,
    v6: v6 instanceof CaptureRulesError ? undefined : v6,
    v6Failure: v6 instanceof CaptureRulesError ? v6.message : undefined,
    ipv6Disabled: get('ipv6-disabled').body.trim() !== '0',
  };
}

/** Reads the capture-relevant state of both families of the netns at `netns` (one process). */
export async function observe(netns: string): Promise<Observation> {
  return parseObservation(netns, await runInNetns(netns, READ_SCRIPT));
}

/** The families that could be read, each with what it holds. */
export function observedFamilies(observation: Observation): [IpFamily, FamilyObservation][] {
  return observation.v6
    ? [
        [4, observation.v4],
        [6, observation.v6],
      ]
    : [[4, observation.v4]];
}

/** The families whose capture we install and check: IPv4 always, IPv6 when it is usable. */
export function capturedFamilies(observation: Observation): [IpFamily, FamilyObservation][] {
  return observation.ipv6Disabled ? [[4, observation.v4]] : observedFamilies(observation);
}
