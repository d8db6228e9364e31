// The engine tells the telemetry each event once, where it happens: a status check before it goes
// out, a ready video with its polls, the placement of a post, the credits of a committed hold,
// and the end of every job with its outcome; `stats()` reads the open jobs and the line.
import { describe, expect, it } from 'vitest';
import type { Telemetry } from '../../src/engine/telemetry.js';
import { ProviderError } from '../../src/providers/errors.js';
import { engineWorld } from './world.js';

function recorder() {
  const calls: string[] = [];
  const telemetry: Telemetry = {
    providerRequest: (e) => void calls.push(`providerRequest ${e.op}`),
    jobEnded: (e) => void calls.push(`jobEnded ${e.model} ${e.outcome}${e.failure ? ` ${e.failure}` : ''}`),
    statusPoll: (p) => void calls.push(`statusPoll ${p}`),
    videoReady: (e) => void calls.push(`videoReady ${e.model} polls=${e.polls} ${e.runSeconds >= 0}`),
    creditsSpent: (n) => void calls.push(`creditsSpent ${n}`),
    delivered: (p) => void calls.push(`delivered ${p}`),
  };
  return { calls, telemetry };
}

const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('engine telemetry', () => {
  it('a delivered job: its polls, the ready video, the placement, the spend, its end', async () => {
    const { calls, telemetry } = recorder();
    let polls = 0;
    const w = await engineWorld({
      telemetry,
      provider: {
        poll: () =>
          Promise.resolve(
            ++polls < 3
              ? { state: 'running' }
              : { state: 'succeeded', videoUrl: 'http://127.0.0.1:1/v.mp4', nsfw: false },
          ),
      },
      delivery: { postResult: () => Promise.resolve({ messageId: 'm1', placement: 'link' }) },
    });
    const engine = w.boot();
    try {
      expect((await w.accept(engine)).ok).toBe(true);
      await w.settled();
      expect(calls).toStrictEqual([
        'statusPoll wavespeed',
        'statusPoll wavespeed',
        'statusPoll wavespeed',
        'videoReady wavespeed/ray-2-flash polls=3 true',
        'delivered link',
        'creditsSpent 20',
        'jobEnded wavespeed/ray-2-flash delivered',
      ]);
    } finally {
      await engine.stop();
      await w.close();
    }
  });

  it('a post whose placement the delivery cannot tell is not counted by placement', async () => {
    const { calls, telemetry } = recorder();
    const w = await engineWorld({ telemetry });
    const engine = w.boot();
    try {
      expect((await w.accept(engine)).ok).toBe(true);
      await w.settled();
      expect(calls.filter((c) => c.startsWith('delivered'))).toStrictEqual([]);
      expect(calls).toContain('creditsSpent 20');
    } finally {
      await engine.stop();
      await w.close();
    }
  });

  it('a failed job ends `failed` with its code, and nothing is spent', async () => {
    const { calls, telemetry } = recorder();
    const refused = new ProviderError({ kind: 'moderation', provider: 'wavespeed', message: 'no' });
    const w = await engineWorld({
      telemetry,
      provider: { poll: () => Promise.resolve({ state: 'failed', error: refused }) },
    });
    const engine = w.boot();
    try {
      expect((await w.accept(engine)).ok).toBe(true);
      await w.settled();
      expect(calls).toStrictEqual([
        'statusPoll wavespeed',
        'jobEnded wavespeed/ray-2-flash failed moderation',
      ]);
    } finally {
      await engine.stop();
      await w.close();
    }
  });

  it('a cancelled job ends `cancelled`; stats() counts open jobs by state and the line', async () => {
    const { calls, telemetry } = recorder();
    const w = await engineWorld({
      telemetry,
      settings: { maxActivePerMember: 1 },
      provider: { poll: () => Promise.resolve({ state: 'running' }) },
    });
    const engine = w.boot();
    try {
      const first = await w.accept(engine, 'first');
      const second = await w.accept(engine, 'second');
      if (!first.ok || !second.ok) throw new Error('not accepted');
      await until(async () => (await engine.job(first.job.id))?.state === 'submitted');
      expect(engine.stats()).toStrictEqual({ states: { submitted: 1, waiting: 1 }, waiting: 1 });

      expect(await engine.cancel(second.job.id, 'ann')).toBe('cancelled');
      expect(await engine.cancel(first.job.id, 'ann')).toBe('cancelled');
      await w.settled();
      expect(calls.filter((c) => c.startsWith('jobEnded'))).toStrictEqual([
        'jobEnded wavespeed/ray-2-flash cancelled cancelled',
        'jobEnded wavespeed/ray-2-flash cancelled cancelled',
      ]);
      expect(engine.stats()).toStrictEqual({ states: {}, waiting: 0 });
    } finally {
      await engine.stop();
      await w.close();
    }
  });

  it('without telemetry the engine runs as before (the no-op default)', async () => {
    const w = await engineWorld();
    const engine = w.boot();
    try {
      expect((await w.accept(engine)).ok).toBe(true);
      await w.settled();
      expect(w.posted).toHaveLength(1);
    } finally {
      await engine.stop();
      await w.close();
    }
  });
});
