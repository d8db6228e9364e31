// When to ask the provider again. Completion times of a model are modelled as log-normal
// around its expected run time; polls are spaced by 1/sqrt(hazard), which for a given number
// of requests minimises the expected delay between completion and our noticing it. The result:
// no polls while finishing is improbable, dense polls around the likely finish, and a back-off
// once the job is later than the model can explain. Everything is a fraction of the expected
// run time, so a 400 ms fake job and a 5 min model get the same number of requests.
// `npm run bench:poll` measures it against the SDKs' fixed intervals.

export interface PollPlan {
  /** Expected run time, submit to finished video. */
  expectedMs: number;
  /** Coefficient of variation of run times (sd / mean). */
  cv: number;
}

export const POLL_DEFAULTS = {
  cv: 0.25,
  /**
   * First main poll at this quantile of the run time (z = −1.96: 2.5 %, 0.6× expected at cv
   * 0.25, 35 s for a 59 s model). Before it there is only the early look below.
   */
  firstPollZ: -1.96,
  /**
   * One early look: at 3 s, or 7 % of the expected time for models faster than ~43 s. It catches
   * a task the provider fails at once, a fast provider and the first queue position, for one
   * request per job (about a twelfth of the budget; `npm run bench:poll` counts it).
   */
  earlyLookMs: 3000,
  earlyLookFraction: 0.07,
  /**
   * Scales the 1/sqrt(hazard) spacing, in units of the expected run time: smaller is denser.
   * 0.0555 gives ≈11.3 status requests per job and ≈1.16 s mean latency (with 50 ms RTT) for a
   * 59 s model; the discrete optimum at that request count is only ≈0.03 s better. Near the
   * finish the gaps (≈1.4–2 s) are shorter than WaveSpeed's '5 s between checks' for video, but a
   * job costs fewer requests than that rule (≈13): the same load, spent where it pays.
   */
  spacing: 0.0585,
  /**
   * From this quantile (z = 2.6: 99.5 %, 1.84× expected at cv 0.25) the job is later than the
   * model explains: queued behind others, or stuck. The log-normal hazard keeps rising there and
   * would poll ever faster, so instead the interval grows by `backOffGrowth` of the overrun.
   */
  backOffZ: 2.6,
  backOffGrowth: 0.25,
  minInterval: 1 / 60,
  maxInterval: 1 / 4,
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

/** Log-space parameters of the run time in seconds; cv is floored so a degenerate plan stays finite. */
function logNormal(plan: PollPlan): { mu: number; s: number } {
  const cv = Math.max(plan.cv, 0.02);
  const s2 = Math.log(1 + cv * cv);
  return { mu: Math.log(plan.expectedMs / 1000) - s2 / 2, s: Math.sqrt(s2) };
}

/** Hazard rate (per second) of a log-normal run time at `t` seconds. */
export function hazard(tSeconds: number, plan: PollPlan): number {
  if (tSeconds <= 0) return 0;
  const { mu, s } = logNormal(plan);
  const z = (Math.log(tSeconds) - mu) / s;
  const pdf = Math.exp(-(z * z) / 2) / (tSeconds * s * Math.sqrt(2 * Math.PI));
  const survival = 0.5 * (1 - erf(z / Math.SQRT2));
  return survival < 1e-12 ? pdf / 1e-12 : pdf / survival;
}

/** Milliseconds since submit at the run-time quantile `z` (in standard deviations of log time). */
function quantileMs(plan: PollPlan, z: number): number {
  const { mu, s } = logNormal(plan);
  return 1000 * Math.exp(mu + z * s);
}

/**
 * How a schedule is laid out: when its first main poll comes, how dense it is, and whether it
 * takes the early look. Polling alone uses POLL_DEFAULTS; a job the provider pushes to uses a
 * sparser safety net (docs/push.md), since a poll there only pays when the push is lost.
 */
export interface PollShape {
  firstPollZ: number;
  spacing: number;
  earlyLook: boolean;
}

export const POLLING: PollShape = {
  firstPollZ: POLL_DEFAULTS.firstPollZ,
  spacing: POLL_DEFAULTS.spacing,
  earlyLook: true,
};

/**
 * Webhooks on: the provider tells us of the end (success or failure) within about a second, so
 * nothing is asked before the likely finish; from a little before the median the schedule is
 * the usual one at about a quarter of its density. A delivered webhook ends it, so a job costs
 * ≈1.9 status requests, and a lost webhook is noticed ≈4.5 s late instead of never
 * (`npm run bench:poll`).
 */
export const WEBHOOK_SAFETY_NET: PollShape = { firstPollZ: -0.5, spacing: 0.22, earlyLook: false };

/**
 * fal's status stream open: its events say every change as it happens, so polls only guard
 * against a stream that went quiet without closing. First at the 99.9 % quantile, then sparse.
 */
export const STREAM_SAFETY_NET: PollShape = { firstPollZ: 3.1, spacing: 0.5, earlyLook: false };

/** Milliseconds from now until the next status request, given time since submit. */
export function nextPollDelayMs(
  elapsedMs: number,
  plan: PollPlan,
  spacing: number = POLL_DEFAULTS.spacing,
  shape: Omit<PollShape, 'spacing'> = POLLING,
): number {
  const expected = plan.expectedMs;
  // The early look (see POLL_DEFAULTS.earlyLookMs), then nothing until the first main poll.
  const look = Math.min(POLL_DEFAULTS.earlyLookMs, POLL_DEFAULTS.earlyLookFraction * expected);
  if (shape.earlyLook && elapsedMs < look) return Math.max(1, Math.ceil(look - elapsedMs));
  const first = quantileMs(plan, shape.firstPollZ);
  // Rounded up so that waking at the returned time lands on or after `first`, never just before
  // it with a zero delay left (a busy loop).
  if (elapsedMs < first) return Math.max(1, Math.ceil(first - elapsedMs));
  // Past `late` the hazard is not trusted (the model is wrong for this job, and the erf
  // approximation runs out of digits): hold the spacing reached there and add the back-off.
  const late = quantileMs(plan, POLL_DEFAULTS.backOffZ);
  const at = Math.min(elapsedMs, late);
  // Hazard per expected run time, so the spacing is a fraction of it whatever the model's length.
  const h = hazard(at / 1000, plan) * (expected / 1000);
  const ideal = h > 0 ? (spacing * expected) / Math.sqrt(h) : Infinity;
  const overrun = POLL_DEFAULTS.backOffGrowth * Math.max(0, elapsedMs - late);
  const min = POLL_DEFAULTS.minInterval * expected;
  const max = POLL_DEFAULTS.maxInterval * expected;
  return Math.max(1, Math.ceil(Math.min(max, Math.max(min, ideal + overrun))));
}

/** The next delay for a schedule shape (POLLING, WEBHOOK_SAFETY_NET, STREAM_SAFETY_NET). */
export function nextDelayFor(shape: PollShape, elapsedMs: number, plan: PollPlan): number {
  return nextPollDelayMs(elapsedMs, plan, shape.spacing, shape);
}
