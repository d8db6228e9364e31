// Input uploads to provider storage: a transient storage error is retried before the Discord
// URL is submitted instead, and a rerun of a job whose image never reached provider storage
// fetches it again, or is refused clearly before anything is charged.
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/errors.js';
import { engineWorld } from './world.js';

const storageDown = () =>
  new ProviderError({ kind: 'unavailable', provider: 'wavespeed', status: 503, message: 'storage 503' });

describe('input uploads', () => {
  it('retries a transient storage error and submits the provider copy, not the Discord URL', async () => {
    let uploads = 0;
    const w = await engineWorld({
      provider: {
        upload: () =>
          ++uploads === 1 ? Promise.reject(storageDown()) : Promise.resolve('https://storage/in.png'),
      },
    });
    const engine = w.boot();
    try {
      expect((await w.accept(engine)).ok).toBe(true);
      await w.settled(10_000);
      expect(uploads).toBe(2);
      expect(w.submits.map((s) => s.imageUrl)).toEqual(['https://storage/in.png']);
    } finally {
      await engine.stop();
      await w.close();
    }
  });

  it('falls back to the Discord URL only after the retries, and a rerun after it expired is refused, uncharged', async () => {
    let uploads = 0;
    const w = await engineWorld({
      settings: { uploadAttempts: 2 },
      provider: {
        upload: () => {
          uploads++;
          return Promise.reject(storageDown());
        },
      },
    });
    const engine = w.boot();
    try {
      const first = await w.accept(engine);
      await w.settled(10_000);
      expect(uploads).toBe(2);
      expect(w.submits.map((s) => s.imageUrl)).toEqual([w.image.url]);
      if (!first.ok) throw new Error('not accepted');
      const original = await w.jobs.get(first.job.id);
      if (!original) throw new Error('no job');

      // While Discord's URL lives, a rerun fetches the image again and uploads it once more.
      expect((await engine.rerun(w.requester, original)).ok).toBe(true);
      await w.settled(10_000);
      expect(w.submits).toHaveLength(2);

      // Once it has expired, the rerun is refused before anything is held or submitted.
      w.image.expire();
      const balance = await w.balance();
      const refused = await engine.rerun(w.requester, original);
      expect(refused).toEqual({ ok: false, failure: { code: 'input_image_gone' } });
      expect(await w.balance()).toBe(balance);
      expect(w.submits).toHaveLength(2);
    } finally {
      await engine.stop();
      await w.close();
    }
  });
});
