// Stopping the engine cuts slow provider requests short through the AbortSignal it passes them,
// and leaves the job where it was, to resume at the next start.
import { describe, expect, it } from 'vitest';
import { engineWorld } from './world.js';

describe('engine stop', () => {
  it('aborts a hanging status poll instead of waiting for it, and the job resumes later', async () => {
    let polls = 0;
    const w = await engineWorld({
      provider: {
        poll: (_ref, signal) => {
          polls++;
          if (polls > 1)
            return Promise.resolve({ state: 'succeeded', videoUrl: 'http://127.0.0.1:1/v.mp4', nsfw: false });
          // Hangs until aborted, like a provider that stopped answering.
          return new Promise((_resolve, reject) =>
            signal?.addEventListener('abort', () => reject(signal.reason as Error)),
          );
        },
      },
    });
    try {
      const engine = w.boot();
      expect((await w.accept(engine)).ok).toBe(true);
      while (polls === 0) await new Promise((r) => setTimeout(r, 5));
      // The poll never answers by itself: without the abort, stop() would never resolve.
      await engine.stop();
      const [job] = await w.jobs.listOpen();
      expect(job?.state).toBe('submitted');

      const again = w.boot();
      await again.resume();
      await w.settled();
      await again.stop();
      expect(w.submits).toHaveLength(1);
      expect(w.posted).toHaveLength(1);
    } finally {
      await w.close();
    }
  });
});
