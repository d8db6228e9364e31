import { describe, expect, it } from 'vitest';
import { createRunTimes, RUN_TIME_DEFAULTS } from '../../src/engine/run-times.js';

/** Deterministic log-normal run times (mean `meanMs`, cv `cv`) from a small seeded generator. */
function runTimes(n: number, meanMs: number, cv: number, seed = 7): number[] {
  let a = seed;
  const random = (): number => {
    a = (a * 16807) % 2147483647;
    return a / 2147483647;
  };
  const s2 = Math.log(1 + cv * cv);
  return Array.from({ length: n }, () => {
    const gauss = Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
    return Math.exp(Math.log(meanMs) - s2 / 2 + Math.sqrt(s2) * gauss);
  });
}

describe('createRunTimes', () => {
  it('starts from the catalogue figure and the default cv', () => {
    const times = createRunTimes({ flash: 59_000 });
    expect(times.expected('flash')).toBeCloseTo(59_000, 6);
    expect(times.cv('flash')).toBeCloseTo(RUN_TIME_DEFAULTS.cv, 6);
  });

  it('converges toward the observed run times', () => {
    const times = createRunTimes({ flash: 59_000 });
    const seen = runTimes(300, 120_000, 0.25);
    seen.slice(0, 10).forEach((ms) => times.observe('flash', ms));
    const after10 = times.expected('flash');
    expect(after10).toBeGreaterThan(80_000);
    seen.slice(10).forEach((ms) => times.observe('flash', ms));
    expect(times.expected('flash') / 120_000).toBeGreaterThan(0.9);
    expect(times.expected('flash') / 120_000).toBeLessThan(1.1);
    expect(times.cv('flash')).toBeGreaterThan(0.15);
    expect(times.cv('flash')).toBeLessThan(0.35);
  });

  it('learns each model separately', () => {
    const times = createRunTimes({ flash: 59_000, ray2: 120_000 });
    runTimes(100, 30_000, 0.2).forEach((ms) => times.observe('flash', ms));
    expect(times.expected('flash')).toBeLessThan(36_000);
    expect(times.expected('ray2')).toBeCloseTo(120_000, 6);
  });

  it('is not swung by one outlier', () => {
    const fresh = createRunTimes({ flash: 59_000 });
    fresh.observe('flash', 3_600_000);
    expect(fresh.expected('flash')).toBeLessThan(59_000 * 1.25);

    const settled = createRunTimes({ flash: 59_000 });
    runTimes(200, 59_000, 0.25).forEach((ms) => settled.observe('flash', ms));
    const before = settled.expected('flash');
    settled.observe('flash', 3_600_000);
    expect(settled.expected('flash') / before).toBeLessThan(1.05);
    settled.observe('flash', 1);
    expect(settled.expected('flash') / before).toBeGreaterThan(0.95);
  });

  it('clamps the estimate to [0.25×, 4×] the catalogue and the cv to [0.1, 0.6]', () => {
    const slow = createRunTimes({ flash: 59_000 });
    for (let i = 0; i < 500; i++) slow.observe('flash', 3_600_000);
    expect(slow.expected('flash')).toBeLessThanOrEqual(4 * 59_000 * (1 + 1e-9));
    expect(slow.expected('flash')).toBeGreaterThan(3.9 * 59_000);

    const fast = createRunTimes({ flash: 59_000 });
    for (let i = 0; i < 500; i++) fast.observe('flash', 1_000);
    expect(fast.expected('flash')).toBeGreaterThanOrEqual(0.25 * 59_000 * (1 - 1e-9));
    expect(fast.cv('flash')).toBeGreaterThanOrEqual(0.1 - 1e-9);

    const wild = createRunTimes({ flash: 59_000 });
    runTimes(300, 59_000, 2).forEach((ms) => wild.observe('flash', ms));
    expect(wild.cv('flash')).toBeLessThanOrEqual(0.6 + 1e-9);
  });

  it('recovers from the clamp as soon as run times come back', () => {
    const times = createRunTimes({ flash: 59_000 });
    for (let i = 0; i < 500; i++) times.observe('flash', 3_600_000);
    runTimes(150, 59_000, 0.25).forEach((ms) => times.observe('flash', ms));
    expect(times.expected('flash') / 59_000).toBeLessThan(1.2);
  });

  it('ignores observations that cannot be run times', () => {
    const times = createRunTimes({ flash: 59_000 });
    for (const ms of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) times.observe('flash', ms);
    expect(times.expected('flash')).toBeCloseTo(59_000, 6);
  });

  it('refuses a model it has no figure for', () => {
    const times = createRunTimes({ flash: 59_000 });
    expect(() => times.expected('nope')).toThrow(/nope/);
    expect(() => times.observe('nope', 1000)).toThrow(/nope/);
  });
});

describe('snapshot and restore (kept across restarts)', () => {
  it('a restored estimator answers exactly as the one that learned', () => {
    const learned = createRunTimes({ flash: 59_000 });
    for (let i = 0; i < 40; i++) learned.observe('flash', 90_000 + (i % 5) * 1000);
    const fresh = createRunTimes({ flash: 59_000 });
    fresh.restore(JSON.parse(JSON.stringify(learned.snapshot())) as ReturnType<typeof learned.snapshot>);
    expect(fresh.expected('flash')).toBeCloseTo(learned.expected('flash'), 6);
    expect(fresh.cv('flash')).toBeCloseTo(learned.cv('flash'), 6);
    // And it keeps learning at the same (settled) pace.
    learned.observe('flash', 100_000);
    fresh.observe('flash', 100_000);
    expect(fresh.expected('flash')).toBeCloseTo(learned.expected('flash'), 6);
  });

  it('ignores unknown models and bad numbers, and clamps what it takes back', () => {
    const r = createRunTimes({ flash: 59_000 });
    r.restore({
      other: { mu: 1, variance: 0.1, count: 3 },
      flash: { mu: Number.NaN, variance: 0.1, count: 1 },
    });
    expect(r.expected('flash')).toBeCloseTo(59_000, -1);
    r.restore({ flash: { mu: Math.log(10 * 59_000), variance: 5, count: 10 } });
    expect(r.expected('flash')).toBeLessThanOrEqual(4 * 59_000 + 1);
    expect(r.cv('flash')).toBeLessThanOrEqual(0.6 + 1e-9);
  });
});
