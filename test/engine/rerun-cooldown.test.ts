// The rerun cooldown (RERUN_COOLDOWN_S): one rerun per member per wait, however fast a 🔁 is
// toggled or a button pressed; a rerun refused for another reason does not start the wait.
import { describe, expect, it } from 'vitest';
import { engineWorld } from './world.js';

describe('rerun cooldown', () => {
  it('refuses a second rerun by the same member within the cooldown, charging nothing; others are not held back', async () => {
    const w = await engineWorld({ settings: { rerunCooldownMs: 60_000 } });
    const engine = w.boot();
    try {
      const original = await w.accept(engine);
      if (!original.ok) throw new Error('not accepted');
      await w.settled();
      // Two at the same moment (a reaction toggled twice): one runs.
      const [a, b] = await Promise.all([
        engine.rerun(w.requester, original.job),
        engine.rerun(w.requester, original.job),
      ]);
      expect([a.ok, b.ok].sort()).toEqual([false, true]);
      const refused = a.ok ? b : a;
      expect(refused).toMatchObject({ ok: false, failure: { code: 'rerun_cooldown' } });
      const bob = await engine.rerun({ ...w.requester, userId: 'bob' }, original.job);
      expect(bob.ok).toBe(true);
      await w.settled();
      expect(w.submits).toHaveLength(3);
      expect(await w.balance()).toBe(60); // the original and one rerun
    } finally {
      await engine.stop();
      await w.close();
    }
  });

  it('a rerun refused for credits does not start the wait', async () => {
    const w = await engineWorld({ startingCredits: 20, settings: { rerunCooldownMs: 60_000 } });
    const engine = w.boot();
    try {
      const original = await w.accept(engine);
      if (!original.ok) throw new Error('not accepted');
      await w.settled();
      const poor = await engine.rerun(w.requester, original.job);
      expect(poor).toMatchObject({ ok: false, failure: { code: 'insufficient_credits' } });
      const again = await engine.rerun(w.requester, original.job);
      expect(again).toMatchObject({ ok: false, failure: { code: 'insufficient_credits' } });
    } finally {
      await engine.stop();
      await w.close();
    }
  });
});
