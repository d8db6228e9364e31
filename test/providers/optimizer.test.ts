// WaveSpeed's prompt optimizer client against the fake WaveSpeed on loopback: the body it sends,
// how it follows the task, the output shapes it accepts (and the ones it refuses), and its errors.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttp, type Http } from '../../src/net/http.js';
import { ProviderError } from '../../src/providers/errors.js';
import type { OptimizePoll, PromptOptimizer } from '../../src/providers/types.js';
import { createPromptOptimizer } from '../../src/providers/wavespeed/optimizer.js';
import { startFakeWaveSpeed, type FakeWaveSpeed } from '../fakes/wavespeed.js';
import { REWRITE_SUFFIX } from '../fakes/wavespeed/optimizer.js';

const KEY = 'ws-optimizer-test-key';

let fake: FakeWaveSpeed;
let http: Http;
let optimizer: PromptOptimizer;

beforeEach(async () => {
  http = createHttp();
  fake = await startFakeWaveSpeed({ apiKey: KEY });
  fake.optimizer.setRunMs(60);
  optimizer = createPromptOptimizer({ http, baseUrl: fake.baseUrl, apiKey: KEY, requestTimeoutMs: 2_000 });
});

afterEach(async () => {
  await fake.close();
  await http.close();
});

/** Polls until the task is over, as the engine would (without its spacing). */
async function outcome(id: string): Promise<Exclude<OptimizePoll, { state: 'queued' | 'running' }>> {
  for (let i = 0; i < 100; i++) {
    const result = await optimizer.poll(id);
    if (result.state === 'succeeded' || result.state === 'failed') return result;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the optimizer task never ended');
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  expect((error as Error).message).not.toContain(KEY);
  return error as ProviderError;
}

describe('the prompt optimizer client', () => {
  it('submits text, mode video and the image with the key, then reads the rewritten prompt', async () => {
    const { id } = await optimizer.submit({ text: 'a cat blinks', imageUrl: 'https://cdn.example/cat.png' });
    expect(fake.optimizer.submissions).toHaveLength(1);
    const sent = fake.optimizer.submissions[0];
    expect(sent?.body).toStrictEqual({
      text: 'a cat blinks',
      mode: 'video',
      image: 'https://cdn.example/cat.png',
    });
    expect(sent?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent?.taskId).toBe(id);
    expect(await outcome(id)).toStrictEqual({ state: 'succeeded', prompt: `a cat blinks${REWRITE_SUFFIX}` });
    // Followed at the result URL like every WaveSpeed task, never on the videos' submit route.
    expect(fake.optimizer.polls.every((p) => p.id === id)).toBe(true);
    expect(
      fake.requests
        .filter((r) => r.method === 'GET')
        .every((r) => r.path === `/api/v3/predictions/${id}/result`),
    ).toBe(true);
    expect(fake.submissions).toHaveLength(0);
  });

  it('is queued, then running, before it completes', async () => {
    fake.optimizer.hold();
    const { id } = await optimizer.submit({ text: 'a cat' });
    expect(await optimizer.poll(id)).toStrictEqual({ state: 'queued' });
    await new Promise((r) => setTimeout(r, 80));
    expect(await optimizer.poll(id)).toStrictEqual({ state: 'running' });
    fake.optimizer.release();
    expect((await outcome(id)).state).toBe('succeeded');
  });

  it.each([
    [{ text: '  a cat, golden hour  ' }, 'a cat, golden hour'],
    [{ prompt: 'a cat, in slow motion' }, 'a cat, in slow motion'],
    ['\n a trimmed string \n', 'a trimmed string'],
  ])('accepts the output %j', async (output, prompt) => {
    fake.optimizer.nextOutcome({ output });
    const { id } = await optimizer.submit({ text: 'a cat' });
    expect(await outcome(id)).toStrictEqual({ state: 'succeeded', prompt });
  });

  it.each([
    ['an empty string', ''],
    ['blank space', '   '],
    ['a number', 42],
    ['an object without text or prompt', { words: 'a cat' }],
    ['a text that is not a string', { text: 7 }],
    ['a prompt over 2,000 characters', 'x'.repeat(2001)],
    ['nothing', undefined],
  ])('refuses %s as a failed task', async (_what, output) => {
    fake.optimizer.nextOutcome({ output });
    const { id } = await optimizer.submit({ text: 'a cat' });
    const result = await outcome(id);
    expect(result.state).toBe('failed');
    if (result.state === 'failed') expect(result.error.kind).toBe('protocol');
  });

  it('reports a failed task as failed', async () => {
    fake.optimizer.nextOutcome({ fail: true, error: 'model overloaded' });
    const { id } = await optimizer.submit({ text: 'a cat' });
    const result = await outcome(id);
    expect(result.state).toBe('failed');
    if (result.state === 'failed') expect(result.error.message).toContain('model overloaded');
  });

  it('says a 5xx submit may have been taken, and a 429 was not', async () => {
    fake.optimizer.failSubmit({ status: 502, createTask: true });
    const down = await rejection(optimizer.submit({ text: 'a cat' }));
    expect(down.kind).toBe('unavailable');
    expect(down.notAccepted).toBe(false);
    fake.optimizer.failSubmit({ status: 429, retryAfter: 2 });
    const busy = await rejection(optimizer.submit({ text: 'a cat' }));
    expect(busy.notAccepted).toBe(true);
    expect(busy.retryAfterMs).toBe(2000);
  });

  it('throws a retryable error with Retry-After for a failed poll', async () => {
    const { id } = await optimizer.submit({ text: 'a cat' });
    fake.optimizer.failPolls({ status: 503, retryAfter: 3 });
    const error = await rejection(optimizer.poll(id));
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(3000);
  });

  it('is refused with a wrong key, without the key in the error', async () => {
    const wrong = createPromptOptimizer({
      http,
      baseUrl: fake.baseUrl,
      apiKey: 'not-the-key-123',
      requestTimeoutMs: 2_000,
    });
    const error = await rejection(wrong.submit({ text: 'a cat' }));
    expect(error.kind).toBe('auth');
    expect(error.message).not.toContain('not-the-key-123');
  });
});

describe('the fake optimizer', () => {
  it('refuses a mode other than image or video, and a text that is not a string', async () => {
    const post = (body: unknown) =>
      http.send({
        method: 'POST',
        url: `${fake.baseUrl}/api/v3/wavespeed-ai/prompt-optimizer`,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ text: 'a cat', mode: 'audio' })).status).toBe(400);
    expect((await post({ text: 3, mode: 'video' })).status).toBe(400);
    expect((await post({ text: 'a cat', mode: 'video', image: 5 })).status).toBe(400);
    expect((await post({ text: 'a cat', mode: 'image' })).status).toBe(200);
    expect(fake.optimizer.tasks.size).toBe(1);
  });
});
