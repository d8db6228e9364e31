// The poll schedule: nothing while finishing is improbable, dense polls around the likely finish,
// backing off once the job is later than the model explains; all in fractions of the expected
// run time.
import { describe, expect, it } from 'vitest';
import { POLL_DEFAULTS, type PollPlan, hazard, nextPollDelayMs } from '../../src/engine/poll-schedule.js';

const EXPECTED = [400, 5_000, 59_000, 120_000, 300_000];
const plan = (expectedMs: number, cv: number = POLL_DEFAULTS.cv): PollPlan => ({ expectedMs, cv });

/** The early look: 3 s, or 7 % of the expected time for faster models. */
const look = (e: number) => Math.min(3000, 0.07 * e);
/** When the main schedule's first poll comes (after the early look). */
const firstMain = (p: PollPlan) => look(p.expectedMs) + nextPollDelayMs(look(p.expectedMs), p);

/**
 * The delays the engine asks for when it follows the schedule from submit, polling exactly when
 * woken (as under a virtual clock), up to `untilMs` or `maxPolls` polls.
 */
function followSchedule(p: PollPlan, untilMs: number, maxPolls = 1000): number[] {
  const delays: number[] = [];
  let t = 0;
  while (delays.length < maxPolls) {
    const delay = nextPollDelayMs(t, p);
    delays.push(delay);
    t += delay;
    if (t > untilMs) break;
  }
  return delays;
}

describe('nextPollDelayMs', () => {
  it.each(EXPECTED)('a %i ms model gets one early look at 3 s or 7 % of its expected time', (e) => {
    expect(nextPollDelayMs(0, plan(e))).toBe(Math.ceil(look(e)));
    expect(nextPollDelayMs(look(e) / 2, plan(e))).toBe(Math.ceil(look(e) / 2));
  });

  it.each(EXPECTED)(
    'after the early look, the next poll of a %i ms model comes at about 0.6× the expected time (the 2.5th percentile)',
    (e) => {
      const first = firstMain(plan(e));
      // The 2.5 % quantile of a log-normal with mean e and cv 0.25.
      const s2 = Math.log(1 + 0.25 * 0.25);
      const quantile = e * Math.exp(-s2 / 2 - 1.96 * Math.sqrt(s2));
      expect(Math.abs(first - quantile)).toBeLessThanOrEqual(1);
      expect(first).toBeGreaterThan(0.55 * e);
      expect(first).toBeLessThan(0.65 * e);
    },
  );

  it('before the first poll, the delay counts down to it', () => {
    const p = plan(59_000);
    const first = firstMain(p);
    expect(nextPollDelayMs(10_000, p)).toBe(first - 10_000);
    expect(nextPollDelayMs(first - 1, p)).toBe(1);
  });

  it.each(EXPECTED)(
    'after the first poll, intervals of a %i ms model stay within [expected/60, expected/4]',
    (e) => {
      const p = plan(e);
      const first = firstMain(p);
      for (let t = first; t <= 10 * e; t += e / 200) {
        const delay = nextPollDelayMs(t, p);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(e / 60));
        expect(delay).toBeLessThanOrEqual(Math.ceil(e / 4));
      }
    },
  );

  it.each(EXPECTED)('intervals of a %i ms model shrink as the likely finish approaches', (e) => {
    const p = plan(e);
    // Around the expected time, polls come faster than they would be asked for early on.
    expect(nextPollDelayMs(e, p)).toBeLessThan(nextPollDelayMs(0.2 * e, p));
    const first = firstMain(p);
    expect(nextPollDelayMs(e, p)).toBeLessThan(nextPollDelayMs(first, p));
    // Dense around the likely finish: no gap over expected/15 between 0.8× and 1.5× the expected time.
    for (let t = 0.8 * e; t <= 1.5 * e; t += e / 100)
      expect(nextPollDelayMs(t, p)).toBeLessThanOrEqual(e / 15);
  });

  it.each(EXPECTED)('intervals of a %i ms model grow again well after the expected time', (e) => {
    const p = plan(e);
    const atExpected = nextPollDelayMs(e, p);
    expect(nextPollDelayMs(2 * e, p)).toBeGreaterThan(atExpected);
    expect(nextPollDelayMs(3 * e, p)).toBeGreaterThan(nextPollDelayMs(2 * e, p));
    // Very late jobs are polled at the slowest allowed rate, not faster and faster.
    expect(nextPollDelayMs(10 * e, p)).toBe(Math.round(e / 4));
  });

  it('the schedule scales with the expected time: the same fractions for short and long models', () => {
    // (The early look is in absolute seconds for long models, so it is left out here.)
    for (const f of [0.3, 0.7, 1, 1.3, 2, 4]) {
      const short = nextPollDelayMs(f * 5_000, plan(5_000)) / 5_000;
      const long = nextPollDelayMs(f * 300_000, plan(300_000)) / 300_000;
      expect(Math.abs(short - long)).toBeLessThan(2 / 5_000);
    }
  });

  it.each([...EXPECTED, 59_001, 61_000, 90_000])(
    'following the schedule of a %i ms model, every delay is at least 1 ms (no busy loop)',
    (e) => {
      const delays = followSchedule(plan(e), 1.5 * e, 200);
      for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(1);
    },
  );

  it.each(EXPECTED)('a %i ms model that finishes on time costs a handful of polls, not dozens', (e) => {
    // Polls made before the expected time (the last delay takes the schedule past it).
    const polls = followSchedule(plan(e), e, 200).length - 1;
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(polls).toBeLessThanOrEqual(15);
  });

  it('a wider spread of run times starts polling earlier', () => {
    expect(firstMain(plan(59_000, 0.5))).toBeLessThan(firstMain(plan(59_000, 0.25)));
  });

  it('a degenerate plan (cv 0) still gives finite delays within the bounds', () => {
    const p = plan(59_000, 0);
    for (const t of [0, 30_000, 59_000, 70_000, 200_000]) {
      const delay = nextPollDelayMs(t, p);
      expect(Number.isFinite(delay)).toBe(true);
      expect(delay).toBeGreaterThan(0);
    }
  });
});

describe('hazard', () => {
  it('is zero before the start and rises towards the expected time', () => {
    const p = plan(59_000);
    expect(hazard(0, p)).toBe(0);
    expect(hazard(-1, p)).toBe(0);
    expect(hazard(30, p)).toBeLessThan(hazard(59, p));
    expect(hazard(59, p)).toBeGreaterThan(0);
  });
});
