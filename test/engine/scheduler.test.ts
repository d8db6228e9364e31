// The scheduler over a hand-written virtual clock: wake-ups in time order, one per key, a single
// armed timer however many keys wait, a cap on running tasks, errors routed, a clean stop.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/engine/clock.js';
import { Scheduler } from '../../src/engine/scheduler.js';

/** Lets started tasks finish their promise chains. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

interface FakeTimer {
  id: number;
  at: number;
  delay: number;
  fn: () => void;
}

/** Virtual time: timers sit in a list until `advance` moves the clock past them. */
class FakeClock implements Clock {
  time = 0;
  timers: FakeTimer[] = [];
  /** Most timers alive at once, over the clock's life. */
  maxLive = 0;
  armed: FakeTimer[] = [];
  #nextId = 1;

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, delayMs: number): unknown {
    const timer = { id: this.#nextId++, at: this.time + delayMs, delay: delayMs, fn };
    this.timers.push(timer);
    this.armed.push(timer);
    this.maxLive = Math.max(this.maxLive, this.timers.length);
    return timer.id;
  }

  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get live(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order, each at its own time. Like the real
   * event loop, promise callbacks run between one timer and the next.
   */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
      await settle();
    }
    this.time = target;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setup(opts: { maxRunning?: number } = {}) {
  const clock = new FakeClock();
  const errors: [string, unknown][] = [];
  const scheduler = new Scheduler({
    clock,
    onError: (key, error) => errors.push([key, error]),
    ...(opts.maxRunning === undefined ? {} : { maxRunning: opts.maxRunning }),
  });
  /** [key, time] of every task that ran. */
  const ran: [string, number][] = [];
  const task = (key: string) => () => {
    ran.push([key, clock.now()]);
    return Promise.resolve();
  };
  return { clock, errors, scheduler, ran, task };
}

describe('Scheduler', () => {
  it('runs tasks in time order, each at its time and not before', async () => {
    const { clock, scheduler, ran, task } = setup();
    scheduler.at('c', 300, task('c'));
    scheduler.at('a', 100, task('a'));
    scheduler.at('b', 200, task('b'));
    scheduler.at('d', 200, task('d'));

    await clock.advance(99);
    await settle();
    expect(ran).toEqual([]);

    await clock.advance(1_000);
    await settle();
    expect(ran).toEqual([
      ['a', 100],
      ['b', 200],
      ['d', 200],
      ['c', 300],
    ]);
    expect(scheduler.pending).toBe(0);
  });

  it('orders many keys scheduled at scattered times', async () => {
    const { clock, scheduler, ran, task } = setup();
    const times = Array.from({ length: 200 }, (_, i) => (i * 7919) % 1000);
    times.forEach((t, i) => scheduler.at(`k${i}`, t, task(`k${i}`)));
    await clock.advance(1_000);
    await settle();
    expect(ran).toHaveLength(200);
    const firedAt = ran.map(([, t]) => t);
    expect(firedAt).toEqual([...times].sort((a, b) => a - b));
    for (const [key, t] of ran) expect(t).toBe(times[Number(key.slice(1))]);
  });

  it('in() schedules relative to the clock, and a negative delay means now', async () => {
    const { clock, scheduler, ran, task } = setup();
    await clock.advance(500);
    scheduler.in('later', 250, task('later'));
    scheduler.in('now', -100, task('now'));
    await clock.advance(0);
    await settle();
    expect(ran).toEqual([['now', 500]]);
    await clock.advance(250);
    await settle();
    expect(ran).toEqual([
      ['now', 500],
      ['later', 750],
    ]);
  });

  it('a task due in the past runs on the next tick', async () => {
    const { clock, scheduler, ran, task } = setup();
    await clock.advance(1_000);
    scheduler.at('late', 10, task('late'));
    await clock.advance(0);
    await settle();
    expect(ran).toEqual([['late', 1_000]]);
  });

  it('re-scheduling a key replaces its wake-up (later time)', async () => {
    const { clock, scheduler, ran, task } = setup();
    scheduler.at('job', 100, task('first'));
    scheduler.at('job', 300, task('second'));
    expect(scheduler.pending).toBe(1);
    await clock.advance(1_000);
    await settle();
    expect(ran).toEqual([['second', 300]]);
  });

  it('re-scheduling a key replaces its wake-up (earlier time)', async () => {
    const { clock, scheduler, ran, task } = setup();
    scheduler.at('job', 500, task('first'));
    scheduler.at('job', 100, task('second'));
    await clock.advance(1_000);
    await settle();
    expect(ran).toEqual([['second', 100]]);
  });

  it('a task may schedule its own key again', async () => {
    const { clock, scheduler, ran } = setup();
    let polls = 0;
    const poll = (): Promise<void> => {
      ran.push(['poll', clock.now()]);
      polls += 1;
      if (polls < 3) scheduler.in('job', 100, poll);
      return Promise.resolve();
    };
    scheduler.at('job', 100, poll);
    for (let i = 0; i < 5; i++) {
      await clock.advance(100);
      await settle();
    }
    expect(ran).toEqual([
      ['poll', 100],
      ['poll', 200],
      ['poll', 300],
    ]);
  });

  it('cancel forgets a pending wake-up and leaves the others', async () => {
    const { clock, scheduler, ran, task } = setup();
    scheduler.at('a', 100, task('a'));
    scheduler.at('b', 200, task('b'));
    expect(scheduler.has('a')).toBe(true);
    scheduler.cancel('a');
    expect(scheduler.has('a')).toBe(false);
    expect(scheduler.pending).toBe(1);
    await clock.advance(1_000);
    await settle();
    expect(ran).toEqual([['b', 200]]);
  });

  it('cancel of an unknown key is harmless', async () => {
    const { clock, scheduler, ran, task } = setup();
    scheduler.at('a', 100, task('a'));
    scheduler.cancel('nope');
    await clock.advance(100);
    await settle();
    expect(ran).toEqual([['a', 100]]);
  });

  it('keeps only one timer armed however many keys are pending', async () => {
    const { clock, scheduler, ran, task } = setup();
    for (let i = 0; i < 500; i++) {
      // Alternate far and near times so the earliest keeps changing.
      scheduler.at(`k${i}`, i % 2 === 0 ? 10_000 - i : 1 + i, task(`k${i}`));
      expect(clock.live).toBe(1);
    }
    for (let i = 0; i < 500; i += 3) scheduler.cancel(`k${i}`);
    expect(clock.live).toBeLessThanOrEqual(1);
    for (let step = 0; step < 120; step++) {
      await clock.advance(100);
      await settle();
      expect(clock.live).toBeLessThanOrEqual(1);
    }
    expect(clock.maxLive).toBe(1);
    expect(ran).toHaveLength(500 - Math.ceil(500 / 3));
    expect(scheduler.pending).toBe(0);
  });

  it('never asks the clock for a delay longer than setTimeout allows', async () => {
    const { clock, scheduler, ran, task } = setup();
    const fortyDays = 40 * 24 * 60 * 60 * 1000;
    scheduler.at('far', fortyDays, task('far'));
    for (const timer of clock.armed) expect(timer.delay).toBeLessThanOrEqual(2_147_483_647);
    await clock.advance(2_147_483_647);
    await settle();
    expect(ran).toEqual([]);
    await clock.advance(fortyDays);
    await settle();
    expect(ran).toEqual([['far', fortyDays]]);
    for (const timer of clock.armed) expect(timer.delay).toBeLessThanOrEqual(2_147_483_647);
  });

  it('maxRunning limits how many tasks run at once; the rest wait their turn', async () => {
    const { clock, scheduler } = setup({ maxRunning: 2 });
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const started: string[] = [];
    const finished: string[] = [];
    let running = 0;
    let most = 0;
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      const gate = deferred();
      gates.set(key, gate);
      scheduler.at(key, 100, async () => {
        started.push(key);
        running += 1;
        most = Math.max(most, running);
        await gate.promise;
        running -= 1;
        finished.push(key);
      });
    }
    await clock.advance(100);
    await settle();
    expect(started).toEqual(['a', 'b']);

    gates.get('b')?.resolve();
    await settle();
    expect(finished).toEqual(['b']);
    expect(started).toEqual(['a', 'b', 'c']);

    for (const gate of gates.values()) gate.resolve();
    for (let i = 0; i < 5; i++) await settle();
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(finished).toHaveLength(5);
    expect(most).toBe(2);
  });

  it('a failing task goes to onError with its key and the others still run', async () => {
    const { clock, scheduler, errors, ran, task } = setup();
    const boom = new Error('boom');
    scheduler.at('bad', 100, () => Promise.reject(boom));
    scheduler.at('good', 200, task('good'));
    await clock.advance(100);
    await settle();
    expect(errors).toEqual([['bad', boom]]);
    await clock.advance(100);
    await settle();
    expect(ran).toEqual([['good', 200]]);
    expect(errors).toHaveLength(1);
  });

  it('a failing task frees its slot for the next one', async () => {
    const { clock, scheduler, errors, ran, task } = setup({ maxRunning: 1 });
    scheduler.at('bad', 100, () => Promise.reject(new Error('boom')));
    scheduler.at('next', 100, task('next'));
    await clock.advance(100);
    for (let i = 0; i < 3; i++) await settle();
    expect(errors.map(([key]) => key)).toEqual(['bad']);
    expect(ran).toEqual([['next', 100]]);
  });

  it('stop() waits for running tasks to finish', async () => {
    const { clock, scheduler } = setup();
    const gate = deferred();
    let finished = false;
    scheduler.at('slow', 100, async () => {
      await gate.promise;
      finished = true;
    });
    await clock.advance(100);
    await settle();

    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);

    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(stopped).toBe(true);
  });

  it('fires nothing after stop(), including wake-ups asked for later', async () => {
    const { clock, scheduler, ran, task } = setup({ maxRunning: 1 });
    const gate = deferred();
    scheduler.at('running', 100, async () => {
      await gate.promise;
    });
    scheduler.at('queued-behind', 100, task('queued-behind'));
    scheduler.at('pending', 500, task('pending'));
    await clock.advance(100);
    await settle();

    const stopping = scheduler.stop();
    expect(scheduler.pending).toBe(0);
    expect(clock.live).toBe(0);
    scheduler.at('after-stop', 600, task('after-stop'));
    scheduler.in('after-stop-2', 0, task('after-stop-2'));
    gate.resolve();
    await stopping;

    await clock.advance(10_000);
    for (let i = 0; i < 3; i++) await settle();
    expect(ran).toEqual([]);
    expect(clock.live).toBe(0);
  });

  it('stop() with nothing running resolves', async () => {
    const { scheduler, task } = setup();
    scheduler.at('a', 100, task('a'));
    await expect(scheduler.stop()).resolves.toBeUndefined();
  });
});
