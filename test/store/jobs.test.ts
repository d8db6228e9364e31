// Job records: round-trips through the store, the open-jobs index a restart relies on, and the
// result-message links used by 🔁 reruns. Crash windows are made real with a store that fails a
// write, not by editing the store's keys by hand.
import Keyv from 'keyv';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRedisStore, redisAvailable, stopRedis, storeBackends, type Backend } from './backends.js';
import type { Store } from '../../src/store/keyv.js';
import { type JobRecord, type JobState, createJobStore } from '../../src/store/jobs.js';
import { makeJob } from '../fixtures/job.js';

const backends = storeBackends();
afterAll(stopRedis);

describe.each(backends)('job store over %s', (_name, open) => {
  let backend: Backend;

  beforeEach(async () => {
    backend = await open();
  });

  afterEach(async () => {
    await backend.close();
  });

  it('get returns what create wrote', async () => {
    const jobs = createJobStore(backend.keyv);
    const job = makeJob({
      state: 'submitted',
      guildId: null,
      rerunOf: 'job000000',
      providerRef: { id: 'pred-1', statusUrl: 'https://api.example/status/pred-1' },
      progress: { phase: 'queued', position: 3, submittedAt: 1_500, polls: 2 },
      request: {
        ...makeJob().request,
        model: 'fal/ray-2-flash',
        resolution: '720p',
        loop: true,
        durationSeconds: 10,
        aspectRatio: '9:16',
      },
    });
    await jobs.create(job);
    expect(await jobs.get(job.id)).toEqual(job);
  });

  it('get of an unknown id is undefined', async () => {
    expect(await createJobStore(backend.keyv).get('missing123')).toBeUndefined();
  });

  it('get validates the record and refuses one that does not fit the schema', async () => {
    const jobs = createJobStore(backend.keyv);
    const bad = { ...makeJob(), state: 'exploded' } as unknown as JobRecord;
    await jobs.create(bad);
    await expect(jobs.get(bad.id)).rejects.toThrow();
  });

  it('get fills schema defaults missing from an older record', async () => {
    const jobs = createJobStore(backend.keyv);
    const job = makeJob();
    const { uploads: _uploads, ...imageWithoutUploads } = job.request.image;
    const older = { ...job, request: { ...job.request, image: imageWithoutUploads } } as unknown as JobRecord;
    await jobs.create(older);
    expect((await jobs.get(job.id))?.request.image.uploads).toEqual({});
  });

  it('save overwrites the record', async () => {
    const jobs = createJobStore(backend.keyv);
    const job = makeJob();
    await jobs.create(job);
    const submitted: JobRecord = { ...job, state: 'submitted', providerRef: { id: 'p-9' }, updatedAt: 5_000 };
    await jobs.save(submitted);
    expect(await jobs.get(job.id)).toEqual(submitted);
  });

  it('listOpen returns every non-terminal job, oldest first', async () => {
    const jobs = createJobStore(backend.keyv);
    const states: JobState[] = [
      'waiting',
      'accepted',
      'enhancing',
      'submitting',
      'submitted',
      'succeeded',
      'delivering',
      'failed',
    ];
    // Created in a shuffled order of age.
    const created = states.map((state, i) =>
      makeJob({ state, createdAt: [50, 10, 80, 70, 30, 20, 60, 40][i] ?? 0 }),
    );
    for (const job of created) await jobs.create(job);
    const open = await jobs.listOpen();
    expect(open.map((j) => j.createdAt)).toEqual([10, 20, 30, 40, 50, 60, 70, 80]);
    expect(new Set(open.map((j) => j.id))).toEqual(new Set(created.map((j) => j.id)));
  });

  it('listOpen is empty on a fresh store', async () => {
    expect(await createJobStore(backend.keyv).listOpen()).toEqual([]);
  });

  it.each(['delivered', 'refunded'] as const)(
    'saving a job as %s takes it off the open list',
    async (state) => {
      const jobs = createJobStore(backend.keyv);
      const done = makeJob();
      const other = makeJob();
      await jobs.create(done);
      await jobs.create(other);
      await jobs.save({ ...done, state, finishedAt: 9_000 });
      expect((await jobs.listOpen()).map((j) => j.id)).toEqual([other.id]);
      // The record itself stays readable.
      expect((await jobs.get(done.id))?.state).toBe(state);
    },
  );

  it('saving a non-terminal state keeps the job open with the new record', async () => {
    const jobs = createJobStore(backend.keyv);
    const job = makeJob();
    await jobs.create(job);
    await jobs.save({ ...job, state: 'failed', failure: { code: 'timeout', message: 'took too long' } });
    const open = await jobs.listOpen();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ id: job.id, state: 'failed', failure: { code: 'timeout' } });
  });

  it('creating the same job twice lists it once', async () => {
    const jobs = createJobStore(backend.keyv);
    const job = makeJob();
    await jobs.create(job);
    await jobs.create(job);
    expect(await jobs.listOpen()).toHaveLength(1);
  });

  it('concurrent creates all reach the open list', async () => {
    const jobs = createJobStore(backend.keyv);
    const many = Array.from({ length: 20 }, () => makeJob());
    await Promise.all(many.map((job) => jobs.create(job)));
    expect((await jobs.listOpen()).map((j) => j.id).sort()).toEqual(many.map((j) => j.id).sort());
  });

  it('finds open jobs listed in the single index older versions wrote, and closes them', async () => {
    const many = Array.from({ length: 5 }, () => makeJob({ state: 'submitted', providerRef: { id: 'p' } }));
    for (const job of many) await backend.keyv.set(`job:${job.id}`, job);
    await backend.keyv.set(
      'jobs:open',
      many.map((j) => j.id),
    );
    const jobs = createJobStore(backend.keyv);
    expect((await jobs.listOpen()).map((j) => j.id)).toEqual(many.map((j) => j.id));
    for (const job of many) await jobs.save({ ...job, state: 'delivered' });
    expect(await jobs.listOpen()).toEqual([]);
  });

  it('open jobs are found by a fresh store over the same Keyv (a restart)', async () => {
    const job = makeJob({ state: 'submitted', providerRef: { id: 'p-1' } });
    await createJobStore(backend.keyv).create(job);
    expect(await createJobStore(backend.keyv).listOpen()).toEqual([job]);
  });

  it('links a result message to its job, across a restart', async () => {
    const jobs = createJobStore(backend.keyv);
    await jobs.linkResultMessage('900000000000000001', 'jobAAAAAA');
    await jobs.linkResultMessage('900000000000000002', 'jobBBBBBB');
    expect(await jobs.jobForResultMessage('900000000000000001')).toBe('jobAAAAAA');
    expect(await createJobStore(backend.keyv).jobForResultMessage('900000000000000002')).toBe('jobBBBBBB');
  });

  it('a message that is not a result has no job', async () => {
    expect(await createJobStore(backend.keyv).jobForResultMessage('900000000000000009')).toBeUndefined();
  });
});

