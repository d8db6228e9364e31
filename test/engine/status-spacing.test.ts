// The status message's edits: on each phase change, but never two within 5 s. A phase change
// that comes sooner is sent when the 5 s are up, showing the job as it is by then.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/engine/clock.js';
import { newRuntime, type StepDeps } from '../../src/engine/context.js';
import { createRunTimes } from '../../src/engine/run-times.js';
import { showStatus } from '../../src/engine/steps/status.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { makeJob } from '../fixtures/job.js';

function world() {
  // Wall-clock-like times: a runtime that never edited has its last edit at 0.
  const start = 1_000_000;
  let time = start;
  const timers: { at: number; fn: () => void }[] = [];
  const clock: Clock = {
    now: () => time,
    setTimer: (fn, delayMs) => timers.push({ at: time + delayMs, fn }),
    clearTimer: () => undefined,
  };
  const edits: { at: number; state: JobRecord['state'] }[] = [];
  const deps = {
    clock,
    runTimes: createRunTimes({
      'wavespeed/ray-2-flash': 60_000,
      'wavespeed/ray-2': 60_000,
      'fal/ray-2-flash': 60_000,
    }),
    delivery: {
      showStatus: (job: JobRecord) => {
        edits.push({ at: time - start, state: job.state });
        return Promise.resolve();
      },
    },
    logFor: () => ({ warn: () => undefined }),
  } as unknown as StepDeps;
  /** Moves the clock, firing the timers that come due. */
  const advance = (ms: number) => {
    time += ms;
    for (const t of timers.splice(0).sort((a, b) => a.at - b.at)) {
      if (t.at <= time) t.fn();
      else timers.push(t);
    }
  };
  return { deps, edits, advance };
}

const job = (state: JobRecord['state']): JobRecord =>
  makeJob({
    state,
    discord: { attachmentSizeLimit: 1, statusChannelId: 'c', statusMessageId: 's', threadId: 't' },
  });

describe('status edits', () => {
  it('holds a phase change that comes within 5 s, then shows the latest state once', async () => {
    const { deps, edits, advance } = world();
    const runtime = newRuntime(false);
    await showStatus(deps, job('submitted'), runtime, true); // t = 0
    advance(1000);
    await showStatus(deps, job('succeeded'), runtime, true); // t = 1 s: held
    advance(1000);
    await showStatus(deps, job('delivered'), runtime, true); // t = 2 s: replaces the held one
    expect(edits).toEqual([{ at: 0, state: 'submitted' }]);
    advance(3000); // t = 5 s
    await Promise.resolve();
    expect(edits).toEqual([
      { at: 0, state: 'submitted' },
      { at: 5000, state: 'delivered' },
    ]);
  });

  it('edits at once when the last edit is 5 s old or more', async () => {
    const { deps, edits, advance } = world();
    const runtime = newRuntime(false);
    await showStatus(deps, job('submitted'), runtime, true);
    advance(5000);
    await showStatus(deps, job('delivered'), runtime, true);
    expect(edits.map((e) => e.at)).toEqual([0, 5000]);
  });
});
