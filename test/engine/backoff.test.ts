// Retry delays: exponential growth to a cap, equal jitter from an injected random source, and
// never sooner than the server's Retry-After.
import { describe, expect, it } from 'vitest';
import { BACKOFF, backoffMs } from '../../src/engine/backoff.js';

const always = (value: number) => () => value;

describe('backoffMs', () => {
  it('doubles from the base with each attempt until the cap (upper edge of the jitter)', () => {
    const delays = Array.from({ length: 8 }, (_, attempt) => backoffMs(attempt, undefined, always(1)));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(BACKOFF).toEqual({ baseMs: 1000, capMs: 30_000 });
  });

  it('doubles the lower edge of the jitter too, to half the cap', () => {
    const delays = Array.from({ length: 7 }, (_, attempt) => backoffMs(attempt, undefined, always(0)));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
  });

  it('stays at the cap for very large attempt numbers', () => {
    for (const attempt of [30, 100, 1075, 5000]) {
      const delay = backoffMs(attempt, undefined, always(1));
      expect(delay).toBe(BACKOFF.capMs);
    }
  });

  it('keeps the jitter within [exp/2, exp] for any random value', () => {
    const randoms = [0, 0.001, 0.25, 0.5, 0.75, 0.999999];
    for (let attempt = 0; attempt < 10; attempt++) {
      const exp = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt);
      for (const r of randoms) {
        const delay = backoffMs(attempt, undefined, always(r));
        expect(delay).toBeGreaterThanOrEqual(exp / 2);
        expect(delay).toBeLessThanOrEqual(exp);
      }
    }
  });

  it('uses the injected random source: a bigger random value gives a longer delay', () => {
    expect(backoffMs(3, undefined, always(0.5))).toBe(6000);
    expect(backoffMs(3, undefined, always(0.25))).toBe(5000);
    let calls = 0;
    backoffMs(2, undefined, () => {
      calls += 1;
      return 0.5;
    });
    expect(calls).toBe(1);
  });

  it('without an injected random source still stays within the jitter range', () => {
    for (let i = 0; i < 100; i++) {
      const delay = backoffMs(4);
      expect(delay).toBeGreaterThanOrEqual(8000);
      expect(delay).toBeLessThanOrEqual(16_000);
    }
  });

  it('never returns less than Retry-After', () => {
    expect(backoffMs(0, 5000, always(1))).toBe(5000);
    expect(backoffMs(0, 45_000, always(0))).toBe(45_000);
    // Above the cap too: the server's word beats our cap.
    expect(backoffMs(10, 120_000, always(1))).toBe(120_000);
  });

  it('a Retry-After shorter than the backoff does not shorten it', () => {
    expect(backoffMs(4, 1000, always(0))).toBe(8000);
    expect(backoffMs(4, 0, always(1))).toBe(16_000);
  });

  it('returns whole milliseconds', () => {
    for (const r of [0.1, 0.3333, 0.777])
      expect(Number.isInteger(backoffMs(1, undefined, always(r)))).toBe(true);
  });
});
