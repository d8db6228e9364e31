// The WaveSpeed client against the fake WaveSpeed server on loopback: wire format, state
// mapping, error kinds and `notAccepted`, uploads, and that the key never leaks into errors.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttp, type Http } from '../../src/net/http.js';
import { ProviderError } from '../../src/providers/errors.js';
import type { PollResult, VideoProvider, VideoRequest } from '../../src/providers/types.js';
import { createWaveSpeedProvider } from '../../src/providers/wavespeed.js';
import { startFakeWaveSpeed, type FakeWaveSpeed, type FakeWaveSpeedOptions } from '../fakes/wavespeed.js';

const KEY = 'ws-test-key';
const REQUEST: VideoRequest = {
  prompt: 'a cat walks',
  imageUrl: 'https://example.com/cat.png',
  aspectRatio: '16:9',
  durationSeconds: 5,
};

let fake: FakeWaveSpeed;
let http: Http;
let provider: VideoProvider;
/** Every ProviderError a test saw, checked for the key after each test. */
let seen: ProviderError[];

async function setup(
  opts: FakeWaveSpeedOptions = {},
  endpoint: 'luma/ray-2-flash-i2v' | 'luma/ray-2-i2v' = 'luma/ray-2-flash-i2v',
) {
  fake = await startFakeWaveSpeed({ apiKey: KEY, ...opts });
  provider = createWaveSpeedProvider({
    http,
    baseUrl: fake.baseUrl,
    apiKey: KEY,
    endpoint,
    requestTimeoutMs: 2_000,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  seen.push(error as ProviderError);
  return error as ProviderError;
}

function failedError(result: PollResult): ProviderError {
  if (result.state !== 'failed') throw new Error(`expected failed, got ${result.state}`);
  seen.push(result.error);
  return result.error;
}

beforeEach(() => {
  http = createHttp();
  seen = [];
});

afterEach(async () => {
  for (const error of seen) {
    expect(error.message).not.toContain(KEY);
    expect(JSON.stringify(error.toLog())).not.toContain(KEY);
  }
  await fake?.close();
  await http.close();
});

describe('submit', () => {
  it('sends the exact body and headers for 16:9, 5 s', async () => {
    await setup();
    const ref = await provider.submit(REQUEST);
    expect(fake.submissions).toHaveLength(1);
    const sub = fake.submissions[0]!;
    expect(sub.endpoint).toBe('luma/ray-2-flash-i2v');
    expect(sub.body).toStrictEqual({
      image: REQUEST.imageUrl,
      prompt: REQUEST.prompt,
      size: '1280*720',
      duration: 5,
    });
    expect(sub.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sub.headers['content-type']).toBe('application/json');
    expect(ref.id).toBe(sub.taskId);
    expect(ref.id).toMatch(/^[0-9a-f]{32}$/);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/api/v3/luma/ray-2-flash-i2v' });
  });

  it('sends size 720*1280 and the integer 10 for 9:16, 10 s on ray-2-i2v', async () => {
    await setup({}, 'luma/ray-2-i2v');
    await provider.submit({ ...REQUEST, aspectRatio: '9:16', durationSeconds: 10 });
    expect(fake.submissions[0]!.endpoint).toBe('luma/ray-2-i2v');
    expect(fake.submissions[0]!.body).toStrictEqual({
      image: REQUEST.imageUrl,
      prompt: REQUEST.prompt,
      size: '720*1280',
      duration: 10,
    });
  });

  it.each([
    ['aspect ratio 4:3', { aspectRatio: '4:3' }],
    ['a resolution', { resolution: '720p' }],
    ['loop', { loop: true }],
    ['an end image', { endImageUrl: 'https://example.com/end.png' }],
  ] as const)('refuses %s without any request', async (_, extra) => {
    await setup();
    const error = await rejection(provider.submit({ ...REQUEST, ...extra }));
    expect(error.kind).toBe('invalid_input');
    expect(fake.requests).toHaveLength(0);
  });

  it('maps 401 to auth with a clean message', async () => {
    await setup();
    provider = createWaveSpeedProvider({
      http,
      baseUrl: fake.baseUrl,
      apiKey: 'wrong-key',
      endpoint: 'luma/ray-2-flash-i2v',
    });
    const error = await rejection(provider.submit(REQUEST));
    expect(error).toMatchObject({ kind: 'auth', status: 401, notAccepted: false, retryable: false });
    expect(error.message).toContain('Unauthorized');
    expect(error.message).not.toContain('wrong-key');
  });

  it('maps 429 to rate_limited, notAccepted, with Retry-After', async () => {
    await setup();
    fake.failSubmit({ status: 429, retryAfter: 7 });
    const error = await rejection(provider.submit(REQUEST));
    expect(error).toMatchObject({
      kind: 'rate_limited',
      status: 429,
      notAccepted: true,
      retryAfterMs: 7000,
      retryable: true,
    });
  });

  it('maps 500 to unavailable that may have been accepted', async () => {
    await setup();
    fake.failSubmit({ status: 500 });
    const error = await rejection(provider.submit(REQUEST));
    expect(error).toMatchObject({ kind: 'unavailable', status: 500, notAccepted: false, retryable: true });
  });

  it('does not retry a 5xx that created the task', async () => {
    await setup();
    fake.failSubmit({ status: 502, createTask: true });
    const error = await rejection(provider.submit(REQUEST));
    expect(error).toMatchObject({ kind: 'unavailable', notAccepted: false });
    expect(fake.submissions).toHaveLength(1);
    expect(fake.tasks.size).toBe(1);
  });

  it('maps a reset to network, not notAccepted, and sends once', async () => {
    await setup();
    fake.failSubmit({ reset: true, createTask: true });
    const error = await rejection(provider.submit(REQUEST));
    expect(error).toMatchObject({ kind: 'network', notAccepted: false });
    expect(fake.submissions).toHaveLength(1);
  });

  it('maps a slow answer to timeout, not notAccepted', async () => {
    await setup();
    provider = createWaveSpeedProvider({
      http,
      baseUrl: fake.baseUrl,
      apiKey: KEY,
      endpoint: 'luma/ray-2-flash-i2v',
      requestTimeoutMs: 100,
    });
    fake.failSubmit({ delayMs: 1_000 });
    const error = await rejection(provider.submit(REQUEST));
    expect(error).toMatchObject({ kind: 'timeout', notAccepted: false });
  });

  it('maps connection refused to network with notAccepted', async () => {
    await setup();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    provider = createWaveSpeedProvider({
      http,
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: KEY,
      endpoint: 'luma/ray-2-flash-i2v',
    });
    const error = await rejection(provider.submit(REQUEST));
    expect(error).toMatchObject({ kind: 'network', notAccepted: true });
  });

  it('reads insufficient balance from the message, and 400 as invalid input', async () => {
    await setup();
    // Submit faults carry no body, so the text rule is driven through poll answers, which share
    // the mapping; the 400 comes from the fake's own validation.
    const bad = await rejection(provider.submit({ ...REQUEST, prompt: '' }));
    expect(bad).toMatchObject({ kind: 'invalid_input', status: 400, notAccepted: false });
    fake.failPolls({
      status: 403,
      body: { code: 403, message: 'Insufficient balance, please top up', data: null },
    });
    const balance = await rejection(provider.poll({ id: 'x' }));
    expect(balance.kind).toBe('balance');
    fake.failSubmit({ status: 402 });
    expect(await rejection(provider.submit(REQUEST))).toMatchObject({ kind: 'balance', status: 402 });
  });

  it('reads an error envelope inside a 2xx answer', async () => {
    await setup();
    fake.failPolls({ status: 200, body: { code: 401, message: 'Unauthorized', data: null } });
    expect(await rejection(provider.poll({ id: 'x' }))).toMatchObject({ kind: 'auth', status: 401 });
  });

  it('reads a bare {error} body', async () => {
    await setup();
    fake.failPolls({ status: 400, body: { error: 'webhook callback does not support base64 output' } });
    const error = await rejection(provider.poll({ id: 'x' }));
    expect(error).toMatchObject({ kind: 'invalid_input' });
    expect(error.message).toContain('does not support base64');
  });

  it('aborts with the caller signal', async () => {
    await setup();
    fake.failSubmit({ delayMs: 1_000 });
    const controller = new AbortController();
    const pending = provider.submit(REQUEST, controller.signal);
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(pending).rejects.toThrow('stop');
  });
});

describe('poll', () => {
  it('maps created, processing and completed', async () => {
    await setup({ queuedMs: 60_000 });
    const queued = await provider.submit(REQUEST);
    expect(await provider.poll(queued)).toStrictEqual({ state: 'queued' });
    await fake.close();

    await setup({ queuedMs: 0, runMs: 60_000 });
    const ref = await provider.submit(REQUEST);
    expect(await provider.poll(ref)).toStrictEqual({ state: 'running' });
    fake.completeNow(ref.id);
    expect(await provider.poll(ref)).toStrictEqual({
      state: 'succeeded',
      videoUrl: `${fake.baseUrl}/files/${ref.id}.mp4`,
      nsfw: false,
    });
    expect(fake.polls.map((p) => p.status)).toStrictEqual(['processing', 'completed']);
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'GET',
      path: `/api/v3/predictions/${ref.id}/result`,
    });
    expect(fake.requests.at(-1)!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('follows the fake timeline to completion and serves the video', async () => {
    await setup({ queuedMs: 20, runMs: 80 });
    const ref = await provider.submit(REQUEST);
    let result: PollResult = await provider.poll(ref);
    while (result.state === 'queued' || result.state === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      result = await provider.poll(ref);
    }
    expect(result.state).toBe('succeeded');
    if (result.state !== 'succeeded') return;
    const video = await http.send({ method: 'GET', url: result.videoUrl });
    expect(video.status).toBe(200);
    expect(video.headers['content-type']).toBe('video/mp4');
    expect(video.text.slice(4, 8)).toBe('ftyp');
  });

  it('reports nsfw', async () => {
    await setup();
    fake.nextOutcome({ nsfw: true });
    const ref = await provider.submit(REQUEST);
    fake.completeNow(ref.id);
    expect(await provider.poll(ref)).toMatchObject({ state: 'succeeded', nsfw: true });
  });

  it.each([
    [1200, 'moderation'],
    [1400, 'invalid_input'],
    [1401, 'invalid_input'],
    [1402, 'invalid_input'],
    [1403, 'failed'],
    [5003, 'unavailable'],
    [5004, 'timeout'],
  ] as const)('maps task code %i to %s', async (code, kind) => {
    await setup();
    fake.nextOutcome({ status: 'failed', code, error: `boom ${code}` });
    const ref = await provider.submit(REQUEST);
    fake.completeNow(ref.id);
    const error = failedError(await provider.poll(ref));
    expect(error).toMatchObject({ kind, code, message: `boom ${code}`, requestId: ref.id });
  });

  it.each(['cancelled', 'timeout', 'deleted'] as const)('treats %s as failed', async (status) => {
    await setup();
    fake.nextOutcome({ status });
    const ref = await provider.submit(REQUEST);
    fake.completeNow(ref.id);
    expect(failedError(await provider.poll(ref)).kind).toBe('failed');
  });

  it('keeps polling on an unknown status and fails a completed task without outputs', async () => {
    await setup();
    const ref = await provider.submit(REQUEST);
    fake.failPolls(
      { status: 200, body: { code: 200, message: 'success', data: { id: ref.id, status: 'warming_up' } } },
      {
        status: 200,
        body: { code: 200, message: 'success', data: { id: ref.id, status: 'completed', outputs: [] } },
      },
    );
    expect(await provider.poll(ref)).toStrictEqual({ state: 'running' });
    expect(failedError(await provider.poll(ref)).kind).toBe('protocol');
  });

  it('maps 404 to failed protocol', async () => {
    await setup();
    const error = failedError(await provider.poll({ id: 'ffffffffffffffffffffffffffffffff' }));
    expect(error).toMatchObject({ kind: 'protocol', message: 'prediction not found' });
  });

  it('throws retryable errors for 502, 429 with Retry-After, and a reset', async () => {
    await setup();
    const ref = await provider.submit(REQUEST);
    fake.failPolls({ status: 502, retryAfter: 3 }, { status: 429, retryAfter: '2' }, { reset: true });
    const e502 = await rejection(provider.poll(ref));
    expect(e502).toMatchObject({ kind: 'unavailable', status: 502, retryAfterMs: 3000, retryable: true });
    const e429 = await rejection(provider.poll(ref));
    expect(e429).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 2000, retryable: true });
    const reset = await rejection(provider.poll(ref));
    expect(reset).toMatchObject({ kind: 'network', retryable: true });
    expect(['queued', 'running', 'succeeded']).toContain((await provider.poll(ref)).state);
    expect(fake.polls.map((p) => p.answered)).toStrictEqual([502, 429, 0, 200]);
  });

  it('an answer over the body cap is a protocol error, not retried', async () => {
    await setup();
    fake.failPolls({ status: 200, body: { code: 200, data: { status: 'x'.repeat(2 * 1024 * 1024) } } });
    const error = await rejection(provider.poll({ id: 'x' }));
    expect(error).toMatchObject({ kind: 'protocol', status: 200, retryable: false, notAccepted: false });
    expect(error.message).toContain('1048576');
  });

  it('keeps a held task processing until released', async () => {
    await setup({ queuedMs: 0, runMs: 10 });
    fake.hold();
    const ref = await provider.submit(REQUEST);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(await provider.poll(ref)).toStrictEqual({ state: 'running' });
    fake.release(ref.id);
    expect(await provider.poll(ref)).toMatchObject({ state: 'succeeded' });
  });

  it('redacts the key if the server echoes it', async () => {
    await setup();
    fake.failPolls({ status: 400, body: { code: 400, message: `bad token Bearer ${KEY}`, data: null } });
    const error = await rejection(provider.poll({ id: 'x' }));
    expect(error.kind).toBe('invalid_input');
    expect(error.message).toContain('[redacted]');
  });

  it('cancel resolves without a request', async () => {
    await setup();
    await provider.cancel({ id: 'abc' });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('upload', () => {
  const image = {
    bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]),
    contentType: 'image/png',
    filename: 'cat.png',
  };

  it('uses the ticket flow with no Authorization on the PUT', async () => {
    await setup();
    const url = await provider.upload(image);
    expect(fake.uploads).toHaveLength(1);
    expect(fake.uploads[0]).toMatchObject({ filename: 'cat.png', contentType: 'image/png', url });
    expect([...fake.uploads[0]!.bytes]).toStrictEqual([...image.bytes]);
    const [ticket, put] = fake.requests;
    expect(ticket).toMatchObject({ method: 'POST', path: '/api/v3/media/uploads' });
    expect(ticket!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(put!.method).toBe('PUT');
    expect(put!.headers.authorization).toBeUndefined();
    expect(put!.headers['content-type']).toBe('image/png');
    const back = await http.send({ method: 'GET', url });
    expect(back.status).toBe(200);
  });

  it('falls back to the binary multipart upload when the ticket endpoint is missing', async () => {
    await setup({ uploadTicket: false });
    const url = await provider.upload(image);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toStrictEqual([
      'POST /api/v3/media/uploads',
      'POST /api/v3/media/upload/binary',
    ]);
    expect(fake.requests[1]!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(fake.uploads[0]).toMatchObject({ filename: 'cat.png', contentType: 'image/png', url });
    expect([...fake.uploads[0]!.bytes]).toStrictEqual([...image.bytes]);
  });

  it('refuses images over 20 MB without a request', async () => {
    await setup();
    const big = { ...image, bytes: new Uint8Array(20 * 1024 * 1024 + 1) };
    const error = await rejection(provider.upload(big));
    expect(error.kind).toBe('invalid_input');
    expect(fake.requests).toHaveLength(0);
  });

  it('maps a 401 on the ticket to auth', async () => {
    await setup();
    provider = createWaveSpeedProvider({
      http,
      baseUrl: fake.baseUrl,
      apiKey: 'nope',
      endpoint: 'luma/ray-2-flash-i2v',
    });
    expect((await rejection(provider.upload(image))).kind).toBe('auth');
  });
});
