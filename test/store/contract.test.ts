// The store contract the bot relies on, on every backend: values round-trip as written, jobs
// are found again after a "restart" (a second connection), and the ledger never overspends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/keyv.js';
import { createJobStore } from '../../src/store/jobs.js';
import { stopRedis, storeBackends, type Backend } from './backends.js';

const backends = storeBackends();
afterAll(stopRedis);

it('runs against every backend available here', () => {
  // Visible in the report: which backends this run covered (Redis needs redis-server or REDIS_URL).
  expect(backends.map(([name]) => name)).toEqual(expect.arrayContaining(['in-memory Keyv', 'SQLite file']));
  if (process.env.CI) expect(backends.map(([name]) => name)).toContain('Redis server');
});

describe.each(backends)('%s', (_name, open) => {
  let backend: Backend | undefined;
  afterEach(async () => {
    expect(backend?.errors).toEqual([]);
    await backend?.close();
    backend = undefined;
  });

  it('round-trips nested records exactly', async () => {
    backend = await open();
    const value = { a: 1, b: [1, 2, { c: 'x' }], d: null, e: 'üñí 🎬' };
    await backend.keyv.set('rt:1', value);
    expect(await backend.keyv.get('rt:1')).toEqual(value);
    expect(await backend.keyv.delete('rt:1')).toBe(true);
    expect(await backend.keyv.get('rt:1')).toBeUndefined();
  });

  it('lists open jobs and forgets finished ones', async () => {
    backend = await open();
    const jobs = createJobStore(backend.keyv);
    const base = {
      userId: 'u',
      guildId: null,
      channelId: 'c',
      request: {
        model: 'wavespeed/ray-2-flash' as const,
        prompt: 'p',
        aspectRatio: '16:9' as const,
        durationSeconds: 5 as const,
        image: { sourceUrl: 's', filename: 'f.png', contentType: 'image/png', bytes: 1, uploads: {} },
      },
      price: 20,
      runModel: 'wavespeed/ray-2-flash' as const,
      discord: { attachmentSizeLimit: 1 },
      updatedAt: 1,
      deadlineAt: 2,
    };
    await jobs.create({ ...base, id: 'a', state: 'submitted', createdAt: 1 });
    await jobs.create({ ...base, id: 'b', state: 'accepted', createdAt: 2 });
    await jobs.save({ ...base, id: 'a', state: 'delivered', createdAt: 1 });
    expect((await jobs.listOpen()).map((j) => j.id)).toEqual(['b']);
    await jobs.linkResultMessage('m1', 'a');
    expect(await jobs.jobForResultMessage('m1')).toBe('a');
  });

  it('never lets one member overspend under concurrent holds', async () => {
    backend = await open();
    const economy = await backend.economy({ startingCredits: 100 });
    const account = { scope: 'dm', userId: 'm' };
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        economy.hold({ account, jobId: `job${i}`, amount: 20, note: 'n' }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect((await economy.wallet(account)).free).toBe(0);
    // Which five won is up to the backend's interleaving.
    const won = `job${results.findIndex((r) => r.ok)}`;
    expect(await economy.refund(account, won)).toBe(true);
    expect(await economy.refund(account, won)).toBe(false);
    expect((await economy.wallet(account)).free).toBe(20);
  });
});

describe('one writer per SQLite file', () => {
  it('refuses a second process (here: a second connection) on a file in use, naming it, and opens once the first is closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'animate-lock-'));
    const url = `sqlite://${join(dir, 'store.sqlite')}`;
    try {
      const first = await openStore(url, () => undefined);
      await first.keyv.set('k', 1);
      await expect(openStore(url, () => undefined, { busyTimeoutMs: 200 })).rejects.toThrow(
        /store\.sqlite is in use by another bot process.*redis:\/\//,
      );
      await first.close();
      const second = await openStore(url, () => undefined, { busyTimeoutMs: 200 });
      expect(await second.keyv.get('k')).toBe(1);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
