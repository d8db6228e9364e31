// The credit ledger: one contract suite run against every store backend (in-memory Keyv, a
// real SQLite file, a real Redis server when available), as keyv does for its own adapters.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stopRedis, storeBackends, type Backend } from './backends.js';
import { type Ledger, createLedger } from '../../src/store/ledger.js';

const backends = storeBackends();
afterAll(stopRedis);

describe.each(backends)('ledger over %s', (_name, open) => {
  let backend: Backend;
  let ledger: Ledger;
  let clock: number;

  beforeEach(async () => {
    backend = await open();
    clock = 1_000;
    // A clock that ticks on every read, so every ledger step has its own time.
    ledger = createLedger({ keyv: backend.keyv, startingCredits: 100, now: () => clock++ });
  });

  afterEach(async () => {
    expect(backend.errors).toEqual([]);
    await backend.close();
  });

  it('a member seen for the first time has the starting credits', async () => {
    expect(await ledger.balance('alice')).toBe(100);
    const other = createLedger({ keyv: backend.keyv, startingCredits: 7 });
    expect(await other.balance('bob')).toBe(7);
  });

  it('reserve debits the amount and reports the new balance', async () => {
    expect(await ledger.reserve('alice', 'job-1', 30, 'animate')).toEqual({ ok: true, balance: 70 });
    expect(await ledger.balance('alice')).toBe(70);
  });

  it('reserve refuses when the balance is short and leaves it unchanged', async () => {
    expect(await ledger.reserve('alice', 'job-1', 80, 'first')).toEqual({ ok: true, balance: 20 });
    expect(await ledger.reserve('alice', 'job-2', 21, 'second')).toEqual({
      ok: false,
      balance: 20,
      needed: 21,
    });
    expect(await ledger.balance('alice')).toBe(20);
    // The refused job left no hold behind: there is nothing to refund or commit.
    expect(await ledger.refund('alice', 'job-2')).toBe(false);
    expect(await ledger.commit('alice', 'job-2')).toBe(false);
    expect(await ledger.balance('alice')).toBe(20);
  });

  it('reserve of exactly the balance succeeds and leaves zero', async () => {
    expect(await ledger.reserve('alice', 'job-1', 100, 'all of it')).toEqual({ ok: true, balance: 0 });
    expect((await ledger.reserve('alice', 'job-2', 1, 'one more')).ok).toBe(false);
  });

  it('balances of different members are independent', async () => {
    await ledger.reserve('alice', 'job-1', 40, 'a');
    expect(await ledger.balance('bob')).toBe(100);
    expect(await ledger.reserve('bob', 'job-2', 100, 'b')).toEqual({ ok: true, balance: 0 });
    expect(await ledger.balance('alice')).toBe(60);
  });

  it('reserve is idempotent per job id', async () => {
    expect(await ledger.reserve('alice', 'job-1', 30, 'animate')).toEqual({ ok: true, balance: 70 });
    expect(await ledger.reserve('alice', 'job-1', 30, 'animate')).toEqual({ ok: true, balance: 70 });
    expect(await ledger.balance('alice')).toBe(70);
    const { entries } = await ledger.statement('alice', 10);
    expect(entries.filter((e) => e.jobId === 'job-1')).toHaveLength(1);
  });

  it('concurrent replays of one reserve debit once, beside other reserves of the same member', async () => {
    // Replays interleaved with other writes to the same account: without the per-member lock one
    // write overwrites another (a lost hold, or a replay that debits again).
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? ledger.reserve('alice', 'job-1', 30, 'x')
          : ledger.reserve('alice', `other-${i}`, 10, 'y'),
      ),
    );
    for (const result of results) expect(result.ok).toBe(true);
    expect(await ledger.balance('alice')).toBe(100 - 30 - 5 * 10);
    const { entries } = await ledger.statement('alice', 20);
    expect(entries.map((e) => e.jobId).sort()).toEqual([
      'job-1',
      'other-1',
      'other-3',
      'other-5',
      'other-7',
      'other-9',
    ]);
  });

  it('commit keeps the debit and is idempotent', async () => {
    await ledger.reserve('alice', 'job-1', 30, 'animate');
    expect(await ledger.commit('alice', 'job-1')).toBe(true);
    expect(await ledger.balance('alice')).toBe(70);
    expect(await ledger.commit('alice', 'job-1')).toBe(false);
    expect(await ledger.balance('alice')).toBe(70);
    const { entries } = await ledger.statement('alice', 10);
    expect(entries).toEqual([expect.objectContaining({ jobId: 'job-1', amount: 30, state: 'spent' })]);
  });

  it('commit of a job never reserved does nothing', async () => {
    expect(await ledger.commit('alice', 'nope')).toBe(false);
    expect(await ledger.balance('alice')).toBe(100);
  });

  it('refund returns the full amount exactly once', async () => {
    await ledger.reserve('alice', 'job-1', 36, 'animate');
    expect(await ledger.balance('alice')).toBe(64);
    expect(await ledger.refund('alice', 'job-1')).toBe(true);
    expect(await ledger.balance('alice')).toBe(100);
    expect(await ledger.refund('alice', 'job-1')).toBe(false);
    expect(await ledger.balance('alice')).toBe(100);
    const { entries } = await ledger.statement('alice', 10);
    expect(entries).toEqual([expect.objectContaining({ jobId: 'job-1', amount: 36, state: 'refunded' })]);
  });

  it('concurrent refunds of one job give the credits back once', async () => {
    await ledger.reserve('alice', 'job-1', 40, 'animate');
    const results = await Promise.all(Array.from({ length: 10 }, () => ledger.refund('alice', 'job-1')));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await ledger.balance('alice')).toBe(100);
  });

  it('refund after commit does nothing', async () => {
    await ledger.reserve('alice', 'job-1', 30, 'animate');
    await ledger.commit('alice', 'job-1');
    expect(await ledger.refund('alice', 'job-1')).toBe(false);
    expect(await ledger.balance('alice')).toBe(70);
  });

  it('commit after refund does nothing', async () => {
    await ledger.reserve('alice', 'job-1', 30, 'animate');
    await ledger.refund('alice', 'job-1');
    expect(await ledger.commit('alice', 'job-1')).toBe(false);
    expect(await ledger.balance('alice')).toBe(100);
  });

  it('refund of a job never reserved does nothing', async () => {
    expect(await ledger.refund('alice', 'nope')).toBe(false);
    expect(await ledger.balance('alice')).toBe(100);
  });

  it('50 concurrent reserves of 3 credits from 100 never overspend', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ledger.reserve('alice', `job-${i}`, 3, 'burst')),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(33);
    expect(results.filter((r) => !r.ok)).toHaveLength(17);
    expect(await ledger.balance('alice')).toBe(1);
    const { entries } = await ledger.statement('alice', 100);
    expect(entries.filter((e) => e.state === 'held')).toHaveLength(33);
  });

  it('balances are remembered by a fresh ledger over the same store', async () => {
    await ledger.reserve('alice', 'job-1', 30, 'animate');
    await ledger.reserve('alice', 'job-2', 20, 'animate');
    await ledger.commit('alice', 'job-1');
    const again = createLedger({ keyv: backend.keyv, startingCredits: 100 });
    expect(await again.balance('alice')).toBe(50);
    // The hold on job-2 is still there to refund after a restart.
    expect(await again.refund('alice', 'job-2')).toBe(true);
    expect(await again.balance('alice')).toBe(70);
  });

  it('statement returns the newest entries first and respects the limit', async () => {
    await ledger.reserve('alice', 'job-1', 1, 'one');
    await ledger.reserve('alice', 'job-2', 2, 'two');
    await ledger.reserve('alice', 'job-3', 3, 'three');
    await ledger.reserve('alice', 'job-4', 4, 'four');
    // Settling job-1 makes it the most recent change.
    await ledger.commit('alice', 'job-1');

    const all = await ledger.statement('alice', 10);
    expect(all.balance).toBe(90);
    expect(all.entries.map((e) => e.jobId)).toEqual(['job-1', 'job-4', 'job-3', 'job-2']);
    expect(all.entries[0]).toMatchObject({ jobId: 'job-1', amount: 1, state: 'spent', note: 'one' });
    expect(all.entries[1]).toMatchObject({ jobId: 'job-4', amount: 4, state: 'held', note: 'four' });

    const two = await ledger.statement('alice', 2);
    expect(two.balance).toBe(90);
    expect(two.entries.map((e) => e.jobId)).toEqual(['job-1', 'job-4']);
  });

  it('statement of a new member is the starting balance and no entries', async () => {
    expect(await ledger.statement('newcomer', 5)).toEqual({ balance: 100, entries: [] });
  });

  it('balances stay whole numbers through every step', async () => {
    const seen: number[] = [await ledger.balance('alice')];
    seen.push((await ledger.reserve('alice', 'a', 20, 'x')).balance);
    seen.push((await ledger.reserve('alice', 'b', 36, 'x')).balance);
    await ledger.refund('alice', 'b');
    seen.push(await ledger.balance('alice'));
    await ledger.commit('alice', 'a');
    seen.push(await ledger.balance('alice'));
    seen.push((await ledger.statement('alice', 5)).balance);
    for (const balance of seen) expect(Number.isInteger(balance)).toBe(true);
    expect(seen).toEqual([100, 80, 44, 80, 80, 80]);
  });

  it('a zero amount is a valid hold', async () => {
    expect(await ledger.reserve('alice', 'free', 0, 'free')).toEqual({ ok: true, balance: 100 });
    expect(await ledger.commit('alice', 'free')).toBe(true);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])(
    'reserve of a bad amount (%d) throws and changes nothing',
    async (amount) => {
      await expect(async () => ledger.reserve('alice', 'bad', amount, 'bad')).rejects.toThrow(RangeError);
      expect(await ledger.balance('alice')).toBe(100);
      expect(await ledger.refund('alice', 'bad')).toBe(false);
    },
  );
});
