// The economy on a Keyv store: the embedded SQLite default and in-memory Keyv (docs/economy.md,
// "The Keyv backend"). Keyv has no transactions, so this is exact only because this process is
// the store's only writer: every change to an account runs under that account's KeyedLock (and
// a cap counter's under its own), and the accounts live in a write-through cache, so a hold or a
// spend costs one write and no read.
//
// Records (all in the bot's Keyv namespace):
//   eco:acct:<scope>:<user>       the account: balances, open holds, the newest ≤ KEEP entries,
//                                 how many archive chunks it has; its write is the commit point
//   eco:entries:<scope>:<user>:<n> archive chunk n (CHUNK entries, oldest first), immutable once
//                                 an account record counts it
//   eco:cap:<guild>:<periodId>    a server's spend counted against its cap in one period
//   eco:migrated:<user>           which scope took the member's pre-scope ledger record, and the
//                                 jobs that record held (docs/economy.md, "Migration")
//   eco:admin:<scope>:<user>:<key> an admin change's key, once the account has moved its entry
//                                 out of the newest entries (replays after that still find it)
//   eco:dir:<n>                   the directory of accounts (1,000 a record), for audit()
// Account and chunk records are stored as JSON strings: Keyv's own serializer walks every value
// and is about three times slower than JSON.stringify on a record of 100 entries.
import { z } from 'zod';
import {
  type AccountRef,
  type AdminChange,
  type Allowance,
  type Economy,
  type EconomyOptions,
  type HoldRequest,
  type HoldResult,
  type LedgerEntry,
  type SpendCap,
  type Wallet,
  NOTES,
  checkAmount,
  loweredKey,
} from './economy.js';
import type { Store } from './keyv.js';
import { KeyedLock } from './lock.js';
import { nextPeriodStart, periodId } from './periods.js';

export interface KeyvEconomyOptions extends EconomyOptions {
  keyv: Store;
  /** Entries kept in the account record (default 100); older ones move to archive chunks. */
  keepEntries?: number;
  /** Accounts kept in memory (default 10,000); an evicted one is read again on its next use. */
  cacheSize?: number;
}

const DAY_MS = 86_400_000;
const DIR_CHUNK = 1_000;

const entrySchema = z.object({
  key: z.string(),
  kind: z.enum(['grant', 'take', 'set', 'allowance', 'hold', 'spend', 'refund']),
  delta: z.number().int(),
  amount: z.number().int(),
  note: z.string(),
  jobId: z.string().optional(),
  by: z.string().optional(),
  at: z.number(),
});

const holdSchema = z.object({
  amount: z.number().int().nonnegative(),
  note: z.string(),
  /** The cap counter this hold was counted in, and until when that counter is kept. */
  cap: z.object({ key: z.string(), until: z.number() }).optional(),
  /** How many times it was lowered (each lowering has its own entry key). */
  lowered: z.number().int().optional(),
});
type Hold = z.infer<typeof holdSchema>;

const accountSchema = z.object({
  free: z.number().int().nonnegative(),
  held: z.number().int().nonnegative(),
  /** Period id of the last allowance applied (the marker is kept even when nothing was added). */
  allowance: z.string().optional(),
  chunks: z.number().int().nonnegative(),
  entries: z.array(entrySchema),
  holds: z.array(z.tuple([z.string(), holdSchema])),
});

/** The other stored shapes, each built once (zod compiles a schema on its first parse). */
const text = z.string();
const chunkSchema = z.array(entrySchema);
const directoryChunk = z.array(z.string());
const capUsed = z.number().int().nonnegative();

interface Account {
  free: number;
  held: number;
  allowance?: string;
  chunks: number;
  /** Oldest first. */
  entries: LedgerEntry[];
  /** Open holds only; a settled hold is an entry. */
  holds: Map<string, Hold>;
  /** Not stored: writes this record (group commit). */
  writer?: GroupCommit;
  /** Not stored: a write of it failed, so this copy may be ahead of the store and must not be written. */
  broken?: boolean;
}

/** A cap counter in memory (the store has it as a plain number). */
interface CapCounter {
  used: number;
  /** Until when the record is kept: a day past the latest period it was counted for. */
  until: number;
  writer?: GroupCommit;
  broken?: boolean;
}

