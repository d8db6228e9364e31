// Opens the Keyv store named by STORE_URL: an embedded SQLite file (the default, nothing to
// set up) or Redis. Everything else in the bot sees only the Keyv instance.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import type { Economy, EconomyOptions } from './economy.js';
import { createKeyvEconomy } from './economy-keyv.js';
import { type RedisCommander, createRedisEconomy } from './economy-redis.js';
import { createRedisOpenIndex, type OpenIndexEdits } from './open-index.js';
import { LOCAL_SLOTS, createRedisSlots, type SlotStore } from './slots.js';

export type Store = Keyv<unknown>;

export interface OpenedStore {
  keyv: Store;
  /** Human-readable location for the start-up log (no credentials). */
  location: string;
  /**
   * The credit economy on this store (docs/economy.md): on SQLite and in-memory Keyv the
   * per-process backend (this process must be the store's only writer), on Redis the one made of
   * Lua scripts (exact across processes). Call it once: a second call returns the same economy,
   * and throws if the options differ.
   */
  economy(opts: EconomyOptions): Economy;
  /** Running-job slots shared by every process on this store (src/store/slots.ts). */
  slots: SlotStore;
  /**
   * On Redis, edits of the open-jobs index that other processes cannot interleave with, for
   * createJobStore (src/store/open-index.ts); absent on SQLite, whose one process edits alone.
   */
  openIndex?: OpenIndexEdits;
  close(): Promise<void>;
}

/**
 * One namespace for the whole bot; keys carry their own prefixes (job:, acct:, ...). Errors are
 * thrown, not swallowed: by default Keyv turns a failed read into "no value" (a member would
 * start over at STARTING_CREDITS) and a failed write into a silent no-op (a job "written before
 * its side effect" that was never written).
 */
const NAMESPACE = 'animate';

export interface StoreOptions {
  /**
   * How long SQLite waits for a lock (default 10 s): long enough for a restarted bot to wait out
   * the old process's last writes, short enough to say clearly that another process holds it.
   */
  busyTimeoutMs?: number;
}

export async function openStore(
  url: string,
  onError: (error: unknown) => void,
  opts: StoreOptions = {},
): Promise<OpenedStore> {
  if (url.startsWith('sqlite://')) {
    const path = resolve(url.slice('sqlite://'.length));
    mkdirSync(dirname(path), { recursive: true });
    const adapter = new KeyvSqlite({ uri: `sqlite://${path}`, busyTimeout: opts.busyTimeoutMs ?? 10_000 });
    // The connection's own failures also reject the query that hit them; no second report.
    adapter.on('error', () => undefined);
    try {
      // WAL lets reads run beside the writer; synchronous=NORMAL in WAL mode still survives a
      // process crash (only an OS crash can lose the last commits).
      await adapter.query('PRAGMA journal_mode=WAL');
      await adapter.query('PRAGMA synchronous=NORMAL');
      // The economy on SQLite is exact because this process is the file's only writer
      // (docs/economy.md): hold the write lock for as long as the store is open, so a second
      // bot process on the same file fails at start instead of double-spending credits.
      await adapter.query('PRAGMA locking_mode=EXCLUSIVE');
      await adapter.query('BEGIN IMMEDIATE');
      await adapter.query('COMMIT');
    } catch (error) {
      await adapter.disconnect().catch(() => undefined);
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
      throw new Error(
        `${path} is in use by another bot process; SQLite allows one process per file (use STORE_URL=redis://… to run several)`,
      );
    }
    const keyv = new Keyv<unknown>({ store: adapter, namespace: NAMESPACE, throwOnErrors: true });
    keyv.on('error', onError);
    return {
      keyv,
      location: `sqlite ${path}`,
      economy: once((o) => createKeyvEconomy({ keyv, ...o })),
      slots: LOCAL_SLOTS,
      close: () => keyv.disconnect(),
    };
  }
  const adapter = new KeyvRedis(url, { throwOnErrors: true });
  const keyv = new Keyv<unknown>({ store: adapter, namespace: NAMESPACE, throwOnErrors: true });
  keyv.on('error', onError);
  // Fail at start, not at the first command, when Redis cannot be reached (the client would
  // otherwise keep reconnecting and the start would hang).
  let timer: NodeJS.Timeout | undefined;
  const unreachable = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`cannot reach Redis at ${new URL(url).host} within 10 s`)),
      10_000,
    );
  });
  try {
    await Promise.race([keyv.get('meta:ping'), unreachable]);
  } catch (error) {
    await keyv.disconnect().catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const { host } = new URL(url);
  return {
    keyv,
    location: `redis ${host}`,
    economy: once((o) => {
      if (adapter.isCluster() || adapter.isSentinel())
        throw new Error('the economy needs a single Redis server');
      return createRedisEconomy({
        client: adapter.client as unknown as RedisCommander,
        // Where Keyv put the pre-scope ledger's `acct:<userId>`: its namespace, then the adapter's.
        legacyKey: (userId) => adapter.createKeyPrefix(`${NAMESPACE}:acct:${userId}`, adapter.namespace),
        ...o,
      });
    }),
    slots: createRedisSlots({
      client: adapter.client as unknown as RedisCommander,
      jobKey: (jobId) => adapter.createKeyPrefix(`${NAMESPACE}:job:${jobId}`, adapter.namespace),
    }),
    openIndex: createRedisOpenIndex({
      client: adapter.client as unknown as RedisCommander,
      redisKey: (key) => adapter.createKeyPrefix(`${NAMESPACE}:${key}`, adapter.namespace),
    }),
    close: () => keyv.disconnect(),
  };
}

/** Wraps an economy factory so a store has one economy (two Keyv economies on one store would both think they are the only writer). */
function once(make: (opts: EconomyOptions) => Economy): (opts: EconomyOptions) => Economy {
  let made: { opts: EconomyOptions; economy: Economy } | undefined;
  return (opts) => {
    if (!made) made = { opts, economy: make(opts) };
    else if (made.opts.startingCredits !== opts.startingCredits || made.opts.now !== opts.now) {
      throw new Error('this store already has an economy with other options');
    }
    return made.economy;
  };
}
