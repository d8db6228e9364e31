// The economy's contract (src/store/economy.ts), one suite run against every backend: in-memory
// Keyv and a SQLite file (economy-keyv) and a real Redis server (economy-redis). Includes the
// carry-over from the pre-scope ledger (written by today's createLedger) and races that must
// come out exact: on Redis also from two economies on two client connections at once.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccountRef, Economy, LedgerEntry } from '../../src/store/economy.js';
import { createLedger } from '../fixtures/legacy-ledger.js';
import { stopRedis, storeBackends, type Backend } from './backends.js';

const backends = storeBackends();
afterAll(stopRedis);

it('runs against every backend available here', () => {
  const names = backends.map(([name]) => name);
  // Visible in the report: which backends this run covered (Redis needs redis-server or REDIS_URL).
  process.stdout.write(`economy contract suite backends: ${names.join(', ')}\n`);
  expect(names).toEqual(expect.arrayContaining(['in-memory Keyv', 'SQLite file']));
  if (process.env.CI) expect(names).toContain('Redis server');
});

const START = Date.parse('2026-12-02T10:00:00Z');
const DAY = 86_400_000;
const alice: AccountRef = { scope: 'g1', userId: 'alice' };
const bob: AccountRef = { scope: 'g1', userId: 'bob' };

type RawRedis = { sendCommand<T>(args: string[]): Promise<T> };

