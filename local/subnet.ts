import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../core/errors.js';
import { addressPlan, cidrsOverlap, octetCandidates, type AddressPlan } from './addresses.js';
import { ipJson } from './command.js';
import type { ClusterPrefix } from './names.js';

export class NoFreeSubnetError extends MeshError {
  readonly code = 'AMBIT_LOCAL_NO_SUBNET';
  constructor(readonly prefix: ClusterPrefix) {
    super(
      `cluster ${prefix}: every 10.128-250.0.0/16 overlaps a route on this host or is reserved by another local cluster`,
    );
  }
}

/**
 * A cluster's claim on its /16 is a file `<stateRoot>/subnets/<octet>` holding the prefix,
 * created exclusively, so two clusters created at the same moment never pick the same one;
 * the routing table check keeps clear of networks the host already uses.
 */
function reservationDir(stateRoot: string): string {
  return join(stateRoot, 'subnets');
}

export async function reserveSubnet(
  prefix: ClusterPrefix,
  stateRoot: string,
): Promise<AddressPlan> {
  const dir = reservationDir(stateRoot);
  await mkdir(dir, { recursive: true });
  const routes = await ipJson<{ dst: string }>(['-4', 'route', 'show', 'table', 'all']);
  const used = routes.map((r) => r.dst).filter((dst) => dst !== 'default');
  for (const octet of octetCandidates(prefix)) {
    const plan = addressPlan(octet);
    if (used.some((dst) => cidrsOverlap(dst, plan.clusterCidr))) continue;
    try {
      await writeFile(join(dir, String(octet)), prefix, { flag: 'wx' });
      return plan;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new NoFreeSubnetError(prefix);
}

export interface SubnetReservation {
  octet: number;
  prefix: string;
  file: string;
}

export async function listReservations(stateRoot: string): Promise<SubnetReservation[]> {
  const dir = reservationDir(stateRoot);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found: SubnetReservation[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      found.push({ octet: Number(name), prefix: (await readFile(file, 'utf8')).trim(), file });
    } catch (err) {
      // Released by its cluster between readdir and read.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return found;
}

export async function releaseSubnets(prefix: ClusterPrefix, stateRoot: string): Promise<void> {
  for (const reservation of await listReservations(stateRoot))
    if (reservation.prefix === prefix) await rm(reservation.file, { force: true });
}
