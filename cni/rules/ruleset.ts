import type { IpFamily } from '../../core/net/socket.js';
import { parseSavedTables, type SavedTables } from './saved-tables.js';

/**
 * Istio's in-pod ambient capture rules (istio/istio cni/pkg/iptables/iptables.go,
 * `AppendInpodRules`, without DNS capture, virtual interfaces or ingress mode), written in the
 * exact form `iptables-save` prints them, so that what we apply and what we read back compare
 * line for line.
 */
const PREROUTING_CHAIN = 'ISTIO_PRERT';
const OUTPUT_CHAIN = 'ISTIO_OUTPUT';
/** ztunnel's sockets carry this mark (SO_MARK); its packets are never redirected. */
const ZTUNNEL_MARK = '0x539/0xfff';
/** Connections ztunnel made are connmarked so their replies route back to ztunnel. */
export const CONNECTION_MARK = '0x111/0xfff';
export const ROUTE_TABLE = 100;
export const RULE_PRIORITY = 32764;
const OUTBOUND_PORT = 15001;
const INBOUND_PLAINTEXT_PORT = 15006;
const INBOUND_HBONE_PORT = 15008;

interface FamilyAddresses {
  /** The source kubelet probes are SNATed to on the node, so they pass uncaptured. */
  probe: string;
  loopback: string;
  anywhere: string;
}

const ADDRESSES: Record<IpFamily, FamilyAddresses> = {
  4: { probe: '169.254.7.127/32', loopback: '127.0.0.1/32', anywhere: '0.0.0.0/0' },
  6: {
    probe: 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128',
    loopback: '::1/128',
    anywhere: '::/0',
  },
};

/** One table's share of the rule set: the jumps from built-in chains and our chains' rules. */
export interface TableRules {
  table: (typeof CAPTURE_TABLES)[number];
  jumps: readonly { from: 'PREROUTING' | 'OUTPUT'; to: string }[];
  chains: ReadonlyMap<string, readonly string[]>;
}

/** Both tables hold both of our chains, each reached by one jump from its built-in chain. */
const CAPTURE_TABLES = ['mangle', 'nat'] as const;
const JUMPS = [
  { from: 'PREROUTING', to: PREROUTING_CHAIN },
  { from: 'OUTPUT', to: OUTPUT_CHAIN },
] as const;

/** The rules each table must hold for `family`, rule text as after `-A CHAIN `. */
export function captureTables(family: IpFamily): readonly TableRules[] {
  const { probe, loopback } = ADDRESSES[family];
  const notZtunnel = `-m mark ! --mark ${ZTUNNEL_MARK}`;
  return [
    {
      table: 'mangle',
      jumps: JUMPS,
      chains: new Map([
        // A packet of ztunnel's marked socket, looped back to the app, marks its connection…
        [
          PREROUTING_CHAIN,
          [`-m mark --mark ${ZTUNNEL_MARK} -j CONNMARK --set-xmark ${CONNECTION_MARK}`],
        ],
        // …so the app's replies get the mark back and take the table-100 route to ztunnel.
        [
          OUTPUT_CHAIN,
          [
            `-m connmark --mark ${CONNECTION_MARK} -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff`,
          ],
        ],
      ]),
    },
    {
      table: 'nat',
      jumps: JUMPS,
      chains: new Map([
        [
          PREROUTING_CHAIN,
          [
            `-s ${probe} -p tcp -m tcp -j ACCEPT`,
            `! -d ${loopback} -p tcp -m tcp ! --dport ${INBOUND_HBONE_PORT} ${notZtunnel} -j REDIRECT --to-ports ${INBOUND_PLAINTEXT_PORT}`,
          ],
        ],
        [
          OUTPUT_CHAIN,
          [
            `-d ${probe} -p tcp -m tcp -j ACCEPT`,
            `-p tcp -m mark --mark ${CONNECTION_MARK} -j ACCEPT`,
            // The app calling itself by its pod IP goes over lo; leave it alone.
            `! -d ${loopback} -o lo -j ACCEPT`,
            `! -d ${loopback} -p tcp ${notZtunnel} -j REDIRECT --to-ports ${OUTBOUND_PORT}`,
          ],
        ],
      ]),
    },
  ];
}

/** How many times `table` holds the plain jump `-A from -j to`. */
export function jumpCount(saved: SavedTables, table: string, from: string, to: string): number {
  return (saved.get(table)?.get(from) ?? []).filter((rule) => rule === `-j ${to}`).length;
}

/**
 * `iptables-restore --noflush` input that leaves the capture rules for `family` in place:
 * declaring our chains flushes them (or creates them) before they are refilled, and each jump
 * is appended only if `current` (the family's `iptables-save` output) lacks it, or deleted
 * down to one if it is there several times. The whole text applies atomically or not at all.
 */
export function captureRuleSet(family: IpFamily, current = ''): string {
  const saved = parseSavedTables(current);
  const lines: string[] = [];
  for (const { table, jumps, chains } of captureTables(family)) {
    lines.push(`*${table}`);
    for (const chain of chains.keys()) lines.push(`:${chain} - [0:0]`);
    for (const { from, to } of jumps) {
      const count = jumpCount(saved, table, from, to);
      if (count === 0) lines.push(`-A ${from} -j ${to}`);
      // -D removes the first match each time, so the last one stays.
      for (let extra = 1; extra < count; extra++) lines.push(`-D ${from} -j ${to}`);
    }
    for (const [chain, rules] of chains)
      for (const rule of rules) lines.push(`-A ${chain} ${rule}`);
    lines.push('COMMIT');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `iptables-restore --noflush` input that deletes every jump to our chains and the chains
 * themselves, as far as `current` shows them; empty when there is nothing to remove.
 */
export function removalRuleSet(current: string): string {
  const saved = parseSavedTables(current);
  const lines: string[] = [];
  for (const table of CAPTURE_TABLES) {
    const body: string[] = [];
    for (const { from, to } of JUMPS) {
      for (let n = jumpCount(saved, table, from, to); n > 0; n--) body.push(`-D ${from} -j ${to}`);
    }
    for (const { to: chain } of JUMPS) {
      if (saved.get(table)?.has(chain)) body.push(`-F ${chain}`, `-X ${chain}`);
    }
    if (body.length > 0) lines.push(`*${table}`, ...body, 'COMMIT');
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** The `ip` route that delivers connmarked replies locally, in `ip route` syntax. */
export function loopbackRoute(family: IpFamily): string {
  return `local ${ADDRESSES[family].anywhere} dev lo table ${ROUTE_TABLE}`;
}

/** The `ip` rule that sends connmarked replies to the loopback route's table. */
export const MARK_RULE = `fwmark ${CONNECTION_MARK} pref ${RULE_PRIORITY} lookup ${ROUTE_TABLE}`;
