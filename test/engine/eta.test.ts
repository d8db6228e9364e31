import { describe, expect, it } from 'vitest';
import { createRunTimes } from '../../src/engine/run-times.js';
import { etaSecondsFor } from '../../src/engine/steps/status.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { makeJob } from '../fixtures/job.js';

const runTimes = createRunTimes({
  'wavespeed/ray-2-flash': 60_000,
  'wavespeed/ray-2': 120_000,
  'fal/ray-2-flash': 60_000,
});

const job = (progress: JobRecord['progress'], state: JobRecord['state'] = 'submitted'): JobRecord =>
  makeJob({ model: 'fal/ray-2-flash', state, ...(progress ? { progress } : {}) });

describe('etaSecondsFor', () => {
  it('counts down the expected run time from the submit', () => {
    expect(etaSecondsFor({ runTimes }, job({ phase: 'running', submittedAt: 0, polls: 1 }), 20_000)).toBe(40);
  });

  it('adds half a run per place ahead in the provider queue', () => {
    expect(
      etaSecondsFor({ runTimes }, job({ phase: 'queued', position: 4, submittedAt: 0, polls: 1 }), 0),
    ).toBe(60 + 120);
  });

  it('never promises less than five seconds, even when the job is late', () => {
    expect(etaSecondsFor({ runTimes }, job({ phase: 'running', submittedAt: 0, polls: 9 }), 600_000)).toBe(5);
  });

  it('has no estimate before the submit or after the job is done', () => {
    expect(etaSecondsFor({ runTimes }, job(undefined, 'accepted'), 0)).toBeUndefined();
    expect(
      etaSecondsFor({ runTimes }, job({ phase: 'running', submittedAt: 0, polls: 1 }, 'delivered'), 0),
    ).toBeUndefined();
  });
});
