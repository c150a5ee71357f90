import t from 'tap';
import { ConnectionBudget, type BudgetedPool } from './connection-budget.js';

const pool = (): BudgetedPool => ({ openConnections: 0, maxSockets: 0 });

/** Opens one connection on `p` as its agent would. */
function open(budget: ConnectionBudget, p: BudgetedPool): void {
  (p as { openConnections: number }).openConnections++;
  budget.opened();
}

function close(budget: ConnectionBudget, p: BudgetedPool): void {
  (p as { openConnections: number }).openConnections--;
  budget.closed();
}

t.test('no limit (0 or Istio unset) leaves every pool unlimited', async (t) => {
  for (const unset of [0, 2 ** 32 - 1]) {
    const budget = new ConnectionBudget(unset);
    const a = pool();
    budget.join(a);
    open(budget, a);
    t.equal(a.maxSockets, Infinity);
  }
});

t.test('the limit is shared by the pools of a cluster', async (t) => {
  const budget = new ConnectionBudget(2);
  const [a, b] = [pool(), pool()];
  budget.join(a);
  budget.join(b);
  t.same([a.maxSockets, b.maxSockets], [2, 2], 'either may take the whole budget');
  open(budget, a);
  t.same([a.maxSockets, b.maxSockets], [2, 1]);
  open(budget, b);
  t.same([a.maxSockets, b.maxSockets], [1, 1], 'full: each keeps what it has');
  close(budget, a);
  t.same([a.maxSockets, b.maxSockets], [1, 2], 'a freed connection may go to either');
});

t.test('a pool with no connection may always open one (Envoy ConnPoolImplBase)', async (t) => {
  const budget = new ConnectionBudget(1);
  const [a, b] = [pool(), pool()];
  budget.join(a);
  open(budget, a);
  budget.join(b);
  t.equal(b.maxSockets, 1, 'over the limit, but its requests would otherwise be stranded');
  t.equal(a.maxSockets, 1);
});

t.test('a pushed limit applies at once; a pool that left is no longer managed', async (t) => {
  const budget = new ConnectionBudget(1);
  const [a, b] = [pool(), pool()];
  budget.join(a);
  budget.join(b);
  open(budget, a);
  budget.setLimit(4);
  t.same([a.maxSockets, b.maxSockets], [4, 3]);
  budget.leave(b);
  open(budget, a);
  t.equal(b.maxSockets, 3, 'left alone');
  t.equal(a.maxSockets, 4);
});