/**
 * Group commit for one record: a change made while a write of the record is in flight goes out
 * with the next write, so N changes arriving together cost about two writes, not N. Every
 * caller's promise settles only after a write that contains its change (write-through). When a
 * write fails, it and every change waiting for the next one fail, and `onFail` drops the copy.
 */
class GroupCommit {
  #writing = false;
  #next: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | undefined;
  constructor(
    private readonly write: () => Promise<unknown>,
    private readonly onFail: () => void,
  ) {}

  /** A write is in flight or queued: the copy in memory is ahead of the store. */
  get busy(): boolean {
    return this.#writing || this.#next !== undefined;
  }

  commit(): Promise<void> {
    if (!this.#next) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined); // the caller awaits it; this only stops an early "unhandled" report
      this.#next = { promise, resolve, reject };
    }
    const { promise } = this.#next;
    if (!this.#writing) void this.#drain();
    return promise;
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#next) {
      const batch = this.#next;
      this.#next = undefined;
      try {
        await this.write();
        batch.resolve();
      } catch (error) {
        batch.reject(error);
        // Changes made meanwhile were made on top of the failed ones: they fail too.
        const waiting = this.#next as typeof batch | undefined;
        waiting?.reject(error);
        this.#next = undefined;
        this.onFail();
      }
    }
    this.#writing = false;
  }
}

/** The pre-scope ledger's record `acct:<userId>` (kept as test/fixtures/legacy-ledger.ts, which writes such stores for the migration tests), as much of it as we use. */
const legacySchema = z.object({
  balance: z.number().int(),
  entries: z.array(
    z.object({
      jobId: z.string(),
      amount: z.number().int().nonnegative(),
      state: z.enum(['held', 'spent', 'refunded']),
      note: z.string(),
      at: z.number(),
      updatedAt: z.number(),
    }),
  ),
});
type Legacy = z.infer<typeof legacySchema>;

const markerSchema = z.object({
  scope: z.string(),
  /** The legacy record's jobs and their state then: a job's hold may live in `scope`, not where it is asked for. */
  jobs: z.record(z.string(), z.enum(['held', 'spent', 'refunded'])),
});
type Marker = z.infer<typeof markerSchema>;

function encode(a: Account): string {
  const { free, held, allowance, chunks, entries, holds } = a;
  return JSON.stringify({ free, held, allowance, chunks, entries, holds: [...holds] });
}

function decode(raw: unknown): Account {
  const parsed = accountSchema.parse(JSON.parse(text.parse(raw)));
  const { allowance, ...rest } = parsed;
  return {
    ...rest,
    ...(allowance === undefined ? {} : { allowance }),
    entries: parsed.entries.map(cleanEntry),
    holds: new Map(parsed.holds.map(([job, hold]) => [job, cleanHold(hold)])),
  };
}

// zod gives optional fields as `T | undefined`; the types here (exactOptionalPropertyTypes) want them absent.
function cleanEntry(e: z.infer<typeof entrySchema>): LedgerEntry {
  const { jobId, by, ...rest } = e;
  return { ...rest, ...(jobId === undefined ? {} : { jobId }), ...(by === undefined ? {} : { by }) };
}
function cleanHold(h: z.infer<typeof holdSchema>): Hold {
  const { cap, lowered, ...rest } = h;
  return { ...rest, ...(cap === undefined ? {} : { cap }), ...(lowered === undefined ? {} : { lowered }) };
}

