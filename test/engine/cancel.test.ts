// Cancel: a job stopped before its result is posted is cancelled at the provider where it can be,
// refunded in full, the member told, and nothing is posted later; a cancel racing a completion
// ends in exactly one outcome.
import { describe, expect, it } from 'vitest';
import type { ProviderJobRef } from '../../src/providers/types.js';
import { engineWorld } from './world.js';

const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('cancel', () => {
  it('a running job: cancelled at the provider, refunded, the member told, never posted', async () => {
    const cancelled: ProviderJobRef[] = [];
    let done = false;
    const w = await engineWorld({
      provider: {
        poll: () =>
          Promise.resolve(
            done
              ? { state: 'succeeded', videoUrl: 'http://127.0.0.1:1/v.mp4', nsfw: false }
              : { state: 'running' },
          ),
        cancel: (ref) => {
          cancelled.push(ref);
          return Promise.resolve();
        },
      },
    });
    const engine = w.boot();
    try {
      const accepted = await w.accept(engine);
      if (!accepted.ok) throw new Error('not accepted');
      await until(() => w.submits.length === 1);
      await until(async () => (await engine.job(accepted.job.id))?.state === 'submitted');
      expect(await engine.cancel(accepted.job.id, 'ann')).toBe('cancelled');
      done = true; // the provider finishes anyway: the result must not be posted
      await w.settled();
      expect(cancelled).toEqual([{ id: 'task-1' }]);
      expect((await engine.job(accepted.job.id))?.state).toBe('refunded');
      expect(w.failures).toEqual([
        expect.stringContaining('You cancelled this video. Your 20 credits were refunded.'),
      ]);
      expect(w.posted).toEqual([]);
      expect(await w.balance()).toBe(100);
      expect(await engine.cancel(accepted.job.id, 'ann')).toBe('too_late');
    } finally {
      await engine.stop();
      await w.close();
    }
  });

  it('a waiting job: never submitted; a moderator cancelling is named as one', async () => {
    const w = await engineWorld({ settings: { maxActivePerMember: 1 } });
    const engine = w.boot();
    try {
      // A limit of one: the second request waits its turn behind the first.
      const first = await w.accept(engine, 'first');
      const second = await w.accept(engine, 'second');
      if (!first.ok || !second.ok) throw new Error('not accepted');
      expect(second.job.state).toBe('waiting');
      expect(await engine.cancel(second.job.id, 'a-moderator')).toBe('cancelled');
      await w.settled();
      expect(w.submits.map((s) => s.prompt)).toEqual(['first']);
      expect(w.failures).toEqual([expect.stringContaining('A moderator cancelled this video.')]);
      expect(await w.balance()).toBe(80);
    } finally {
      await engine.stop();
      await w.close();
    }
  });

  it('a cancel racing the completion ends in exactly one outcome, whichever wins', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const w = await engineWorld();
      const engine = w.boot();
      try {
        const accepted = await w.accept(engine);
        if (!accepted.ok) throw new Error('not accepted');
        // Cancel at a varying moment of the job's short life.
        await new Promise((r) => setTimeout(r, round * 2));
        const answer = await engine.cancel(accepted.job.id, 'ann');
        outcomes.add(answer);
        await w.settled();
        const state = (await engine.job(accepted.job.id))?.state;
        if (answer === 'cancelled') {
          expect(state).toBe('refunded');
          expect(w.posted).toEqual([]);
          expect(await w.balance()).toBe(100);
        } else {
          expect(answer).toBe('too_late');
          expect(state).toBe('delivered');
          expect(w.posted).toHaveLength(1);
          expect(w.failures).toEqual([]);
          expect(await w.balance()).toBe(80);
        }
      } finally {
        await engine.stop();
        await w.close();
      }
    }
    // Which wins depends on the moment; both must be possible answers, never a third.
    for (const outcome of outcomes) expect(['cancelled', 'too_late']).toContain(outcome);
  });
});
