// Acceptance is all or nothing: with a store that fails on the n-th write, every n either
// accepts the job (it is then delivered and charged once) or leaves nothing behind (no submit,
// no charge), whether the same process carries on or the bot restarts on the same store.
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { engineWorld, type EngineWorld } from './world.js';

/** Accepts one job with the n-th store write failing; says what the member was told. */
async function acceptFailingAt(w: EngineWorld, engine: Engine, n: number) {
  const { map } = w;
  map.failAt = map.writes + n;
  const told = await w.accept(engine).then(
    (r) => (r.ok ? 'accepted' : 'refused'),
    () => 'error: nothing was charged',
  );
  map.failAt = Infinity;
  return told;
}

/** An accept writes four times (`accepting` record, open index, hold, state); the fifth is its first step's. */
const ACCEPT_WRITES = 5;

describe('acceptance is all or nothing', () => {
  for (const restart of [false, true]) {
    for (let n = 1; n <= ACCEPT_WRITES; n++) {
      it(`store write ${n} of the acceptance fails, ${restart ? 'then the bot restarts' : 'the same process carries on'}`, async () => {
        const w = await engineWorld();
        try {
          const engine = w.boot();
          const told = await acceptFailingAt(w, engine, n);
          await w.finish(engine, restart);
          const balance = await w.balance();
          expect(await w.held()).toBe(0);
          if (told === 'accepted') {
            expect(w.submits).toHaveLength(1);
            expect(w.posted).toHaveLength(1);
            expect(balance).toBe(80);
          } else {
            // The member read "nothing was charged": so it must be.
            expect(told).toBe('error: nothing was charged');
            expect(w.submits).toHaveLength(0);
            expect(balance).toBe(100);
          }
        } finally {
          await w.close();
        }
      });
    }
  }

  for (const restart of [false, true]) {
    it(`a refused hold whose refunded record cannot be written leaves no job that charges later (${restart ? 'restart' : 'same process'})`, async () => {
      const w = await engineWorld({ startingCredits: 10 }); // the 20-credit job is refused
      const { map } = w;
      try {
        const engine = w.boot();
        // The member's account exists already (they used the bot before), so the refused hold
        // writes nothing. Writes: record (accepting), index, then the refunded record: that one fails.
        await w.economy().wallet({ scope: 'dm', userId: 'ann' });
        map.failAt = map.writes + 3;
        const result = await w.accept(engine);
        map.failAt = Infinity;
        expect(result.ok).toBe(false);
        await w.finish(engine, restart);
        expect(w.submits).toHaveLength(0);
        expect(await w.balance()).toBe(10);
      } finally {
        await w.close();
      }
    });
  }
});
