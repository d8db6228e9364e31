// When to ask the provider again. Completion times of a model are modelled as log-normal
// around its expected run time; polls are spaced by 1/sqrt(hazard), which for a given number
// of requests minimises the expected delay between completion and our noticing it. The result
// is sparse early, dense around the likely finish, then backing off.

export interface PollPlan {
  /** Expected run time, submit to finished video. */
  expectedMs: number;
  /** Coefficient of variation of run times (sd / mean). */
  cv: number;
}

/** Fractions of the expected run time, so the schedule fits a 5 s model and a 5 min one alike. */
export const POLL_DEFAULTS = {
  cv: 0.25,
  /** Early first look (4 s for a 59 s model): catches instant failures, reads the queue position. */
  firstPoll: 0.07,
  minInterval: 1 / 60,
  maxInterval: 1 / 4,
  /** Scales the whole schedule: smaller is denser (more requests, less delay). */
  spacing: 0.95,
} as const;

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26, |error| < 1.5e-7: plenty for a schedule.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/** Hazard rate (per second) of a log-normal run time at `t` seconds. */
export function hazard(tSeconds: number, plan: PollPlan): number {
  if (tSeconds <= 0) return 0;
  const s2 = Math.log(1 + plan.cv * plan.cv);
  const s = Math.sqrt(s2);
  const mu = Math.log(plan.expectedMs / 1000) - s2 / 2;
  const z = (Math.log(tSeconds) - mu) / s;
  const pdf = Math.exp(-(z * z) / 2) / (tSeconds * s * Math.sqrt(2 * Math.PI));
  const survival = 0.5 * (1 - erf(z / Math.SQRT2));
  return survival < 1e-12 ? pdf / 1e-12 : pdf / survival;
}

/** Milliseconds from now until the next status request, given time since submit. */
export function nextPollDelayMs(
  elapsedMs: number,
  plan: PollPlan,
  spacing: number = POLL_DEFAULTS.spacing,
): number {
  const first = POLL_DEFAULTS.firstPoll * plan.expectedMs;
  if (elapsedMs < first) return Math.round(first - elapsedMs);
  const min = POLL_DEFAULTS.minInterval * plan.expectedMs;
  const max = POLL_DEFAULTS.maxInterval * plan.expectedMs;
  const h = hazard(elapsedMs / 1000, plan);
  const ideal = h > 0 ? (spacing * 1000) / Math.sqrt(h) : max;
  // The hazard is per second, so `ideal` is in absolute time; scale it for short models.
  const scaled = ideal * Math.sqrt(plan.expectedMs / 59_000);
  return Math.round(Math.min(max, Math.max(min, scaled)));
}
