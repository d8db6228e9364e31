// A shard process resumes only its own jobs: with several processes on one store, each job found
// open at start is carried on by exactly one of them (EngineDeps.owns, docs/sharding.md).
import { describe, expect, it } from 'vitest';
import { shardOf } from '../../src/discord/shards.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { engineWorld } from './world.js';

const G0 = (1000n << 22n).toString(); // shard 0 of 2
const G1 = (1001n << 22n).toString(); // shard 1 of 2
const ofShard = (id: number) => (job: JobRecord) => shardOf(job.guildId, 2) === id;

describe('engine resume with an ownership predicate', () => {
  it("resumes its own shard's jobs and leaves the others untouched in the store until their shard resumes them", async () => {
    let finished = false;
    const w = await engineWorld({
      provider: {
        poll: () =>
          Promise.resolve(
            finished
              ? { state: 'succeeded', videoUrl: 'http://127.0.0.1:1/v.mp4', nsfw: false }
              : { state: 'running' },
          ),
      },
    });
    try {
      // One process accepted a job in a guild of each shard, and a DM job (shard 0), then stopped.
      const first = w.boot();
      const jobs = await Promise.all([
        w.accept(first, 'in shard 0', { guildId: G0 }),
        w.accept(first, 'in shard 1', { guildId: G1 }),
        w.accept(first, 'in a DM'),
      ]);
      const [j0, j1, dm] = jobs.map((r) => (r.ok ? r.job.id : ''));
      while (w.submits.length < 3) await new Promise((r) => setTimeout(r, 5));
      await first.stop();
      finished = true;

      const shard1 = w.boot({ owns: ofShard(1) });
      expect(await shard1.resume()).toBe(1);
      while ((await w.jobs.get(j1 ?? ''))?.state !== 'delivered') await new Promise((r) => setTimeout(r, 5));
      // Shard 0 is down: its jobs stay as they were, for it to resume.
      expect((await w.jobs.get(j0 ?? ''))?.state).toBe('submitted');
      expect((await w.jobs.get(dm ?? ''))?.state).toBe('submitted');
      expect((await w.jobs.listOpen()).map((j) => j.id).sort()).toEqual([j0, dm].sort());

      const shard0 = w.boot({ owns: ofShard(0) });
      expect(await shard0.resume()).toBe(2);
      await w.settled();
      await Promise.all([shard0.stop(), shard1.stop()]);
      expect(w.submits).toHaveLength(3);
      expect(w.posted.sort()).toEqual([j0, j1, dm].sort());
    } finally {
      await w.close();
    }
  });

  it('without a predicate (plain npm start) resumes every job', async () => {
    const w = await engineWorld({ provider: { poll: () => Promise.resolve({ state: 'running' }) } });
    try {
      const first = w.boot();
      await w.accept(first, 'a', { guildId: G0 });
      await w.accept(first, 'b', { guildId: G1 });
      await first.stop();
      const again = w.boot();
      expect(await again.resume()).toBe(2);
      await again.stop();
    } finally {
      await w.close();
    }
  });
});
