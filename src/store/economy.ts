// The credit economy's interface: accounts, their ledger, holds for jobs and a server's spend
// cap. Two backends implement it: `economy-keyv.ts` (the embedded SQLite default and in-memory
// Keyv: exact within one process, the only writer) and `economy-redis.ts` (Lua scripts run
// inside Redis: exact across any number of processes). The engine and the commands see only this.
//
// Money model (docs/economy.md):
// - An account is one member in one scope: a server id, `dm` (a member's DMs) or `global`.
// - Every change is one entry; its `delta` is the change to the FREE balance, so the free balance
//   is the sum of deltas. `hold` moves credits from free to held (delta −amount), `spend` commits
//   a hold (delta 0, the held credits are gone), `refund` gives a hold back (delta +amount).
// - Every entry has a key unique in its account (`hold:<jobId>`, `admin:<interactionId>`,
//   `allowance:<period>`, ...); writing an entry whose key exists changes nothing.
// - Free and held balances are never negative.

export type EntryKind = 'grant' | 'take' | 'set' | 'allowance' | 'hold' | 'spend' | 'refund';

export interface LedgerEntry {
  /** Unique within the account: a replay of the same step finds it and adds nothing. */
  key: string;
  kind: EntryKind;
  /** Change to the free balance (hold −n, spend 0, refund +n, take −n, set ±n, ...). */
  delta: number;
  /** The credits the entry is about (a hold's size, the amount granted, the credits spent). */
  amount: number;
  /** What it paid for or why: "wavespeed/ray-2-flash 5s", an admin's reason. */
  note: string;
  jobId?: string;
  /** The admin who made the change, for grant/take/set. */
  by?: string;
  at: number;
}

export type Scope = string; // a guild id, 'dm' or 'global'

export interface AccountRef {
  scope: Scope;
  userId: string;
}

/** The scope of an action by a member: its server, or `dm`; `global` when CREDITS_SCOPE=global. */
export function scopeFor(mode: 'guild' | 'global', guildId: string | null): Scope {
  if (mode === 'global') return 'global';
  return guildId ?? 'dm';
}

export type Period = 'day' | 'week' | 'month';

/** A server's allowance: once per period a member's free balance is topped up to `amount`. */
export interface Allowance {
  amount: number;
  period: Period;
}

/** A server's spend cap: holds plus spends in the current period never exceed `amount`. */
export interface SpendCap {
  guildId: string;
  amount: number;
  period: 'day' | 'month';
}

export interface Wallet {
  free: number;
  held: number;
}

export type HoldResult =
  | { ok: true; free: number; held: number }
  | { ok: false; reason: 'credits'; free: number; needed: number }
  | { ok: false; reason: 'cap'; resetsAt: number };

export interface HoldRequest {
  account: AccountRef;
  jobId: string;
  amount: number;
  note: string;
  /** Applied (lazily, once per period) in the same atomic step, before the balance is checked. */
  allowance?: Allowance;
  /** Checked and counted in the same atomic step as the hold. */
  cap?: SpendCap;
}

export type AdminChange =
  | { kind: 'grant'; amount: number }
  | { kind: 'take'; amount: number } // up to the free balance
  | { kind: 'set'; amount: number }; // the free balance becomes `amount`

export interface Economy {
  /** Which backend, for logs and the suite's report: 'keyv' or 'redis'. */
  readonly backend: string;
  /**
   * The account as it is now, after the allowance (if due) and the one-time migration of a
   * pre-scope balance. `/credits` and refusals use it; it writes only those two entries.
   */
  wallet(account: AccountRef, allowance?: Allowance): Promise<Wallet>;
  /** Holds a job's price: allowance, cap and balance checked and written in one atomic step. Idempotent per job. */
  hold(request: HoldRequest): Promise<HoldResult>;
  /** Commits the job's hold. False when there was none (never held, or already settled). */
  spend(account: AccountRef, jobId: string): Promise<boolean>;
  /** Gives the job's hold back in full (and to the cap). False when there was none. */
  refund(account: AccountRef, jobId: string): Promise<boolean>;
  /** Lowers a hold to `amount`, the difference refunded as entry `refund:<jobId>:lowered`. Idempotent. */
  lowerHold(account: AccountRef, jobId: string, amount: number, note: string): Promise<void>;
  /**
   * An admin's grant/take/set, keyed by `key` (the interaction id) so a replay changes nothing.
   * Returns the free balance after it and how much it changed (a take may take less than asked).
   */
  adjust(
    account: AccountRef,
    change: AdminChange,
    meta: { key: string; by: string; reason: string },
  ): Promise<{ free: number; delta: number }>;
  /** The state of one job's hold: held, spent, refunded, or undefined when there is none. */
  holdState(account: AccountRef, jobId: string): Promise<'held' | 'spent' | 'refunded' | undefined>;
  /** Newest first. */
  entries(account: AccountRef, limit: number): Promise<LedgerEntry[]>;
  /** The server's spend counted against its cap in the period containing `at`. */
  capUsed(guildId: string, period: 'day' | 'month', at: number): Promise<number>;
  /**
   * The drift check: for every account, the sum of its entries against its cached free balance,
   * and its open holds against its cached held balance. Empty when the books are exact.
   */
  audit(): Promise<Array<{ account: AccountRef; free: number; sum: number; held: number; holds: number }>>;
  close?(): Promise<void>;
}

/** What every backend is built from (besides its store). */
export interface EconomyOptions {
  /** The free balance of an account that has nothing to carry over from the pre-scope ledger. */
  startingCredits: number;
  /** The clock (ms); tests move it to cross allowance and cap periods. */
  now?: () => number;
}

/** Notes of the entries the economy writes by itself (docs/economy.md, "Entries"). */
export const NOTES = {
  start: 'starting credits',
  migrated: 'carried over from before per-server balances',
  allowance: 'allowance',
} as const;

/** Credits are whole, non-negative and exact in a double: anything else is a bug upstream. */
export function checkAmount(amount: number, what = 'amount'): number {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`bad ${what} ${amount}`);
  return amount;
}

/** The key of the n-th lowering of a hold: `refund:<jobId>:lowered`, then `…:lowered:2`, ... */
export function loweredKey(jobId: string, n: number): string {
  return n <= 1 ? `refund:${jobId}:lowered` : `refund:${jobId}:lowered:${n}`;
}
