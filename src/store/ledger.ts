// Credits. Each member has one account record holding the balance and one entry per job;
// the entry's state moves held → spent or held → refunded, and the balance changes in the same
// single write. Replaying any step is harmless because each step checks the entry first.
import { z } from 'zod';
import type { Store } from './keyv.js';
import { KeyedLock } from './lock.js';

const entrySchema = z.object({
  jobId: z.string(),
  amount: z.number().int().nonnegative(),
  state: z.enum(['held', 'spent', 'refunded']),
  note: z.string(),
  at: z.number(),
  updatedAt: z.number(),
});
export type LedgerEntry = z.infer<typeof entrySchema>;

const accountSchema = z.object({
  balance: z.number().int(),
  entries: z.array(entrySchema),
});
type Account = z.infer<typeof accountSchema>;

export type ReserveResult = { ok: true; balance: number } | { ok: false; balance: number; needed: number };

/** Settled entries kept per member; held ones are never dropped. */
const KEEP_SETTLED = 100;

export interface Ledger {
  balance(userId: string): Promise<number>;
  /** Holds `amount` for a job. Idempotent per job id. */
  reserve(userId: string, jobId: string, amount: number, note: string): Promise<ReserveResult>;
  /** Turns a hold into a spend. Returns false when there was no hold to commit. */
  commit(userId: string, jobId: string): Promise<boolean>;
  /** Gives a hold back in full. Returns false when there was no hold (already settled or never held). */
  refund(userId: string, jobId: string): Promise<boolean>;
  /**
   * Lowers a hold to `amount`, the difference refunded as its own entry (a job that ended up
   * cheaper than quoted). Idempotent: a hold already at or below `amount` is left alone.
   */
  lowerHold(userId: string, jobId: string, amount: number, note: string): Promise<void>;
  statement(userId: string, limit: number): Promise<{ balance: number; entries: LedgerEntry[] }>;
  /** The entry for one job, if the member has one. */
  entry(userId: string, jobId: string): Promise<LedgerEntry | undefined>;
}

export function createLedger(opts: { keyv: Store; startingCredits: number; now?: () => number }): Ledger {
  const { keyv, startingCredits } = opts;
  const now = opts.now ?? Date.now;
  const lock = new KeyedLock();
  const key = (userId: string) => `acct:${userId}`;

  async function load(userId: string): Promise<Account> {
    const raw = await keyv.get(key(userId));
    if (raw === undefined) return { balance: startingCredits, entries: [] };
    return accountSchema.parse(raw);
  }

  async function save(userId: string, account: Account): Promise<void> {
    const settled = account.entries.filter((e) => e.state !== 'held');
    if (settled.length > KEEP_SETTLED) {
      const drop = new Set(settled.slice(0, settled.length - KEEP_SETTLED));
      account.entries = account.entries.filter((e) => !drop.has(e));
    }
    await keyv.set(key(userId), account);
  }

  function settle(userId: string, jobId: string, to: 'spent' | 'refunded'): Promise<boolean> {
    return lock.run(userId, async () => {
      const account = await load(userId);
      const entry = account.entries.find((e) => e.jobId === jobId);
      if (entry?.state !== 'held') return false;
      entry.state = to;
      entry.updatedAt = now();
      if (to === 'refunded') account.balance += entry.amount;
      await save(userId, account);
      return true;
    });
  }

  return {
    balance: async (userId) => (await load(userId)).balance,

    reserve: (userId, jobId, amount, note) => {
      if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`bad amount ${amount}`);
      return lock.run(userId, async () => {
        const account = await load(userId);
        if (account.entries.some((e) => e.jobId === jobId)) return { ok: true, balance: account.balance };
        if (account.balance < amount) return { ok: false, balance: account.balance, needed: amount };
        account.balance -= amount;
        const at = now();
        account.entries.push({ jobId, amount, state: 'held', note, at, updatedAt: at });
        await save(userId, account);
        return { ok: true, balance: account.balance };
      });
    },

    lowerHold: (userId, jobId, amount, note) =>
      lock.run(userId, async () => {
        const account = await load(userId);
        const hold = account.entries.find((e) => e.jobId === jobId);
        if (hold?.state !== 'held' || hold.amount <= amount) return;
        const difference = hold.amount - amount;
        const at = now();
        hold.amount = amount;
        hold.updatedAt = at;
        account.balance += difference;
        account.entries.push({
          jobId: `${jobId}:lowered`,
          amount: difference,
          state: 'refunded',
          note,
          at,
          updatedAt: at,
        });
        await save(userId, account);
      }),

    commit: (userId, jobId) => settle(userId, jobId, 'spent'),
    refund: (userId, jobId) => settle(userId, jobId, 'refunded'),

    entry: async (userId, jobId) => (await load(userId)).entries.find((e) => e.jobId === jobId),

    statement: async (userId, limit) => {
      const account = await load(userId);
      const entries = [...account.entries].sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit);
      return { balance: account.balance, entries };
    },
  };
}