/** A Map store whose next `set` calls can be made to fail, as a crash between two writes would. */
class CrashingMap<V> extends Map<string, V> {
  /** Writes that still succeed before the crash; Infinity = never crash. */
  writesLeft = Number.POSITIVE_INFINITY;
  override set(key: string, value: V): this {
    if (this.writesLeft <= 0) throw new Error('simulated crash');
    this.writesLeft -= 1;
    return super.set(key, value);
  }
}

/** A Map whose writes of one key wait until released: a write in flight for as long as a test needs. */
class GatedMap<V> extends Map<string, V> {
  readonly #gates = new Map<string, Promise<void>>();
  hold(keyPart: string): () => void {
    let release!: () => void;
    this.#gates.set(keyPart, new Promise((r) => (release = r)));
    return () => {
      this.#gates.delete(keyPart);
      release();
    };
  }
  override set(key: string, value: V): this {
    const gate = [...this.#gates].find(([part]) => key.includes(part))?.[1];
    if (!gate) return super.set(key, value);
    // Keyv awaits whatever a store's set returns.
    return gate.then(() => super.set(key, value)) as unknown as this;
  }
}

describe.runIf(redisAvailable() || process.env.CI)('job store: several processes on one Redis', () => {
  it('keeps every open job listed while two processes accept and finish jobs at once', async () => {
    // Each process (a shard) has its own connection and its own JobStore. With Keyv's get and
    // set, one process rewriting an index bucket lost the other's edit (about 1 in 4 here).
    const [a, b] = [await openRedisStore(), await openRedisStore()];
    try {
      await a.keyv.clear();
      const stores = [createJobStore(a.keyv, a.openIndex), createJobStore(b.keyv, b.openIndex)];
      const jobs = Array.from({ length: 300 }, () => makeJob({ state: 'submitted' }));
      const by = (i: number) => stores[i % 2]!;
      await Promise.all(jobs.map((job, i) => by(i).create(job)));
      // Every third stays open; the others finish, from the other process, while a start-up
      // scan (which drops finished entries) runs beside them.
      await Promise.all([
        ...jobs.map((job, i) => by(i + 1).save({ ...job, state: i % 3 === 0 ? 'succeeded' : 'delivered' })),
        stores[0]!.listOpen(),
      ]);
      const open = jobs.filter((_, i) => i % 3 === 0).map((j) => j.id);
      expect((await stores[1]!.listOpen()).map((j) => j.id).sort()).toEqual(open.sort());
      // What the scripts wrote is what Keyv reads: a process without them finds the same.
      expect((await createJobStore(a.keyv).listOpen()).map((j) => j.id).sort()).toEqual(open);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('writes an emptied bucket as an empty list Keyv reads back', async () => {
    const store = await openRedisStore();
    try {
      await store.keyv.clear();
      const jobs = createJobStore(store.keyv, store.openIndex);
      const job = makeJob();
      await jobs.create(job);
      await jobs.save({ ...job, state: 'refunded' });
      const buckets = await Promise.all(
        Array.from({ length: 64 }, (_, i) => store.keyv.get(i === 0 ? 'jobs:open' : `jobs:open:${i}`)),
      );
      expect(buckets.filter((b) => b !== undefined)).toEqual([[]]);
      expect(await jobs.listOpen()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('job store crash windows', () => {
  function crashingStore(): { map: CrashingMap<unknown>; keyv: Store } {
    const map = new CrashingMap<unknown>();
    const keyv: Store = new Keyv({ store: map });
    keyv.on('error', () => undefined);
    return { map, keyv };
  }

  it('a record whose index entry was never written (crash between the two) is not listed, others stay', async () => {
    const { map, keyv } = crashingStore();
    const before = makeJob();
    await createJobStore(keyv).create(before);

    // create writes the record first, then the index: crash between the two. Acceptance holds
    // credits only after create returned, so this record holds nothing and is safely forgotten.
    const lost = makeJob();
    map.writesLeft = 1;
    await createJobStore(keyv)
      .create(lost)
      .catch(() => undefined);
    map.writesLeft = Number.POSITIVE_INFINITY;

    const restarted = createJobStore(keyv);
    expect((await restarted.listOpen()).map((j) => j.id)).toEqual([before.id]);
    expect((await restarted.listOpen()).map((j) => j.id)).toEqual([before.id]);
  });

  it('keeps a job created while the start-up scan runs (the scan must not take it for stale)', async () => {
    const map = new GatedMap<unknown>();
    const jobs = createJobStore(new Keyv({ store: map }));
    const fresh = makeJob();
    // The new job's record write is slow, and the scan runs in the middle of its create.
    const release = map.hold(`job:${fresh.id}`);
    const creating = jobs.create(fresh);
    await new Promise((r) => setTimeout(r, 20));
    await jobs.listOpen();
    release();
    await creating;
    expect((await jobs.listOpen()).map((j) => j.id)).toEqual([fresh.id]);
  });

  it('a terminal job still in the open index (crash before the index update) is not listed', async () => {
    const { map, keyv } = crashingStore();
    const jobs = createJobStore(keyv);
    const job = makeJob();
    await jobs.create(job);

    // save writes the record first, then edits the index: crash between the two.
    map.writesLeft = 1;
    await jobs.save({ ...job, state: 'delivered', finishedAt: 9_000 }).catch(() => undefined);
    map.writesLeft = Number.POSITIVE_INFINITY;

    const restarted = createJobStore(keyv);
    expect((await restarted.get(job.id))?.state).toBe('delivered');
    expect(await restarted.listOpen()).toEqual([]);
  });
});
