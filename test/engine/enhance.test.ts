// The prompt enhancer step inside the engine, with an optimizer written for each test: the
// rewrite used for the submit and paid for, every way it can fail (own prompt, credit refunded),
// its wait bounded, Retry-After honoured, a restart following the same task (and never
// submitting twice), cancel and reruns.
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/engine/clock.js';
import type { Engine } from '../../src/engine/engine.js';
import { failoverPlan } from '../../src/engine/failover.js';
import { ProviderError } from '../../src/providers/errors.js';
import type { OptimizePoll, OptimizeRequest, PromptOptimizer } from '../../src/providers/types.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { makeJob } from '../fixtures/job.js';
import { engineWorld, type EngineWorld } from './world.js';

let world: EngineWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const REWRITTEN = (text: string) => `${text}, slow dolly-in, soft light`;

/** An optimizer that runs once (`running`), then answers `answer` (the rewrite by default). */
function optimizerFor(
  opts: {
    submit?: (n: number) => Promise<{ id: string }>;
    answer?: (id: string, n: number) => Promise<OptimizePoll> | OptimizePoll;
  } = {},
) {
  const submits: OptimizeRequest[] = [];
  const polls: { id: string; at: number }[] = [];
  const optimizer: PromptOptimizer = {
    submit(request) {
      submits.push(request);
      return opts.submit?.(submits.length) ?? Promise.resolve({ id: `opt-${submits.length}` });
    },
    async poll(id) {
      polls.push({ id, at: Date.now() });
      const n = polls.filter((p) => p.id === id).length;
      if (opts.answer) return opts.answer(id, n);
      const text = submits.at(-1)?.text ?? '';
      return n === 1 ? { state: 'running' } : { state: 'succeeded', prompt: REWRITTEN(text) };
    },
  };
  return { optimizer, submits, polls };
}

const wsError = (init: Partial<ConstructorParameters<typeof ProviderError>[0]>) =>
  new ProviderError({ kind: 'unavailable', provider: 'wavespeed', message: 'down', ...init });

async function acceptEnhanced(w: EngineWorld, engine: Engine, prompt = 'a cat blinks') {
  const accepted = await engine.accept({
    ...w.requester,
    request: {
      model: 'wavespeed/ray-2-flash',
      prompt,
      aspectRatio: '16:9',
      durationSeconds: 5,
      enhance: true,
    },
    image: { sourceUrl: w.image.url, bytes: new Uint8Array([1]), contentType: 'image/png', extension: 'png' },
  });
  if (!accepted.ok) throw new Error(`refused: ${JSON.stringify(accepted.failure)}`);
  return accepted.job;
}

const ledger = (w: EngineWorld) => w.economy().entries({ scope: 'dm', userId: 'ann' }, 20);