export function createKeyvEconomy(opts: KeyvEconomyOptions): Economy {
  const { keyv } = opts;
  const startingCredits = checkAmount(opts.startingCredits, 'startingCredits');
  const now = opts.now ?? Date.now;
  const keep = Math.max(2, opts.keepEntries ?? 100);
  const chunkSize = Math.ceil(keep / 2);
  const cacheSize = Math.max(1, opts.cacheSize ?? 10_000);

  const lock = new KeyedLock();
  /** Write-through, least recently used first. */
  const cache = new Map<string, Account>();
  const caps = new Map<string, CapCounter>();
  /** userId → the migration marker, or null: none (we are the only writer, so "none" stays true until we write one). */
  const markers = new Map<string, Marker | null>();

  const idOf = (ref: AccountRef) => `${ref.scope}:${ref.userId}`;
  const acctKey = (id: string) => `eco:acct:${id}`;
  const chunkKey = (id: string, n: number) => `eco:entries:${id}:${n}`;
  const markerKey = (userId: string) => `eco:migrated:${userId}`;
  const adminKey = (id: string, key: string) => `eco:admin:${id}:${key}`;
  const dirKey = (n: number) => `eco:dir:${n}`;

  function remember(id: string, account: Account): void {
    cache.delete(id);
    cache.set(id, account);
    evict(cache, cacheSize);
  }

  /** Keys of copies a call is working on right now (cache entries that must not be dropped). */
  const inUse = new Map<string, number>();
  async function pinned<T>(key: string, fn: () => Promise<T>): Promise<T> {
    inUse.set(key, (inUse.get(key) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const n = inUse.get(key)! - 1;
      if (n > 0) inUse.set(key, n);
      else inUse.delete(key);
    }
  }

  /**
   * Drops the least recently used entry over `size`, never one a call is working on or one with
   * a write in flight: the store does not have that change yet, so reading it back would lose it.
   */
  function evict(map: Map<string, { writer?: GroupCommit }>, size: number): void {
    if (map.size <= size) return;
    for (const [key, value] of map) {
      if (!inUse.has(key) && !value.writer?.busy) {
        map.delete(key);
        return;
      }
    }
  }

  /** Drops a copy that may be ahead of the store; the next use reads the store again. */
  function drop(id: string, account: Account | undefined): void {
    if (!account) return;
    account.broken = true;
    if (cache.get(id) === account) cache.delete(id);
  }

  /**
   * Runs `fn` on the account under the account's lock. `fn` changes the copy in memory and calls
   * `persist()`; the lock is released then, and this resolves once a write containing the change
   * is done (the next change to the account can be made meanwhile and joins the next write).
   */
  async function withAccount<T>(
    ref: AccountRef,
    fn: (account: Account, id: string, persist: () => void) => T | Promise<T>,
  ): Promise<T> {
    const id = idOf(ref);
    let written: Promise<void> | undefined;
    const value = await lock.run(id, () =>
      pinned(id, async () => {
        let account: Account | undefined;
        try {
          account = await load(ref, id);
          const copy = account;
          return await fn(copy, id, () => {
            written = persist(id, copy);
          });
        } catch (error) {
          drop(id, account);
          throw error;
        }
      }),
    );
    if (written) await written;
    return value;
  }

  function persist(id: string, account: Account): Promise<void> {
    if (account.broken) return Promise.reject(new Error(`an earlier write of account ${id} failed`));
    account.writer ??= new GroupCommit(
      () => save(id, account),
      () => drop(id, account),
    );
    return account.writer.commit();
  }

  // ---- loading, creating and migrating accounts -------------------------------------------

  /** The account, from the cache, the store, or new (started or migrated). Call under its lock. */
  async function load(ref: AccountRef, id: string): Promise<Account> {
    const cached = cache.get(id);
    if (cached) {
      remember(id, cached);
      return cached;
    }
    const raw = await keyv.get(acctKey(id));
    const account = raw === undefined ? await create(ref, id) : decode(raw);
    remember(id, account);
    return account;
  }

  async function readMarker(userId: string): Promise<Marker | null> {
    const known = markers.get(userId);
    if (known !== undefined) return known;
    const raw = await keyv.get(markerKey(userId));
    const marker = raw === undefined ? null : markerSchema.parse(raw);
    markers.set(userId, marker);
    return marker;
  }

  async function readLegacy(userId: string): Promise<Legacy | undefined> {
    const raw = await keyv.get(`acct:${userId}`);
    return raw === undefined ? undefined : legacySchema.parse(raw);
  }

  /**
   * A new account. The member's pre-scope record goes to the first account created for them,
   * once: the claim (the marker) is written first, under the member's lock, then the account. A
   * crash between the two leaves the marker naming this scope, and the next creation of this
   * account finishes the migration; any other scope starts fresh.
   */
  async function create(ref: AccountRef, id: string): Promise<Account> {
    const legacy = await lock.run(`mig:${ref.userId}`, async () => {
      const marker = await readMarker(ref.userId);
      if (marker && marker.scope !== ref.scope) return undefined;
      const record = await readLegacy(ref.userId);
      if (!record || marker) return record;
      const claim: Marker = { scope: ref.scope, jobs: {} };
      for (const e of record.entries) if (!e.jobId.endsWith(':lowered')) claim.jobs[e.jobId] = e.state;
      await keyv.set(markerKey(ref.userId), claim);
      markers.set(ref.userId, claim);
      return record;
    });
    const at = now();
    const account: Account = { free: 0, held: 0, chunks: 0, entries: [], holds: new Map() };
    if (legacy) migrate(account, legacy, at);
    else
      add(account, {
        key: 'start',
        kind: 'grant',
        delta: startingCredits,
        amount: startingCredits,
        note: NOTES.start,
        at,
      });
    await addToDirectory(id);
    await save(id, account);
    return account;
  }

  /** The pre-scope record as entries: its spends for the record, a grant of free + held, then its open holds. */
  function migrate(account: Account, legacy: Legacy, at: number): void {
    const balance = Math.max(0, legacy.balance);
    const held = legacy.entries.filter((e) => e.state === 'held');
    const heldSum = held.reduce((sum, e) => sum + e.amount, 0);
    const spent = legacy.entries.filter((e) => e.state === 'spent').sort((a, b) => a.updatedAt - b.updatedAt);
    for (const e of spent) {
      add(account, {
        key: `legacy:${e.jobId}`,
        kind: 'spend',
        delta: 0,
        amount: e.amount,
        note: e.note,
        jobId: e.jobId,
        at: e.updatedAt,
      });
    }
    const carried = balance + heldSum;
    add(account, {
      key: 'migrated',
      kind: 'grant',
      delta: carried,
      amount: carried,
      note: NOTES.migrated,
      at,
    });
    for (const e of held) {
      add(account, {
        key: `hold:${e.jobId}`,
        kind: 'hold',
        delta: 0 - e.amount,
        amount: e.amount,
        note: e.note,
        jobId: e.jobId,
        at,
      });
      account.held += e.amount;
      account.holds.set(e.jobId, { amount: e.amount, note: e.note });
    }
  }

  // ---- entries and saving ------------------------------------------------------------------

  const hasRecent = (account: Account, key: string) => account.entries.some((e) => e.key === key);

  /** Appends an entry and applies its delta (the caller keeps `held` and the holds). */
  function add(account: Account, entry: LedgerEntry): void {
    account.entries.push(entry);
    account.free += entry.delta;
    if (account.free < 0) throw new Error(`entry ${entry.key} would make the free balance negative`);
  }

  /**
   * Writes the account. Entries beyond `keep` go to archive chunks first; the account record,
   * written last, is what makes them part of the account (a crash before it leaves an orphan
   * chunk that the next archiving overwrites).
   */
  async function save(id: string, account: Account): Promise<void> {
    while (account.entries.length > keep) {
      await keyv.set(chunkKey(id, account.chunks), JSON.stringify(account.entries.slice(0, chunkSize)));
      account.entries = account.entries.slice(chunkSize);
      account.chunks += 1;
    }
    await keyv.set(acctKey(id), encode(account));
  }

  async function readChunk(id: string, n: number): Promise<LedgerEntry[]> {
    const raw = await keyv.get(chunkKey(id, n));
    if (raw === undefined) throw new Error(`archive chunk ${n} of ${id} is missing`);
    return chunkSchema.parse(JSON.parse(text.parse(raw))).map(cleanEntry);
  }

  /** Every entry, oldest first: the archive chunks, then the newest. */
  async function allEntries(id: string, account: Account): Promise<LedgerEntry[]> {
    const all: LedgerEntry[] = [];
    for (let n = 0; n < account.chunks; n++) all.push(...(await readChunk(id, n)));
    return [...all, ...account.entries];
  }

  // ---- the directory of accounts (for audit) -------------------------------------------------

  let directory: Promise<{ chunks: string[][]; listed: Set<string> }> | undefined;
  function loadDirectory(): Promise<{ chunks: string[][]; listed: Set<string> }> {
    directory ??= (async () => {
      const chunks: string[][] = [];
      for (;;) {
        const raw = await keyv.get(dirKey(chunks.length));
        if (raw === undefined) return { chunks, listed: new Set(chunks.flat()) };
        chunks.push(directoryChunk.parse(JSON.parse(text.parse(raw))));
      }
    })();
    directory.catch(() => (directory = undefined));
    return directory;
  }

  /** Lists the account before it is written, so a crash leaves at most a listed account that does not exist. */
  function addToDirectory(id: string): Promise<void> {
    return lock.run('eco:dir', async () => {
      const { chunks, listed } = await loadDirectory();
      // An account is created only when its record is missing; after a crash it may be listed already.
      if (listed.has(id)) return;
      let last = chunks.at(-1);
      if (!last || last.length >= DIR_CHUNK) chunks.push((last = []));
      last.push(id);
      listed.add(id);
      try {
        await keyv.set(dirKey(chunks.length - 1), JSON.stringify(last));
      } catch (error) {
        directory = undefined;
        throw error;
      }
    });
  }

  // ---- allowance and cap ------------------------------------------------------------------

  /** Tops the free balance up to the allowance once per period. True when the account changed. */
  function applyAllowance(account: Account, allowance: Allowance | undefined, at: number): boolean {
    if (!allowance) return false;
    checkAmount(allowance.amount, 'allowance');
    if (allowance.amount === 0) return false;
    const period = periodId(allowance.period, at);
    if (account.allowance === period) return false;
    account.allowance = period;
    const key = `allowance:${period}`;
    if (account.free < allowance.amount && !hasRecent(account, key)) {
      const delta = allowance.amount - account.free;
      add(account, { key, kind: 'allowance', delta, amount: delta, note: NOTES.allowance, at });
    }
    return true;
  }

  const capKeyOf = (guildId: string, period: SpendCap['period'], at: number) =>
    `eco:cap:${guildId}:${periodId(period, at)}`;

  /** The counter, from memory or the store. Call under the counter's lock. */
  async function counter(key: string): Promise<CapCounter> {
    const cached = caps.get(key);
    if (cached) return cached;
    const raw = await keyv.get(key);
    const loaded: CapCounter = {
      used: raw === undefined ? 0 : capUsed.parse(raw),
      until: 0,
    };
    caps.set(key, loaded);
    evict(caps, 10_000);
    return loaded;
  }

  /** Writes the counter (group commit). Returned in an object so a lock does not wait for it. */
  function persistCap(key: string, c: CapCounter): { written: Promise<void> } {
    if (c.broken) return { written: Promise.reject(new Error(`an earlier write of ${key} failed`)) };
    c.writer ??= new GroupCommit(
      // Kept a day past its period, then Keyv lets it expire.
      () => keyv.set(key, c.used, Math.max(c.until - now(), 3_600_000)),
      () => {
        c.broken = true;
        if (caps.get(key) === c) caps.delete(key);
      },
    );
    const written = c.writer.commit();
    return { written };
  }

  /** Gives `amount` back to the cap counter a hold was counted in (never below zero). */
  async function uncap(cap: Hold['cap'], amount: number): Promise<void> {
    if (!cap || amount === 0) return;
    const { written } = await lock.run(cap.key, () =>
      pinned(cap.key, async () => {
        const c = await counter(cap.key);
        c.used = Math.max(0, c.used - amount);
        c.until = Math.max(c.until, cap.until);
        return persistCap(cap.key, c);
      }),
    );
    await written;
  }

  // ---- jobs whose hold lives in another scope ---------------------------------------------

  /** The scope a job of the pre-scope ledger moved to, when that is not `ref.scope`. */
  async function elsewhere(ref: AccountRef, jobId: string): Promise<AccountRef | undefined> {
    const marker = await readMarker(ref.userId);
    if (!marker || marker.scope === ref.scope || !(jobId in marker.jobs)) return undefined;
    return { scope: marker.scope, userId: ref.userId };
  }

  async function settle(
    ref: AccountRef,
    jobId: string,
    to: 'spend' | 'refund',
    redirect = true,
  ): Promise<boolean> {
    const settled = await withAccount(ref, (account, _id, persist) => {
      const hold = account.holds.get(jobId);
      if (!hold) return undefined;
      account.holds.delete(jobId);
      account.held -= hold.amount;
      add(account, {
        key: `${to}:${jobId}`,
        kind: to,
        delta: to === 'refund' ? hold.amount : 0,
        amount: hold.amount,
        note: hold.note,
        jobId,
        at: now(),
      });
      persist();
      return hold;
    });
    // The account is written first, then the cap: a crash between them over-counts the cap, never under-counts it.
    if (settled && to === 'refund') await uncap(settled.cap, settled.amount);
    if (settled || !redirect) return settled !== undefined;
    const other = await elsewhere(ref, jobId);
    return other ? settle(other, jobId, to, false) : false;
  }

  async function lower(ref: AccountRef, jobId: string, amount: number, note: string, redirect = true) {
    const found = await withAccount(ref, (account, _id, persist) => {
      const hold = account.holds.get(jobId);
      if (!hold) return false;
      if (hold.amount <= amount) return true;
      const difference = hold.amount - amount;
      const lowered = (hold.lowered ?? 0) + 1;
      account.holds.set(jobId, { ...hold, amount, lowered });
      account.held -= difference;
      add(account, {
        key: loweredKey(jobId, lowered),
        kind: 'refund',
        delta: difference,
        amount: difference,
        note,
        jobId,
        at: now(),
      });
      persist();
      return { cap: hold.cap, difference };
    });
    if (typeof found === 'object') await uncap(found.cap, found.difference);
    if (found || !redirect) return;
    const other = await elsewhere(ref, jobId);
    if (other) await lower(other, jobId, amount, note, false);
  }

  async function stateOf(ref: AccountRef, jobId: string, redirect = true) {
    const state = await withAccount(ref, async (account, id) => {
      if (account.holds.has(jobId)) return 'held' as const;
      const find = (entries: LedgerEntry[]) => {
        for (let i = entries.length - 1; i >= 0; i--) {
          const key = entries[i]!.key;
          if (key === `spend:${jobId}` || key === `legacy:${jobId}`) return 'spent' as const;
          if (key === `refund:${jobId}`) return 'refunded' as const;
        }
        return undefined;
      };
      const recent = find(account.entries);
      if (recent) return recent;
      // An old job: look through the archive, newest chunk first.
      for (let n = account.chunks - 1; n >= 0; n--) {
        const found = find(await readChunk(id, n));
        if (found) return found;
      }
      return undefined;
    });
    if (state) return state;
    const marker = await readMarker(ref.userId);
    const legacy = marker?.jobs[jobId];
    if (!marker || legacy === undefined) return undefined;
    // A pre-scope job refunded before the upgrade has no entry; its state is the marker's.
    if (marker.scope === ref.scope || !redirect) return legacy === 'refunded' ? 'refunded' : undefined;
    return stateOf({ scope: marker.scope, userId: ref.userId }, jobId, false);
  }

  // ---- the interface ----------------------------------------------------------------------

  return {
    backend: 'keyv',

    wallet: (ref, allowance) =>
      withAccount(ref, (account, _id, persist): Wallet => {
        if (applyAllowance(account, allowance, now())) persist();
        return { free: account.free, held: account.held };
      }),

    hold: async (request: HoldRequest): Promise<HoldResult> => {
      const { account: ref, jobId, note, allowance, cap } = request;
      const amount = checkAmount(request.amount);
      if (cap) checkAmount(cap.amount, 'cap');
      const moved = await elsewhere(ref, jobId);
      return withAccount(ref, async (account, _id, persist): Promise<HoldResult> => {
        // A replay (or a pre-scope job whose hold lives in the scope its record moved to) changes nothing.
        if (moved || account.holds.has(jobId) || hasRecent(account, `hold:${jobId}`)) {
          return { ok: true, free: account.free, held: account.held };
        }
        if (hasRecent(account, `legacy:${jobId}`))
          return { ok: true, free: account.free, held: account.held };
        const at = now();
        const changed = applyAllowance(account, allowance, at);
        const refuse = (result: HoldResult): HoldResult => {
          // The allowance is kept even when the hold is refused (the member's wallet would show it anyway).
          if (changed) persist();
          return result;
        };
        const short = (): HoldResult | undefined =>
          account.free < amount
            ? { ok: false, reason: 'credits', free: account.free, needed: amount }
            : undefined;
        let counted: Hold['cap'];
        if (cap && amount > 0) {
          const key = capKeyOf(cap.guildId, cap.period, at);
          const until = nextPeriodStart(cap.period, at) + DAY_MS;
          // Checked and counted under the counter's lock; the balance is checked there too, so a
          // hold refused for credits does not count. The counter is written BEFORE the account:
          // a crash between the two leaves the cap over-counted (members may be refused a little
          // early until the period ends), never under-counted (spend can never pass the cap).
          const outcome = await lock.run(key, () =>
            pinned(key, async (): Promise<HoldResult | { written: Promise<void> }> => {
              const c = await counter(key);
              if (c.used + amount > cap.amount) {
                return { ok: false, reason: 'cap', resetsAt: nextPeriodStart(cap.period, at) };
              }
              const refused = short();
              if (refused) return refused;
              c.used += amount;
              c.until = Math.max(c.until, until);
              return persistCap(key, c);
            }),
          );
          if ('ok' in outcome) return refuse(outcome);
          await outcome.written;
          counted = { key, until };
        } else {
          const refused = short();
          if (refused) return refuse(refused);
        }
        add(account, { key: `hold:${jobId}`, kind: 'hold', delta: 0 - amount, amount, note, jobId, at });
        account.held += amount;
        account.holds.set(jobId, { amount, note, ...(counted ? { cap: counted } : {}) });
        persist();
        return { ok: true, free: account.free, held: account.held };
      });
    },

    spend: (ref, jobId) => settle(ref, jobId, 'spend'),
    refund: (ref, jobId) => settle(ref, jobId, 'refund'),
    lowerHold: async (ref, jobId, amount, note) => lower(ref, jobId, checkAmount(amount), note),

    adjust: async (ref: AccountRef, change: AdminChange, meta) => {
      checkAmount(change.amount);
      const result = await withAccount(ref, async (account, id, persist) => {
        const key = `admin:${meta.key}`;
        if (hasRecent(account, key) || (await keyv.get(adminKey(id, meta.key))) !== undefined) {
          return { free: account.free, delta: 0, id: undefined };
        }
        const delta =
          change.kind === 'grant'
            ? change.amount
            : change.kind === 'take'
              ? 0 - Math.min(change.amount, account.free)
              : change.amount - account.free;
        const amount = change.kind === 'take' ? 0 - delta : change.amount;
        add(account, { key, kind: change.kind, delta, amount, note: meta.reason, by: meta.by, at: now() });
        persist();
        return { free: account.free, delta, id };
      });
      // After the account: it only matters once the entry has left the newest entries.
      if (result.id) await keyv.set(adminKey(result.id, meta.key), 1);
      return { free: result.free, delta: result.delta };
    },

    holdState: (ref, jobId) => stateOf(ref, jobId),

    entries: (ref, limit) =>
      withAccount(ref, async (account, id) => {
        const out: LedgerEntry[] = [];
        for (let i = account.entries.length - 1; i >= 0 && out.length < limit; i--)
          out.push(account.entries[i]!);
        for (let n = account.chunks - 1; n >= 0 && out.length < limit; n--) {
          const chunk = await readChunk(id, n);
          for (let i = chunk.length - 1; i >= 0 && out.length < limit; i--) out.push(chunk[i]!);
        }
        return out;
      }),

    capUsed: (guildId, period, at) => {
      const key = capKeyOf(guildId, period, at);
      return lock.run(key, () => pinned(key, async () => (await counter(key)).used));
    },

    audit: async () => {
      const drift: Awaited<ReturnType<Economy['audit']>> = [];
      for (const chunk of (await loadDirectory()).chunks) {
        for (const id of [...chunk]) {
          const split = id.indexOf(':');
          const ref = { scope: id.slice(0, split), userId: id.slice(split + 1) };
          const row = await lock.run(id, () =>
            pinned(id, async () => {
              if (!cache.has(id) && (await keyv.get(acctKey(id))) === undefined) return undefined; // listed, never written
              const account = await load(ref, id);
              const sum = (await allEntries(id, account)).reduce((s, e) => s + e.delta, 0);
              const holds = [...account.holds.values()].reduce((s, h) => s + h.amount, 0);
              return { account: ref, free: account.free, sum, held: account.held, holds };
            }),
          );
          if (row && (row.free !== row.sum || row.held !== row.holds)) drift.push(row);
        }
      }
      return drift;
    },
  };
}
