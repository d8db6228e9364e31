// Every store backend the bot supports, for contract suites that must hold on all of them (as
// keyv tests its own adapters): in-memory Keyv, a real SQLite file, and a real Redis server.
// Redis runs when `redis-server` is installed (CI installs it) or REDIS_URL names one; the
// suites list the backends they ran against, so a missing Redis is visible, not silent.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv from 'keyv';
import type { Economy, EconomyOptions } from '../../src/store/economy.js';
import { createKeyvEconomy } from '../../src/store/economy-keyv.js';
import { openStore, type OpenedStore, type Store } from '../../src/store/keyv.js';

export interface Backend {
  keyv: Store;
  errors: unknown[];
  /**
   * A new economy on this backend's data. On Keyv it is what a restarted process builds (use one
   * at a time: each thinks it is the only writer); on Redis each has its own client connection,
   * as another process would, and any number may run at once.
   */
  economy(opts: EconomyOptions): Promise<Economy>;
  close(): Promise<void>;
}

export type BackendFactory = [name: string, open: () => Promise<Backend>];

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? res(address.port) : rej(new Error('no port')),
      );
    });
  });
}

/** Resolves once something listens on the port (the redis-server just spawned is up). */
async function acceptsConnections(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await new Promise<boolean>((res) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        res(true);
      });
      socket.once('error', () => res(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on port ${port} within 5 s`);
}

let redis: Promise<string> | undefined;
let redisProcess: ChildProcess | undefined;

/** A Redis URL: REDIS_URL, or a redis-server of our own on a free loopback port. */
export function redisUrl(): Promise<string> {
  redis ??= (async () => {
    const given = process.env.REDIS_URL;
    if (given) return given;
    const port = await freePort();
    redisProcess = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await acceptsConnections(port);
    return `redis://127.0.0.1:${port}`;
  })();
  return redis;
}

/** Stops the redis-server this file started, if any; call from afterAll. */
export async function stopRedis(): Promise<void> {
  const child = redisProcess;
  redisProcess = undefined;
  redis = undefined;
  if (!child || child.exitCode !== null) return;
  await new Promise((res) => {
    child.once('exit', res);
    child.kill('SIGTERM');
  });
}

export const redisAvailable = (): boolean =>
  Boolean(process.env.REDIS_URL) ||
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/**
 * A store on the test Redis (redisUrl()), retried while the redis-server just spawned starts.
 * Its errors go to `errors`, if given.
 */
export async function openRedisStore(errors: unknown[] = []): Promise<OpenedStore> {
  return openRetrying(await redisUrl(), errors);
}

async function openRetrying(url: string, errors: unknown[]) {
  for (let attempt = 0; ; attempt++) {
    // Errors of an attempt that failed are that attempt's, not the backend's.
    const mine: unknown[] = [];
    try {
      const store = await openStore(url, (error) => mine.push(error));
      store.keyv.on('error', (error: unknown) => errors.push(error));
      errors.push(...mine);
      return store;
    } catch (error) {
      // The server we just spawned may still be starting.
      if (attempt >= 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const keyvEconomy =
  (keyv: Store) =>
  (opts: EconomyOptions): Promise<Economy> => {
    try {
      return Promise.resolve(createKeyvEconomy({ keyv, ...opts }));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };

/** Deletes the economy's Redis keys (Keyv's clear() covers only Keyv's own namespace). */
async function clearEconomy(store: OpenedStore): Promise<void> {
  const adapter = store.keyv.store as { client: { sendCommand<T>(args: string[]): Promise<T> } };
  let cursor = '0';
  do {
    const [next, keys] = await adapter.client.sendCommand<[string, string[]]>([
      'SCAN',
      cursor,
      'MATCH',
      'animate:eco:*',
      'COUNT',
      '1000',
    ]);
    cursor = next;
    if (keys.length > 0) await adapter.client.sendCommand(['DEL', ...keys]);
  } while (cursor !== '0');
}

export function storeBackends(): BackendFactory[] {
  const list: BackendFactory[] = [
    [
      'in-memory Keyv',
      () => {
        const errors: unknown[] = [];
        const keyv: Store = new Keyv();
        keyv.on('error', (error: unknown) => errors.push(error));
        return Promise.resolve({ keyv, errors, economy: keyvEconomy(keyv), close: () => keyv.disconnect() });
      },
    ],
    [
      'SQLite file',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'animate-store-'));
        const errors: unknown[] = [];
        const store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`, (error) => errors.push(error));
        return {
          keyv: store.keyv,
          errors,
          economy: keyvEconomy(store.keyv),
          close: async () => {
            await store.close();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      },
    ],
  ];
  if (redisAvailable()) {
    list.push([
      'Redis server',
      async () => {
        const errors: unknown[] = [];
        const url = await redisUrl();
        const store = await openRetrying(url, errors);
        await store.keyv.clear();
        await clearEconomy(store);
        const others: OpenedStore[] = [];
        return {
          keyv: store.keyv,
          errors,
          economy: async (opts) => {
            const other = await openRetrying(url, errors);
            others.push(other);
            return other.economy(opts);
          },
          close: async () => {
            for (const other of others) await other.close();
            await store.close();
          },
        };
      },
    ]);
  }
  return list;
}
