// Expected run time per model, learned from the completions the bot observes. The catalogue's
// figure (Flash: about 59 s per the provider's page) is only the starting point: a provider's
// real speed drifts with load, and the poll schedule is only as good as this estimate.
// Pure state, no I/O: the engine feeds it completions and reads the estimate for each poll.
import { z } from 'zod';

export interface RunTimes {
  /** Expected run time in ms, submit to finished video. */
  expected(model: string): number;
  /** Coefficient of variation of run times (sd / mean). */
  cv(model: string): number;
  /** A finished job's run time in ms; non-finite or non-positive values are ignored. */
  observe(model: string, durationMs: number): void;
  /** What has been learned, to keep across restarts. */
  snapshot(): RunTimesSnapshot;
  /** Takes back a snapshot; entries for unknown models or with bad numbers are ignored. */
  restore(snapshot: RunTimesSnapshot): void;
}

/** What restore() takes back, checked: a snapshot comes from the store and may be stale or edited. */
export const runTimesSnapshot = z.record(
  z.string(),
  z.object({ mu: z.number(), variance: z.number(), count: z.number() }),
);
export type RunTimesSnapshot = z.infer<typeof runTimesSnapshot>;

export const RUN_TIME_DEFAULTS = {
  /** Assumed until completions say otherwise. */
  cv: 0.25,
  /** The catalogue counts as this many observations, so the first completion moves it by 1/5. */
  priorWeight: 4,
  /**
   * The weight never falls below this, so the estimate keeps tracking a provider that slows down
   * (half-life ≈ 23 completions) while one run's noise moves it by ≈0.7 % at cv 0.25.
   */
  minWeight: 0.03,
  /** Residuals in log space are clipped at this many standard deviations: one outlier is one step. */
  clipSd: 3,
  /** The estimate stays within these multiples of the catalogue figure. */
  minFactor: 0.25,
  maxFactor: 4,
  minCv: 0.1,
  maxCv: 0.6,
} as const;

interface State {
  /** Mean and variance of log(run time in ms). */
  mu: number;
  variance: number;
  count: number;
  catalogueMs: number;
}

const logVariance = (cv: number): number => Math.log(1 + cv * cv);
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

export function createRunTimes(initial: Readonly<Record<string, number>>): RunTimes {
  const d = RUN_TIME_DEFAULTS;
  const minVar = logVariance(d.minCv);
  const maxVar = logVariance(d.maxCv);
  const states = new Map<string, State>();
  for (const [model, ms] of Object.entries(initial)) {
    const variance = logVariance(d.cv);
    // Log-normal: mean = exp(mu + variance / 2), so start mu where the mean is the catalogue's.
    states.set(model, { mu: Math.log(ms) - variance / 2, variance, count: 0, catalogueMs: ms });
  }

  function state(model: string): State {
    const s = states.get(model);
    if (!s) throw new Error(`no expected run time for model ${model}`);
    return s;
  }

  return {
    expected: (model) => {
      const s = state(model);
      return Math.exp(s.mu + s.variance / 2);
    },
    cv: (model) => Math.sqrt(Math.exp(state(model).variance) - 1),
    observe: (model, durationMs) => {
      const s = state(model);
      if (!Number.isFinite(durationMs) || durationMs <= 0) return;
      const w = Math.max(d.minWeight, 1 / (s.count + d.priorWeight + 1));
      const limit = d.clipSd * Math.sqrt(s.variance);
      const r = clamp(Math.log(durationMs) - s.mu, -limit, limit);
      // Exponentially weighted mean and variance (the variance update is the matching one for
      // weight w); clipping r bounds what a single run can do to either.
      s.mu += w * r;
      s.variance = clamp((1 - w) * (s.variance + w * r * r), minVar, maxVar);
      s.count += 1;
      // Clamp the state, not just the answer, so a long run of outliers cannot wind it up.
      const lo = Math.log(d.minFactor * s.catalogueMs) - s.variance / 2;
      const hi = Math.log(d.maxFactor * s.catalogueMs) - s.variance / 2;
      s.mu = clamp(s.mu, lo, hi);
    },
    snapshot: () =>
      Object.fromEntries(
        [...states].map(([model, { mu, variance, count }]) => [model, { mu, variance, count }]),
      ),
    restore: (snapshot) => {
      for (const [model, saved] of Object.entries(snapshot)) {
        const s = states.get(model);
        if (!s || ![saved.mu, saved.variance, saved.count].every(Number.isFinite)) continue;
        // The same clamps as observe(): a snapshot from an older catalogue cannot escape them.
        s.variance = clamp(saved.variance, minVar, maxVar);
        s.mu = clamp(
          saved.mu,
          Math.log(d.minFactor * s.catalogueMs) - s.variance / 2,
          Math.log(d.maxFactor * s.catalogueMs) - s.variance / 2,
        );
        s.count = Math.max(0, saved.count);
      }
    },
  };
}
