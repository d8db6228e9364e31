// Opens the Keyv store named by STORE_URL: an embedded SQLite file (the default, nothing to
// set up) or Redis. Everything else in the bot sees only the Keyv instance.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';

export type Store = Keyv<unknown>;

export interface OpenedStore {
  keyv: Store;
  /** Human-readable location for the start-up log (no credentials). */
  location: string;
  close(): Promise<void>;
}

/**
 * One namespace for the whole bot; keys carry their own prefixes (job:, acct:, ...). Errors are
 * thrown, not swallowed: by default Keyv turns a failed read into "no value" (a member would
 * start over at STARTING_CREDITS) and a failed write into a silent no-op (a job "written before
 * its side effect" that was never written).
 */
const NAMESPACE = 'animate';

export async function openStore(url: string, onError: (error: unknown) => void): Promise<OpenedStore> {
  if (url.startsWith('sqlite://')) {
    const path = resolve(url.slice('sqlite://'.length));
    mkdirSync(dirname(path), { recursive: true });
    const adapter = new KeyvSqlite({ uri: `sqlite://${path}`, busyTimeout: 10_000 });
    // WAL lets reads run beside the single writer; synchronous=NORMAL in WAL mode still
    // survives a process crash (only an OS crash can lose the last commits).
    await adapter.query('PRAGMA journal_mode=WAL');
    await adapter.query('PRAGMA synchronous=NORMAL');
    const keyv = new Keyv<unknown>({ store: adapter, namespace: NAMESPACE, throwOnErrors: true });
    keyv.on('error', onError);
    return { keyv, location: `sqlite ${path}`, close: () => keyv.disconnect() };
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
  return { keyv, location: `redis ${host}`, close: () => keyv.disconnect() };
}