async function waitForRecord(
  w: EngineWorld,
  id: string,
  ok: (job: JobRecord) => boolean,
): Promise<JobRecord> {
  const end = Date.now() + 5_000;
  for (;;) {
    const job = await w.jobs.get(id);
    if (job && ok(job)) return job;
    if (Date.now() > end) throw new Error(`record never matched: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the prompt enhancer step', () => {
  it('submits the rewrite, charges the model price plus one credit, and records the prompt used', async () => {
    const w = (world = await engineWorld());
    const o = optimizerFor();
    const engine = w.boot({ optimizer: o.optimizer });
    const job = await acceptEnhanced(w, engine);
    expect(job.price).toBe(21);
    await w.finish(engine, false);

    expect(o.submits).toStrictEqual([{ text: 'a cat blinks', imageUrl: 'http://127.0.0.1:1/upload.png' }]);
    expect(w.submits.map((s) => s.prompt)).toStrictEqual([REWRITTEN('a cat blinks')]);
    const done = await w.jobs.get(job.id);
    expect(done).toMatchObject({
      state: 'delivered',
      price: 21,
      request: { prompt: 'a cat blinks', enhance: true },
      enhance: { state: 'used', taskId: 'opt-1', prompt: REWRITTEN('a cat blinks') },
    });
    expect(await w.balance()).toBe(79);
    const entries = await ledger(w);
    expect(entries.map((e) => [e.kind, e.amount, e.note])).toStrictEqual([
      ['spend', 21, 'wavespeed/ray-2-flash 5s + prompt enhancer'],
      ['hold', 21, 'wavespeed/ray-2-flash 5s + prompt enhancer'],
      ['grant', 100, 'starting credits'],
    ]);
  });

  it.each<[string, Parameters<typeof optimizerFor>[0]]>([
    ['the task fails', { answer: () => ({ state: 'failed', error: wsError({ kind: 'failed' }) }) }],
    ['the output is unusable', { answer: () => ({ state: 'failed', error: wsError({ kind: 'protocol' }) }) }],
    ['the submit answers 5xx', { submit: () => Promise.reject(wsError({ status: 502 })) }],
    ['the poll is refused', { answer: () => Promise.reject(wsError({ kind: 'auth', status: 401 })) }],
  ])('uses the member’s own prompt and refunds the credit when %s', async (_what, script) => {
    const w = (world = await engineWorld());
    const o = optimizerFor(script);
    const engine = w.boot({ optimizer: o.optimizer });
    const job = await acceptEnhanced(w, engine);
    await w.finish(engine, false);

    expect(o.submits).toHaveLength(1); // never sent twice, whatever it answered
    expect(w.submits.map((s) => s.prompt)).toStrictEqual(['a cat blinks']);
    const done = await w.jobs.get(job.id);
    expect(done).toMatchObject({ state: 'delivered', price: 20, enhance: { state: 'failed' } });
    expect(done?.enhance?.prompt).toBeUndefined();
    expect(await w.balance()).toBe(80);
    const lowered = (await ledger(w)).find((e) => e.key === `refund:${job.id}:lowered`);
    expect(lowered).toMatchObject({
      kind: 'refund',
      amount: 1,
      delta: 1,
      note: 'prompt enhancer unavailable',
    });
  });

  it('tries the submit again only when WaveSpeed proved it did not take it (429)', async () => {
    const w = (world = await engineWorld());
    const o = optimizerFor({
      submit: (n) =>
        n === 1
          ? Promise.reject(
              wsError({ kind: 'rate_limited', status: 429, notAccepted: true, retryAfterMs: 50 }),
            )
          : Promise.resolve({ id: 'opt-second' }),
    });
    const engine = w.boot({ optimizer: o.optimizer });
    const job = await acceptEnhanced(w, engine);
    await w.finish(engine, false);
    expect(o.submits).toHaveLength(2);
    expect(await w.jobs.get(job.id)).toMatchObject({
      price: 21,
      enhance: { state: 'used', taskId: 'opt-second' },
    });
    expect(await w.balance()).toBe(79);
  });

  it('waits at most enhanceWaitMs, then uses the member’s own prompt', async () => {
    const w = (world = await engineWorld({ settings: { enhanceWaitMs: 300 } }));
    const o = optimizerFor({ answer: () => ({ state: 'running' }) });
    const engine = w.boot({ optimizer: o.optimizer });
    const job = await acceptEnhanced(w, engine);
    await w.finish(engine, false);
    expect(w.submits.map((s) => s.prompt)).toStrictEqual(['a cat blinks']);
    expect(await w.jobs.get(job.id)).toMatchObject({
      price: 20,
      enhance: { state: 'failed', reason: 'timeout' },
    });
    expect(await w.balance()).toBe(80);
  });

  it('backs off a failed poll, never sooner than its Retry-After', async () => {
    const w = (world = await engineWorld());
    const o = optimizerFor({
      answer: (_id, n) =>
        n === 1
          ? Promise.reject(wsError({ status: 503, retryAfterMs: 700 }))
          : { state: 'succeeded', prompt: 'rewritten' },
    });
    const engine = w.boot({ optimizer: o.optimizer });
    await acceptEnhanced(w, engine);
    await w.finish(engine, false);
    expect(o.polls).toHaveLength(2);
    const [first, second] = o.polls;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(690);
    expect(w.submits.map((s) => s.prompt)).toStrictEqual(['rewritten']);
  });

  it('after a restart, follows the same optimizer task instead of submitting another', async () => {
    const w = (world = await engineWorld());
    let finished = false;
    const o = optimizerFor({
      answer: () => (finished ? { state: 'succeeded', prompt: 'rewritten once' } : { state: 'running' }),
    });
    const first = w.boot({ optimizer: o.optimizer });
    const job = await acceptEnhanced(w, first);
    await waitForRecord(w, job.id, (j) => j.enhance?.state === 'submitted');
    await first.stop();
    const pollsBefore = o.polls.length;

    finished = true;
    const second = w.boot({ optimizer: o.optimizer });
    expect(await second.resume()).toBe(1);
    await w.settled();
    await second.stop();
    expect(o.submits).toHaveLength(1);
    expect(o.polls.length).toBeGreaterThan(pollsBefore);
    expect(new Set(o.polls.map((p) => p.id))).toStrictEqual(new Set(['opt-1']));
    expect(w.submits.map((s) => s.prompt)).toStrictEqual(['rewritten once']);
    expect(await w.balance()).toBe(79);
  });

  it('a restart after the wait was over still uses a rewrite that finished meanwhile, and gives up on one that did not', async () => {
    // A job deadline well past the two minutes the restart takes.
    const w = (world = await engineWorld({ settings: { jobDeadlineMs: 600_000 } }));
    let done = false;
    const o = optimizerFor({
      answer: () => (done ? { state: 'succeeded', prompt: 'finished while down' } : { state: 'running' }),
    });
    const first = w.boot({ optimizer: o.optimizer });
    const a = await acceptEnhanced(w, first, 'first');
    const b = await acceptEnhanced(w, first, 'second');
    await waitForRecord(w, a.id, (j) => j.enhance?.state === 'submitted');
    await waitForRecord(w, b.id, (j) => j.enhance?.state === 'submitted');
    await first.stop();

    // Two minutes later: the first task finished while the bot was down, the second never will.
    const later = { ...systemClock, now: () => Date.now() + 120_000 };
    const second = w.boot({
      optimizer: {
        submit: (request) => o.optimizer.submit(request),
        poll: (id) => {
          if (id !== 'opt-1') return Promise.resolve({ state: 'running' });
          done = true;
          return o.optimizer.poll(id);
        },
      },
      clock: later,
    });
    await second.resume();
    await w.settled();
    await second.stop();
    expect(o.submits).toHaveLength(2);
    expect(await w.jobs.get(a.id)).toMatchObject({
      price: 21,
      enhance: { state: 'used', prompt: 'finished while down' },
    });
    expect(await w.jobs.get(b.id)).toMatchObject({
      price: 20,
      enhance: { state: 'failed', reason: 'timeout' },
    });
    expect(w.submits.map((s) => s.prompt).sort()).toStrictEqual(['finished while down', 'second']);
  });

  it('a restart while the submit was on the wire never submits again: own prompt, credit refunded', async () => {
    const w = (world = await engineWorld());
    // The first process never hears back (it is gone, as after a SIGKILL).
    const hung = optimizerFor({ submit: () => new Promise<never>(() => undefined) });
    const first = w.boot({ optimizer: hung.optimizer });
    const job = await acceptEnhanced(w, first);
    await waitForRecord(w, job.id, (j) => j.enhance?.state === 'submitting');

    const o = optimizerFor();
    const second = w.boot({ optimizer: o.optimizer });
    await second.resume();
    await w.settled();
    await second.stop();
    expect(o.submits).toHaveLength(0);
    expect(w.submits.map((s) => s.prompt)).toStrictEqual(['a cat blinks']);
    expect(await w.jobs.get(job.id)).toMatchObject({
      price: 20,
      enhance: { state: 'failed', reason: 'submit_unknown' },
    });
    expect(await w.balance()).toBe(80);
  });

  it('a job cancelled while enhancing is refunded in full and never submitted', async () => {
    const w = (world = await engineWorld());
    const o = optimizerFor({ answer: () => ({ state: 'running' }) });
    const engine = w.boot({ optimizer: o.optimizer });
    const job = await acceptEnhanced(w, engine);
    await waitForRecord(w, job.id, (j) => j.state === 'enhancing' && j.enhance?.state === 'submitted');
    expect(await engine.cancel(job.id, 'ann')).toBe('cancelled');
    await w.finish(engine, false);
    expect(w.submits).toHaveLength(0);
    expect(await w.jobs.get(job.id)).toMatchObject({ state: 'refunded', failure: { code: 'cancelled' } });
    expect(await w.balance()).toBe(100);
  });

  it('a video that fails after the rewrite refunds everything, the enhancer’s credit included', async () => {
    const w = (world = await engineWorld({
      provider: { poll: () => Promise.resolve({ state: 'failed', error: wsError({ kind: 'failed' }) }) },
    }));
    const engine = w.boot({ optimizer: optimizerFor().optimizer });
    const job = await acceptEnhanced(w, engine);
    await w.finish(engine, false);
    expect(await w.jobs.get(job.id)).toMatchObject({ state: 'refunded', price: 21 });
    expect(await w.balance()).toBe(100);
    expect(w.failures[0]).toContain('Your 21 credits were refunded.');
  });

  it('a rerun reuses the prompt used, without the enhancer or its credit', async () => {
    const w = (world = await engineWorld());
    const o = optimizerFor();
    const engine = w.boot({ optimizer: o.optimizer });
    const job = await acceptEnhanced(w, engine);
    await w.settled();
    const original = await w.jobs.get(job.id);
    if (!original) throw new Error('no original');
    const rerun = await engine.rerun(w.requester, original);
    if (!rerun.ok) throw new Error(`rerun refused: ${JSON.stringify(rerun.failure)}`);
    expect(rerun.job.price).toBe(20);
    expect(rerun.job.request.prompt).toBe(REWRITTEN('a cat blinks'));
    expect(rerun.job.request.enhance).toBeUndefined();
    expect(rerun.job.enhance).toBeUndefined();
    await w.finish(engine, false);
    expect(o.submits).toHaveLength(1);
    expect(w.submits.map((s) => s.prompt)).toStrictEqual([
      REWRITTEN('a cat blinks'),
      REWRITTEN('a cat blinks'),
    ]);
    expect(await w.balance()).toBe(100 - 21 - 20);
  });

  it('without an optimizer, quotes and acceptance refuse enhance like an unsupported option', async () => {
    const w = (world = await engineWorld());
    const engine = w.boot();
    expect(engine.canEnhance).toBe(false);
    const request = {
      model: 'wavespeed/ray-2-flash' as const,
      prompt: 'a cat',
      aspectRatio: '16:9' as const,
      durationSeconds: 5 as const,
      enhance: true,
    };
    const refusal = { code: 'unsupported_option', model: 'wavespeed/ray-2-flash', option: 'enhance' };
    expect(await engine.quote(w.requester, request)).toStrictEqual({ ok: false, failure: refusal });
    const accepted = await engine.accept({
      ...w.requester,
      request,
      image: {
        sourceUrl: w.image.url,
        bytes: new Uint8Array([1]),
        contentType: 'image/png',
        extension: 'png',
      },
    });
    expect(accepted).toStrictEqual({ ok: false, failure: refusal });
    expect(await w.balance()).toBe(100);
    expect(await w.jobs.listOpen()).toHaveLength(0);
    await engine.stop();
  });

  it('quotes the model price plus one credit', async () => {
    const w = (world = await engineWorld());
    const engine = w.boot({ optimizer: optimizerFor().optimizer });
    expect(engine.canEnhance).toBe(true);
    const request = {
      model: 'wavespeed/ray-2-flash' as const,
      prompt: 'a cat',
      aspectRatio: '16:9' as const,
    };
    expect(await engine.quote(w.requester, { ...request, durationSeconds: 10, enhance: true })).toMatchObject(
      {
        ok: true,
        price: 41,
      },
    );
    expect(await engine.quote(w.requester, { ...request, durationSeconds: 10 })).toMatchObject({ price: 40 });
    await engine.stop();
  });
});

describe('failover with the prompt enhancer', () => {
  it('keeps a used enhancer’s credit on the stand-in, never above the quote', () => {
    // fal at 720p, 5 s: 40, plus the enhancer: 41 quoted. WaveSpeed Flash runs it for 20 + 1.
    const base = makeJob({ model: 'fal/ray-2-flash', price: 41 });
    const job: JobRecord = {
      ...base,
      request: { ...base.request, resolution: '720p', enhance: true },
      enhance: { state: 'used', prompt: 'rewritten' },
    };
    expect(failoverPlan(job, () => true)).toStrictEqual({ model: 'wavespeed/ray-2-flash', price: 21 });
    // The enhancer failed (its credit already refunded): the stand-in's price alone.
    const failed: JobRecord = { ...job, price: 40, enhance: { state: 'failed' } };
    expect(failoverPlan(failed, () => true)).toStrictEqual({ model: 'wavespeed/ray-2-flash', price: 20 });
  });
});