describe.each(backends)('economy over %s', (name, open) => {
  let backend: Backend;
  let economy: Economy;
  let clock: number;
  const now = () => clock;
  const redis = () => (backend.keyv.store as { client: RawRedis }).client;

  beforeEach(async () => {
    backend = await open();
    clock = START;
    economy = await backend.economy({ startingCredits: 100, now });
  });

  afterEach(async () => {
    expect(await economy.audit()).toEqual([]);
    expect(backend.errors).toEqual([]);
    await backend.close();
  });

  const keysOf = (entries: LedgerEntry[]) => entries.map((e) => e.key);

  describe('accounts', () => {
    it('a new account starts with the starting credits, as a keyed grant', async () => {
      expect(await economy.wallet(alice)).toEqual({ free: 100, held: 0 });
      expect(await economy.entries(alice, 10)).toEqual([
        { key: 'start', kind: 'grant', delta: 100, amount: 100, note: 'starting credits', at: START },
      ]);
      // Touching it again writes nothing more.
      expect(await economy.wallet(alice)).toEqual({ free: 100, held: 0 });
      expect(await economy.entries(alice, 10)).toHaveLength(1);
    });

    it('the same member has one account per scope', async () => {
      await economy.hold({ account: alice, jobId: 'j1', amount: 40, note: 'n' });
      expect(await economy.wallet({ scope: 'g2', userId: 'alice' })).toEqual({ free: 100, held: 0 });
      expect(await economy.wallet({ scope: 'dm', userId: 'alice' })).toEqual({ free: 100, held: 0 });
      expect(await economy.wallet(alice)).toEqual({ free: 60, held: 40 });
      expect(await economy.wallet(bob)).toEqual({ free: 100, held: 0 });
    });

    it('rejects amounts that are not whole, non-negative, safe numbers', async () => {
      for (const amount of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, Infinity]) {
        await expect(economy.hold({ account: alice, jobId: 'x', amount, note: 'n' })).rejects.toThrow(
          RangeError,
        );
        await expect(economy.lowerHold(alice, 'x', amount, 'n')).rejects.toThrow(RangeError);
        await expect(
          economy.adjust(alice, { kind: 'grant', amount }, { key: 'k', by: 'admin', reason: 'r' }),
        ).rejects.toThrow(RangeError);
      }
      await expect(backend.economy({ startingCredits: -5, now })).rejects.toThrow(RangeError);
      expect(await economy.wallet(alice)).toEqual({ free: 100, held: 0 });
    });

    it('keeps notes exactly, whatever characters they have', async () => {
      const note = ':starts with a colon, "quotes", üñí 🎬 / \\ \n';
      await economy.hold({ account: alice, jobId: ':job', amount: 1, note });
      const [hold] = await economy.entries(alice, 1);
      expect(hold).toEqual({
        key: 'hold::job',
        kind: 'hold',
        delta: -1,
        amount: 1,
        note,
        jobId: ':job',
        at: START,
      });
    });
  });

  describe('holds', () => {
    it('hold moves credits from free to held and writes a keyed entry', async () => {
      expect(await economy.hold({ account: alice, jobId: 'j1', amount: 30, note: 'ray 5s' })).toEqual({
        ok: true,
        free: 70,
        held: 30,
      });
      expect(await economy.holdState(alice, 'j1')).toBe('held');
      expect((await economy.entries(alice, 10))[0]).toEqual({
        key: 'hold:j1',
        kind: 'hold',
        delta: -30,
        amount: 30,
        note: 'ray 5s',
        jobId: 'j1',
        at: START,
      });
    });

    it('refuses when the free balance is short, and writes nothing', async () => {
      await economy.hold({ account: alice, jobId: 'j1', amount: 80, note: 'n' });
      expect(await economy.hold({ account: alice, jobId: 'j2', amount: 21, note: 'n' })).toEqual({
        ok: false,
        reason: 'credits',
        free: 20,
        needed: 21,
      });
      expect(await economy.holdState(alice, 'j2')).toBeUndefined();
      expect(await economy.spend(alice, 'j2')).toBe(false);
      expect(await economy.refund(alice, 'j2')).toBe(false);
      expect(keysOf(await economy.entries(alice, 10))).toEqual(['hold:j1', 'start']);
      expect(await economy.hold({ account: alice, jobId: 'j3', amount: 20, note: 'n' })).toEqual({
        ok: true,
        free: 0,
        held: 100,
      });
    });

    it('is idempotent per job, before and after it settles', async () => {
      const request = { account: alice, jobId: 'j1', amount: 30, note: 'n' };
      expect(await economy.hold(request)).toEqual({ ok: true, free: 70, held: 30 });
      expect(await economy.hold(request)).toEqual({ ok: true, free: 70, held: 30 });
      expect(await economy.spend(alice, 'j1')).toBe(true);
      expect(await economy.hold(request)).toEqual({ ok: true, free: 70, held: 0 });
      expect(keysOf(await economy.entries(alice, 10))).toEqual(['spend:j1', 'hold:j1', 'start']);
    });

    it('spend commits a hold once; the credits are gone', async () => {
      await economy.hold({ account: alice, jobId: 'j1', amount: 30, note: 'ray 5s' });
      clock += 1000;
      expect(await economy.spend(alice, 'j1')).toBe(true);
      expect(await economy.spend(alice, 'j1')).toBe(false);
      expect(await economy.refund(alice, 'j1')).toBe(false);
      expect(await economy.wallet(alice)).toEqual({ free: 70, held: 0 });
      expect(await economy.holdState(alice, 'j1')).toBe('spent');
      expect((await economy.entries(alice, 1))[0]).toEqual({
        key: 'spend:j1',
        kind: 'spend',
        delta: 0,
        amount: 30,
        note: 'ray 5s',
        jobId: 'j1',
        at: START + 1000,
      });
    });

    it('refund gives a hold back once', async () => {
      await economy.hold({ account: alice, jobId: 'j1', amount: 30, note: 'ray 5s' });
      expect(await economy.refund(alice, 'j1')).toBe(true);
      expect(await economy.refund(alice, 'j1')).toBe(false);
      expect(await economy.spend(alice, 'j1')).toBe(false);
      expect(await economy.wallet(alice)).toEqual({ free: 100, held: 0 });
      expect(await economy.holdState(alice, 'j1')).toBe('refunded');
      expect((await economy.entries(alice, 1))[0]).toMatchObject({
        key: 'refund:j1',
        kind: 'refund',
        delta: 30,
      });
    });

    it('lowerHold refunds the difference as its own entry, and is idempotent', async () => {
      await economy.hold({ account: alice, jobId: 'j1', amount: 30, note: 'quoted' });
      await economy.lowerHold(alice, 'j1', 20, 'cheaper model');
      await economy.lowerHold(alice, 'j1', 20, 'cheaper model');
      await economy.lowerHold(alice, 'j1', 25, 'higher: ignored');
      expect(await economy.wallet(alice)).toEqual({ free: 80, held: 20 });
      await economy.lowerHold(alice, 'j1', 15, 'cheaper again');
      expect(await economy.wallet(alice)).toEqual({ free: 85, held: 15 });
      await economy.lowerHold(alice, 'nope', 1, 'no such hold'); // nothing to lower: no error
      expect(await economy.spend(alice, 'j1')).toBe(true);
      await economy.lowerHold(alice, 'j1', 0, 'settled: ignored');
      expect(await economy.wallet(alice)).toEqual({ free: 85, held: 0 });
      const entries = await economy.entries(alice, 10);
      expect(entries.map((e) => [e.key, e.delta, e.amount, e.note])).toEqual([
        ['spend:j1', 0, 15, 'quoted'],
        ['refund:j1:lowered:2', 5, 5, 'cheaper again'],
        ['refund:j1:lowered', 10, 10, 'cheaper model'],
        ['hold:j1', -30, 30, 'quoted'],
        ['start', 100, 100, 'starting credits'],
      ]);
    });

    it('a hold of zero is a hold', async () => {
      expect(await economy.hold({ account: alice, jobId: 'free', amount: 0, note: 'n' })).toEqual({
        ok: true,
        free: 100,
        held: 0,
      });
      expect(await economy.holdState(alice, 'free')).toBe('held');
      expect(await economy.spend(alice, 'free')).toBe(true);
    });
  });

  describe('admin changes', () => {
    const meta = (key: string) => ({ key, by: 'mod', reason: `reason ${key}` });

    it('grant, take and set, each keyed so a replay changes nothing', async () => {
      expect(await economy.adjust(alice, { kind: 'grant', amount: 50 }, meta('i1'))).toEqual({
        free: 150,
        delta: 50,
      });
      expect(await economy.adjust(alice, { kind: 'grant', amount: 50 }, meta('i1'))).toEqual({
        free: 150,
        delta: 0,
      });
      await economy.hold({ account: alice, jobId: 'j1', amount: 40, note: 'n' });
      // take removes at most the free balance; the hold is untouched.
      expect(await economy.adjust(alice, { kind: 'take', amount: 500 }, meta('i2'))).toEqual({
        free: 0,
        delta: -110,
      });
      expect(await economy.wallet(alice)).toEqual({ free: 0, held: 40 });
      expect(await economy.adjust(alice, { kind: 'set', amount: 25 }, meta('i3'))).toEqual({
        free: 25,
        delta: 25,
      });
      expect(await economy.adjust(alice, { kind: 'set', amount: 5 }, meta('i4'))).toEqual({
        free: 5,
        delta: -20,
      });
      expect(await economy.adjust(alice, { kind: 'set', amount: 5 }, meta('i3'))).toEqual({
        free: 5,
        delta: 0,
      });
      expect(await economy.adjust(alice, { kind: 'take', amount: 500 }, meta('i2'))).toEqual({
        free: 5,
        delta: 0,
      });
      const entries = (await economy.entries(alice, 10)).filter((e) => e.key.startsWith('admin:'));
      expect(entries.map((e) => [e.key, e.kind, e.delta, e.amount, e.by, e.note])).toEqual([
        ['admin:i4', 'set', -20, 5, 'mod', 'reason i4'],
        ['admin:i3', 'set', 25, 25, 'mod', 'reason i3'],
        ['admin:i2', 'take', -110, 110, 'mod', 'reason i2'],
        ['admin:i1', 'grant', 50, 50, 'mod', 'reason i1'],
      ]);
      expect(await economy.refund(alice, 'j1')).toBe(true);
      expect(await economy.wallet(alice)).toEqual({ free: 45, held: 0 });
    });

    it('a replay long after (its entry archived) still changes nothing', async () => {
      await economy.adjust(alice, { kind: 'grant', amount: 1000 }, meta('old'));
      for (let i = 0; i < 150; i++)
        await economy.hold({ account: alice, jobId: `j${i}`, amount: 1, note: 'n' });
      expect(await economy.adjust(alice, { kind: 'grant', amount: 1000 }, meta('old'))).toEqual({
        free: 950,
        delta: 0,
      });
    });
  });

  describe('allowance', () => {
    const daily = { amount: 50, period: 'day' as const };

    it('tops the free balance up once per period, keyed by the period', async () => {
      // Above the allowance: nothing added, but this period is done.
      expect(await economy.wallet(alice, daily)).toEqual({ free: 100, held: 0 });
      await economy.hold({ account: alice, jobId: 'j1', amount: 90, note: 'n', allowance: daily });
      expect(await economy.wallet(alice, daily)).toEqual({ free: 10, held: 90 });
      clock += DAY;
      expect(await economy.wallet(alice, daily)).toEqual({ free: 50, held: 90 });
      expect(await economy.wallet(alice, daily)).toEqual({ free: 50, held: 90 });
      expect((await economy.entries(alice, 1))[0]).toEqual({
        key: 'allowance:d2026-12-03',
        kind: 'allowance',
        delta: 40,
        amount: 40,
        note: 'allowance',
        at: START + DAY,
      });
      // Without an allowance, or with amount 0 (off), nothing happens.
      clock += DAY;
      expect(await economy.wallet(alice)).toEqual({ free: 50, held: 90 });
      expect(await economy.wallet(alice, { amount: 0, period: 'day' })).toEqual({ free: 50, held: 90 });
    });

    it('is applied inside the hold, before the balance is checked', async () => {
      await economy.adjust(alice, { kind: 'set', amount: 0 }, { key: 'z', by: 'm', reason: 'r' });
      const weekly = { amount: 40, period: 'week' as const };
      expect(
        await economy.hold({ account: alice, jobId: 'j1', amount: 30, note: 'n', allowance: weekly }),
      ).toEqual({
        ok: true,
        free: 10,
        held: 30,
      });
      // Same ISO week (Wednesday → Sunday): no second allowance.
      clock = Date.parse('2026-12-06T23:00:00Z');
      expect(
        await economy.hold({ account: alice, jobId: 'j2', amount: 30, note: 'n', allowance: weekly }),
      ).toMatchObject({
        ok: false,
        reason: 'credits',
        free: 10,
      });
      // Monday: a new week.
      clock = Date.parse('2026-12-07T00:00:00Z');
      expect(
        await economy.hold({ account: alice, jobId: 'j2', amount: 30, note: 'n', allowance: weekly }),
      ).toEqual({
        ok: true,
        free: 10,
        held: 60,
      });
      expect(keysOf(await economy.entries(alice, 10)).filter((k) => k.startsWith('allowance'))).toEqual([
        'allowance:w2026-W50',
        'allowance:w2026-W49',
      ]);
    });

    it('a refused hold keeps the allowance it applied', async () => {
      await economy.adjust(alice, { kind: 'set', amount: 0 }, { key: 'z', by: 'm', reason: 'r' });
      expect(
        await economy.hold({ account: alice, jobId: 'j1', amount: 80, note: 'n', allowance: daily }),
      ).toEqual({
        ok: false,
        reason: 'credits',
        free: 50,
        needed: 80,
      });
      expect(await economy.wallet(alice, daily)).toEqual({ free: 50, held: 0 });
    });
  });

  describe('spend cap', () => {
    const cap = { guildId: 'g1', amount: 50, period: 'day' as const };

    it('counts holds, refuses past the cap until the period resets, and refunds give back', async () => {
      expect((await economy.hold({ account: alice, jobId: 'a1', amount: 30, note: 'n', cap })).ok).toBe(true);
      expect(await economy.hold({ account: bob, jobId: 'b1', amount: 30, note: 'n', cap })).toEqual({
        ok: false,
        reason: 'cap',
        resetsAt: Date.parse('2026-12-03T00:00:00Z'),
      });
      // Refused: nothing was held or counted.
      expect(await economy.holdState(bob, 'b1')).toBeUndefined();
      expect(await economy.wallet(bob)).toEqual({ free: 100, held: 0 });
      expect(await economy.capUsed('g1', 'day', clock)).toBe(30);
      expect((await economy.hold({ account: bob, jobId: 'b2', amount: 20, note: 'n', cap })).ok).toBe(true);
      expect(await economy.capUsed('g1', 'day', clock)).toBe(50);
      // A zero-price job passes a full cap.
      expect((await economy.hold({ account: bob, jobId: 'b3', amount: 0, note: 'n', cap })).ok).toBe(true);
      // Spending keeps the count; a refund and a lowering give it back.
      expect(await economy.spend(alice, 'a1')).toBe(true);
      expect(await economy.capUsed('g1', 'day', clock)).toBe(50);
      await economy.lowerHold(bob, 'b2', 15, 'cheaper');
      expect(await economy.capUsed('g1', 'day', clock)).toBe(45);
      expect(await economy.refund(bob, 'b2')).toBe(true);
      expect(await economy.capUsed('g1', 'day', clock)).toBe(30);
      // The month is a separate counter; another server too.
      expect(await economy.capUsed('g1', 'month', clock)).toBe(0);
      expect(await economy.capUsed('g2', 'day', clock)).toBe(0);
      // Tomorrow starts at zero.
      clock += DAY;
      expect(await economy.capUsed('g1', 'day', clock)).toBe(0);
      expect(await economy.capUsed('g1', 'day', clock - DAY)).toBe(30);
      expect((await economy.hold({ account: bob, jobId: 'b4', amount: 50, note: 'n', cap })).ok).toBe(true);
    });

    it('a refund after the period ends gives back to the period the hold was counted in', async () => {
      const monthly = { guildId: 'g1', amount: 100, period: 'month' as const };
      await economy.hold({ account: alice, jobId: 'a1', amount: 40, note: 'n', cap: monthly });
      clock = Date.parse('2027-01-01T00:00:00Z');
      await economy.hold({ account: alice, jobId: 'a2', amount: 10, note: 'n', cap: monthly });
      expect(await economy.refund(alice, 'a1')).toBe(true);
      expect(await economy.capUsed('g1', 'month', START)).toBe(0);
      expect(await economy.capUsed('g1', 'month', clock)).toBe(10);
    });

    it('the cap is checked before the balance', async () => {
      const small = { guildId: 'g1', amount: 10, period: 'day' as const };
      expect(
        await economy.hold({ account: alice, jobId: 'a1', amount: 500, note: 'n', cap: small }),
      ).toMatchObject({
        ok: false,
        reason: 'cap',
      });
    });
  });

  describe('history', () => {
    it('entries are newest first, limited, across any archive', async () => {
      for (let i = 0; i < 120; i++) {
        clock += 1;
        await economy.hold({ account: alice, jobId: `j${i}`, amount: 0, note: `n${i}` });
        if (i % 2 === 0) await economy.spend(alice, `j${i}`);
        else await economy.refund(alice, `j${i}`);
      }
      const all = await economy.entries(alice, 10_000);
      expect(all).toHaveLength(241);
      expect(all[0]!.key).toBe('refund:j119');
      expect(all.at(-1)!.key).toBe('start');
      expect(new Set(keysOf(all)).size).toBe(241);
      for (let i = 1; i < all.length; i++) expect(all[i - 1]!.at).toBeGreaterThanOrEqual(all[i]!.at);
      expect(keysOf(await economy.entries(alice, 3))).toEqual(['refund:j119', 'hold:j119', 'spend:j118']);
      // The state of a long-settled job is still known.
      expect(await economy.holdState(alice, 'j0')).toBe('spent');
      expect(await economy.holdState(alice, 'j1')).toBe('refunded');
      // A restarted process reads the same history.
      const again = await backend.economy({ startingCredits: 100, now });
      expect(await again.entries(alice, 10_000)).toEqual(all);
      expect(await again.holdState(alice, 'j0')).toBe('spent');
    });

    it('audit finds an account whose cached balance disagrees with its entries', async () => {
      await economy.hold({ account: alice, jobId: 'j1', amount: 30, note: 'n' });
      await economy.wallet(bob);
      if (economy.backend === 'redis') {
        await redis().sendCommand(['HINCRBY', 'animate:eco:acct:g1:alice', 'free', '5']);
      } else {
        const raw = JSON.parse((await backend.keyv.get('eco:acct:g1:alice')) as string) as { free: number };
        raw.free += 5;
        await backend.keyv.set('eco:acct:g1:alice', JSON.stringify(raw));
        economy = await backend.economy({ startingCredits: 100, now });
      }
      expect(await economy.audit()).toEqual([{ account: alice, free: 75, sum: 70, held: 30, holds: 30 }]);
      // Put it right so afterEach's audit passes.
      await economy.adjust(alice, { kind: 'take', amount: 0 }, { key: 'noop', by: 'm', reason: 'r' });
      if (economy.backend === 'redis') {
        await redis().sendCommand(['HINCRBY', 'animate:eco:acct:g1:alice', 'free', '-5']);
      } else {
        const raw = JSON.parse((await backend.keyv.get('eco:acct:g1:alice')) as string) as { free: number };
        raw.free -= 5;
        await backend.keyv.set('eco:acct:g1:alice', JSON.stringify(raw));
        economy = await backend.economy({ startingCredits: 100, now });
      }
    });
  });

  describe('races', () => {
    it('200 concurrent holds from one member whose balance covers exactly 7: exactly 7 succeed', async () => {
      const poor = { scope: 'g1', userId: 'poor' };
      await economy.adjust(poor, { kind: 'set', amount: 70 }, { key: 's', by: 'm', reason: 'r' });
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          economy.hold({ account: poor, jobId: `j${i}`, amount: 10, note: 'n' }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(7);
      expect(await economy.wallet(poor)).toEqual({ free: 0, held: 70 });
    });

    it('a cap covering exactly 3 jobs, 10 members racing: exactly 3 succeed', async () => {
      const cap = { guildId: 'g1', amount: 30, period: 'day' as const };
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          economy.hold({
            account: { scope: 'g1', userId: `m${i % 10}` },
            jobId: `j${i}`,
            amount: 10,
            note: 'n',
            cap,
          }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(3);
      expect(results.filter((r) => !r.ok && r.reason === 'cap')).toHaveLength(27);
      expect(await economy.capUsed('g1', 'day', clock)).toBe(30);
    });

    it('replays racing each other and other holds debit once', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          economy.hold({ account: alice, jobId: i % 2 === 0 ? 'same' : `other${i}`, amount: 5, note: 'n' }),
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      expect(await economy.wallet(alice)).toEqual({ free: 45, held: 55 });
    });

    if (name === 'Redis server') {
      it('two economies on two connections racing stay exact', async () => {
        const other = await backend.economy({ startingCredits: 100, now });
        const poor = { scope: 'g1', userId: 'poor' };
        await economy.adjust(poor, { kind: 'set', amount: 70 }, { key: 's', by: 'm', reason: 'r' });
        const holds = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            (i % 2 ? economy : other).hold({ account: poor, jobId: `j${i}`, amount: 10, note: 'n' }),
          ),
        );
        expect(holds.filter((r) => r.ok)).toHaveLength(7);
        const cap = { guildId: 'g2', amount: 30, period: 'day' as const };
        const capped = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (i % 2 ? economy : other).hold({
              account: { scope: 'g2', userId: `m${i % 10}` },
              jobId: `c${i}`,
              amount: 10,
              note: 'n',
              cap,
            }),
          ),
        );
        expect(capped.filter((r) => r.ok)).toHaveLength(3);
        // Settling from either side, twice each: once.
        const settled = await Promise.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 ? other : economy).spend(poor, `j${i % 100}`)),
        );
        expect(settled.filter(Boolean)).toHaveLength(7);
        expect(await other.wallet(poor)).toEqual({ free: 0, held: 0 });
        expect(await other.audit()).toEqual([]);
      });

      it('a capped hold refunded by another process gives back to the cap it was counted in', async () => {
        const other = await backend.economy({ startingCredits: 100, now });
        const cap = { guildId: 'g1', amount: 50, period: 'day' as const };
        await economy.hold({ account: alice, jobId: 'j1', amount: 30, note: 'n', cap });
        clock += DAY; // the other process does not know which counter, nor could it work it out from today
        await other.lowerHold(alice, 'j1', 20, 'cheaper');
        expect(await other.capUsed('g1', 'day', START)).toBe(20);
        expect(await other.refund(alice, 'j1')).toBe(true);
        expect(await economy.capUsed('g1', 'day', START)).toBe(0);
        expect(await economy.wallet(alice)).toEqual({ free: 100, held: 0 });
      });

      it('a Redis that lost its scripts (restart, SCRIPT FLUSH) is sent them again', async () => {
        await economy.wallet(alice);
        await redis().sendCommand(['SCRIPT', 'FLUSH']);
        expect(await economy.hold({ account: alice, jobId: 'j1', amount: 10, note: 'n' })).toEqual({
          ok: true,
          free: 90,
          held: 10,
        });
        expect(await economy.spend(alice, 'j1')).toBe(true);
      });
    }
  });

  describe('carry-over from the pre-scope ledger', () => {
    /** Today's ledger, as the bot wrote it before per-server balances: 69 free, 11 held. */
    async function legacyMember(userId: string) {
      const ledger = createLedger({ keyv: backend.keyv, startingCredits: 100, now });
      await ledger.reserve(userId, 'old-spent', 20, 'spent before');
      await ledger.reserve(userId, 'old-refunded', 30, 'refunded before');
      await ledger.reserve(userId, 'old-lowered', 10, 'lowered before');
      await ledger.reserve(userId, 'old-held', 5, 'still running');
      await ledger.commit(userId, 'old-spent');
      await ledger.refund(userId, 'old-refunded');
      await ledger.lowerHold(userId, 'old-lowered', 6, 'cheaper');
      expect(await ledger.balance(userId)).toBe(69);
      return ledger;
    }

    it('carries the balance and the open holds into the first account touched, once', async () => {
      await legacyMember('carol');
      const carol = { scope: 'g1', userId: 'carol' };
      clock += 1000;
      expect(await economy.wallet(carol)).toEqual({ free: 69, held: 11 });
      const entries = await economy.entries(carol, 10);
      expect(entries.map((e) => [e.key, e.kind, e.delta, e.amount, e.note])).toEqual([
        ['hold:old-held', 'hold', -5, 5, 'still running'],
        ['hold:old-lowered', 'hold', -6, 6, 'lowered before'],
        ['migrated', 'grant', 80, 80, 'carried over from before per-server balances'],
        ['legacy:old-spent', 'spend', 0, 20, 'spent before'],
      ]);
      expect(entries[3]).toMatchObject({ jobId: 'old-spent', at: START });
      expect(await economy.holdState(carol, 'old-spent')).toBe('spent');
      expect(await economy.holdState(carol, 'old-refunded')).toBe('refunded');
      expect(await economy.holdState(carol, 'old-held')).toBe('held');
      // Other scopes of the same member start fresh: no second carry-over.
      expect(await economy.wallet({ scope: 'g2', userId: 'carol' })).toEqual({ free: 100, held: 0 });
      expect(await economy.wallet({ scope: 'dm', userId: 'carol' })).toEqual({ free: 100, held: 0 });
      // Nor after a restart.
      const again = await backend.economy({ startingCredits: 100, now });
      expect(await again.wallet({ scope: 'g3', userId: 'carol' })).toEqual({ free: 100, held: 0 });
      expect(await again.wallet(carol)).toEqual({ free: 69, held: 11 });
      expect(await again.audit()).toEqual([]);
    });

    it('old jobs settle in the account they moved to, whichever scope asks', async () => {
      await legacyMember('carol');
      const carol = { scope: 'g1', userId: 'carol' };
      const dm = { scope: 'dm', userId: 'carol' };
      expect(await economy.wallet(carol)).toEqual({ free: 69, held: 11 });
      // The job was started in a DM before the upgrade; its hold is in g1 now.
      expect(await economy.holdState(dm, 'old-held')).toBe('held');
      expect(await economy.hold({ account: dm, jobId: 'old-held', amount: 5, note: 'replay' })).toEqual({
        ok: true,
        free: 100,
        held: 0,
      });
      await economy.lowerHold(dm, 'old-lowered', 4, 'cheaper still');
      expect(await economy.refund(dm, 'old-held')).toBe(true);
      expect(await economy.refund(dm, 'old-held')).toBe(false);
      expect(await economy.spend({ scope: 'g9', userId: 'carol' }, 'old-lowered')).toBe(true);
      expect(await economy.holdState(dm, 'old-held')).toBe('refunded');
      expect(await economy.holdState(dm, 'old-lowered')).toBe('spent');
      expect(await economy.wallet(carol)).toEqual({ free: 76, held: 0 });
      expect(await economy.wallet(dm)).toEqual({ free: 100, held: 0 });
      // A job that was never in the old record does not wander.
      expect(await economy.spend(dm, 'unknown')).toBe(false);
    });

    it('creates no credits: racing first touches in many scopes, one carry-over', async () => {
      await legacyMember('dave');
      const second = await backend.economy({ startingCredits: 100, now });
      const scopes = ['g1', 'g2', 'g3', 'dm', 'global'];
      // On Keyv the second economy is only used after the first is done (one writer at a time).
      const parallel = economy.backend === 'redis';
      const wallets = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (parallel && i % 2 ? second : economy).wallet({ scope: scopes[i % 5]!, userId: 'dave' }),
        ),
      );
      const byScope = new Map(wallets.map((w, i) => [scopes[i % 5]!, w]));
      const migrated = [...byScope.values()].filter((w) => w.held === 11);
      expect(migrated).toEqual([{ free: 69, held: 11 }]);
      const total = [...byScope.values()].reduce((s, w) => s + w.free + w.held, 0);
      expect(total).toBe(80 + 4 * 100);
      for (const scope of scopes) {
        expect(await second.wallet({ scope, userId: 'dave' })).toEqual(byScope.get(scope));
      }
    });

    it('a crash between claiming the carry-over and writing the account finishes into the same scope', async () => {
      await legacyMember('erin');
      const erin = { scope: 'g1', userId: 'erin' };
      if (economy.backend === 'redis') {
        // One script claims and writes at once; the state a crash could leave on Keyv, made by hand.
        await redis().sendCommand(['SET', 'animate:eco:migrated:erin', 'g1']);
      } else {
        const set = backend.keyv.set.bind(backend.keyv);
        backend.keyv.set = (key: string, value: unknown, ttl?: number) =>
          key.startsWith('eco:acct:') ? Promise.reject(new Error('crash')) : set(key, value, ttl);
        await expect(economy.wallet(erin)).rejects.toThrow('crash');
        backend.keyv.set = set;
        expect(await backend.keyv.get('eco:migrated:erin')).toMatchObject({ scope: 'g1' });
        expect(await backend.keyv.get('eco:acct:g1:erin')).toBeUndefined();
      }
      const restarted = await backend.economy({ startingCredits: 100, now });
      expect(await restarted.wallet({ scope: 'g2', userId: 'erin' })).toEqual({ free: 100, held: 0 });
      expect(await restarted.wallet(erin)).toEqual({ free: 69, held: 11 });
      expect(await restarted.spend({ scope: 'g2', userId: 'erin' }, 'old-held')).toBe(true);
      expect(await restarted.audit()).toEqual([]);
      economy = restarted;
    });

    it('a member with nothing to carry over starts with the starting credits', async () => {
      await legacyMember('carol');
      expect(await economy.wallet({ scope: 'g1', userId: 'frank' })).toEqual({ free: 100, held: 0 });
    });
  });

  if (name !== 'Redis server') {
    describe('keyv records', () => {
      it('the account record keeps the newest 100 entries; older ones are in archive chunks', async () => {
        for (let i = 0; i < 150; i++) {
          await economy.hold({ account: alice, jobId: `j${i}`, amount: 0, note: 'n' });
          await economy.spend(alice, `j${i}`);
        }
        const record = JSON.parse((await backend.keyv.get('eco:acct:g1:alice')) as string) as {
          entries: unknown[];
          chunks: number;
          holds: unknown[];
        };
        expect(record.entries.length).toBeLessThanOrEqual(100);
        expect(record.holds).toEqual([]);
        expect(record.chunks).toBeGreaterThan(0);
        expect(await backend.keyv.get(`eco:entries:g1:alice:${record.chunks - 1}`)).toBeTypeOf('string');
        expect(record.entries.length + record.chunks * 50).toBe(301);
      });

      it('changes written together fail together when the write fails, and nothing is believed that was not written', async () => {
        await economy.wallet(alice);
        const set = backend.keyv.set.bind(backend.keyv);
        let failing = true;
        backend.keyv.set = (key: string, value: unknown, ttl?: number) =>
          failing && key.startsWith('eco:acct:')
            ? new Promise((_, reject) => setTimeout(() => reject(new Error('disk full')), 5))
            : set(key, value, ttl);
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            economy.hold({ account: alice, jobId: `j${i}`, amount: 1, note: 'n' }),
          ),
        );
        expect(results.every((r) => r.status === 'rejected')).toBe(true);
        failing = false;
        backend.keyv.set = set;
        expect(await economy.wallet(alice)).toEqual({ free: 100, held: 0 });
        expect(await economy.holdState(alice, 'j0')).toBeUndefined();
        expect((await economy.hold({ account: alice, jobId: 'j0', amount: 1, note: 'n' })).ok).toBe(true);
        expect(await economy.wallet(alice)).toEqual({ free: 99, held: 1 });
      });

      it('a small cache never forgets a change that is still being written', async () => {
        const { createKeyvEconomy } = await import('../../src/store/economy-keyv.js');
        const small = createKeyvEconomy({ keyv: backend.keyv, startingCredits: 100, now, cacheSize: 2 });
        // Slow writes, fast reads: a copy dropped from the cache while its write is in flight
        // would be read back without the change, and the next write would lose it.
        const set = backend.keyv.set.bind(backend.keyv);
        backend.keyv.set = (key: string, value: unknown, ttl?: number) =>
          new Promise((r) => setTimeout(r, 2)).then(() => set(key, value, ttl));
        const members = Array.from({ length: 20 }, (_, i) => ({ scope: 'g1', userId: `m${i}` }));
        await Promise.all(members.map((m) => small.wallet(m)));
        await Promise.all(
          Array.from({ length: 400 }, (_, i) =>
            small.hold({ account: members[i % 20]!, jobId: `j${i}`, amount: 1, note: 'n' }),
          ),
        );
        backend.keyv.set = set;
        for (const m of members) expect(await small.wallet(m)).toEqual({ free: 80, held: 20 });
        expect(await small.audit()).toEqual([]);
        economy = small;
      });

      it('a crash between the cap counter and the account over-counts the cap, never under-counts it', async () => {
        const cap = { guildId: 'g1', amount: 50, period: 'day' as const };
        await economy.wallet(alice);
        const set = backend.keyv.set.bind(backend.keyv);
        backend.keyv.set = (key: string, value: unknown, ttl?: number) =>
          key.startsWith('eco:acct:') ? Promise.reject(new Error('crash')) : set(key, value, ttl);
        await expect(
          economy.hold({ account: alice, jobId: 'j1', amount: 30, note: 'n', cap }),
        ).rejects.toThrow('crash');
        backend.keyv.set = set;
        const restarted = await backend.economy({ startingCredits: 100, now });
        expect(await restarted.capUsed('g1', 'day', clock)).toBe(30);
        expect(await restarted.holdState(alice, 'j1')).toBeUndefined();
        expect(await restarted.wallet(alice)).toEqual({ free: 100, held: 0 });
        // The same process, after the failed write, does not believe its cached copy either.
        expect(await economy.wallet(alice)).toEqual({ free: 100, held: 0 });
        economy = restarted;
      });
    });
  }
});
