// Push in the engine (docs/push.md): a webhook's hint and fal's status stream only wake a job's
// poll step; the provider is still asked (for the result) before anything is believed, and a
// stream that fails gives way to the usual polling.
import { afterEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { ProviderError } from '../../src/providers/errors.js';
import type { PollOptions, PollResult, StreamEvent, VideoProvider } from '../../src/providers/types.js';
import { engineWorld, type EngineWorld } from './world.js';

const VIDEO = { state: 'succeeded', videoUrl: 'http://127.0.0.1:1/v.mp4', nsfw: false } as const;
/** Long enough that no scheduled poll comes during a test: only a push can end the job soon. */
const LONG_RUN = { 'wavespeed/ray-2-flash': 600_000, 'wavespeed/ray-2': 600_000, 'fal/ray-2-flash': 600_000 };

let world: EngineWorld | undefined;
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop();
  await world?.close();
  world = engine = undefined;
});

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((res) => (open = res));
  return { opened, open };
}

async function start(provider: Partial<VideoProvider>, expectedRunMs: typeof LONG_RUN = LONG_RUN) {
  world = await engineWorld({ provider, settings: { expectedRunMs } });
  engine = world.boot();
  const accepted = await world.accept(engine);
  if (!accepted.ok) throw new Error('not accepted');
  const id = accepted.job.id;
  const w = world;
  await until(async () => (await w.jobs.get(id))?.state === 'submitted');
  return { world: w, engine, id };
}

describe('webhook hints', () => {
  it('make a submitted job look at once, telling the provider a push said it ended', async () => {
    const polls: (PollOptions | undefined)[] = [];
    const { world: w, engine: e } = await start({
      submit: () => Promise.resolve({ id: 'task-1', webhook: true }),
      poll: (_ref, _signal, options) => {
        polls.push(options);
        return Promise.resolve(VIDEO);
      },
    });
    expect(polls).toEqual([]);
    expect(e.hint('wavespeed', 'task-1')).toBe(true);
    await until(() => w.posted.length === 1);
    expect(polls).toEqual([{ pushed: true }]);
    // Over: a late duplicate finds no open job.
    await w.settled();
    expect(e.hint('wavespeed', 'task-1')).toBe(false);
  });

  it('change nothing for a task no open job has, or another provider’s task of that id', async () => {
    const polls: unknown[] = [];
    const {
      world: w,
      engine: e,
      id,
    } = await start({
      submit: () => Promise.resolve({ id: 'task-1', webhook: true }),
      poll: () => {
        polls.push(1);
        return Promise.resolve(VIDEO);
      },
    });
    expect(e.hint('wavespeed', 'task-9')).toBe(false);
    expect(e.hint('fal', 'task-1')).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(polls).toEqual([]);
    expect((await w.jobs.get(id))?.state).toBe('submitted');
  });

  it('that arrive while a poll is on the wire are not lost to that poll’s own next wake-up', async () => {
    const inPoll = gate();
    const release = gate();
    let polls = 0;
    const { world: w, engine: e } = await start(
      {
        submit: () => Promise.resolve({ id: 'task-1', webhook: true }),
        poll: async (): Promise<PollResult> => {
          polls++;
          if (polls > 1) return VIDEO;
          inPoll.open();
          await release.opened;
          return { state: 'running' };
        },
      },
      // Short, so the first safety-net poll comes soon; the next one would be seconds later.
      { 'wavespeed/ray-2-flash': 100, 'wavespeed/ray-2': 100, 'fal/ray-2-flash': 100 },
    );
    await inPoll.opened;
    expect(e.hint('wavespeed', 'task-1')).toBe(true);
    release.open();
    await until(() => w.posted.length === 1, 1000);
    expect(polls).toBe(2);
  });
});

/** A stream the test feeds: `push` an event, `end` it, or `fail` it. */
function controlledStream() {
  const queue: (StreamEvent | Error | 'end')[] = [];
  let wakeUp: (() => void) | undefined;
  const put = (item: StreamEvent | Error | 'end') => {
    queue.push(item);
    wakeUp?.();
  };
  let opened = 0;
  async function* follow(): AsyncGenerator<StreamEvent> {
    opened++;
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wakeUp = r));
      const item = queue.shift() as StreamEvent | Error | 'end';
      if (item === 'end') return;
      if (item instanceof Error) throw item;
      yield item;
    }
  }
  return { follow, push: put, opened: () => opened };
}

/** A stream that fails (with what `error` returns) before its first event. */
function failingStream(error: () => Error): AsyncIterable<StreamEvent> {
  return {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error()) }),
  };
}

describe('fal status stream', () => {
  it('applies each status without a request and fetches the result once it says COMPLETED', async () => {
    const stream = controlledStream();
    const polls: (PollOptions | undefined)[] = [];
    world = await engineWorld({
      provider: {
        follow: stream.follow,
        poll: (_ref, _signal, options) => {
          polls.push(options);
          return Promise.resolve(VIDEO);
        },
      },
      settings: { expectedRunMs: LONG_RUN },
    });
    engine = world.boot();
    const accepted = await world.accept(engine);
    if (!accepted.ok) throw new Error('not accepted');
    const w = world;
    const progress = async () => (await w.jobs.get(accepted.job.id))?.progress;
    await until(() => stream.opened() === 1);
    stream.push({ state: 'queued', position: 2 });
    await until(async () => (await progress())?.position === 2);
    stream.push({ state: 'running' });
    await until(async () => (await progress())?.phase === 'running');
    expect(polls).toEqual([]);
    expect((await progress())?.polls).toBe(0);
    stream.push({ state: 'completed' });
    await until(() => w.posted.length === 1);
    expect(polls).toEqual([{ pushed: true }]);
    expect(stream.opened()).toBe(1);
  });

  it('reconnects a broken stream a few times, then leaves the job to the usual polls', async () => {
    let opened = 0;
    let polls = 0;
    const { world: w } = await start(
      {
        follow: () =>
          failingStream(() => {
            opened++;
            return new ProviderError({ kind: 'network', provider: 'fal', message: 'stream reset' });
          }),
        poll: () => {
          polls++;
          // Running until the stream was given up, then done: only polls can end this job.
          return Promise.resolve(opened < 4 ? { state: 'running' } : VIDEO);
        },
      },
      { 'wavespeed/ray-2-flash': 300, 'wavespeed/ray-2': 300, 'fal/ray-2-flash': 300 },
    );
    await until(() => w.posted.length === 1, 8000);
    expect(opened).toBe(4);
    expect(polls).toBeGreaterThan(1);
  });

  it('gives up at once on a stream refused outright (404) and polls', async () => {
    let opened = 0;
    const { world: w } = await start(
      {
        follow: () =>
          failingStream(() => {
            opened++;
            return new ProviderError({ kind: 'failed', provider: 'fal', status: 404, message: 'no stream' });
          }),
        poll: () => Promise.resolve(VIDEO),
      },
      { 'wavespeed/ray-2-flash': 300, 'wavespeed/ray-2': 300, 'fal/ray-2-flash': 300 },
    );
    await until(() => w.posted.length === 1, 3000);
    expect(opened).toBe(1);
  });

  it('is not opened for a job whose submit registered a webhook', async () => {
    const stream = controlledStream();
    const { world: w, engine: e } = await start({
      submit: () => Promise.resolve({ id: 'task-1', webhook: true }),
      follow: stream.follow,
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(stream.opened()).toBe(0);
    e.hint('wavespeed', 'task-1');
    await until(() => w.posted.length === 1);
  });
});
