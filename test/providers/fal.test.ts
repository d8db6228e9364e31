// The fal provider against the fake fal on loopback (and undici's MockAgent for answers the
// fake never gives): wire bodies, the queue state machine, error classification, upload, redaction.
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttp, type Http } from '../../src/net/http.js';
import { ProviderError } from '../../src/providers/errors.js';
import { createFalProvider, type FalProviderOptions } from '../../src/providers/fal.js';
import type {
  AspectRatio,
  PollResult,
  ProviderJobRef,
  VideoProvider,
  VideoRequest,
} from '../../src/providers/types.js';
import { FAKE_MP4, startFakeFal, type FakeFal, type FakeFalOptions } from '../fakes/fal.js';

const KEY = 'fal-test-key';
const APP_PATH = '/fal-ai/luma-dream-machine/requests';
const REQUEST: VideoRequest = {
  prompt: 'a cat turns its head',
  imageUrl: 'https://cdn.example/cat.png',
  aspectRatio: '16:9',
  durationSeconds: 5,
};

let http: Http;
const fakes: FakeFal[] = [];

beforeEach(() => {
  http = createHttp();
});

afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
  await http.close();
});

async function setup(
  fakeOpts: FakeFalOptions = {},
  providerOpts: Partial<FalProviderOptions> = {},
): Promise<{ fake: FakeFal; fal: VideoProvider }> {
  const fake = await startFakeFal(fakeOpts);
  fakes.push(fake);
  const fal = createFalProvider({
    http,
    queueUrl: fake.queueUrl,
    storageUrl: fake.storageUrl,
    apiKey: fakeOpts.apiKey ?? KEY,
    ...providerOpts,
  });
  return { fake, fal };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pollUntil(
  fal: VideoProvider,
  ref: ProviderJobRef,
  states: PollResult['state'][],
): Promise<PollResult> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const r = await fal.poll(ref);
    if (states.includes(r.state)) return r;
    if (Date.now() > deadline) throw new Error(`still ${r.state}`);
    await sleep(15);
  }
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

function failure(r: PollResult): ProviderError {
  if (r.state !== 'failed') throw new Error(`expected failed, got ${r.state}`);
  return r.error;
}

describe('fal submit', () => {
  it('sends a portrait 10 s request as 9:16 and "9s", with Key auth, and keeps the returned URLs', async () => {
    const { fake, fal } = await setup();
    const ref = await fal.submit({ ...REQUEST, aspectRatio: '9:16', durationSeconds: 10 });

    expect(fake.submissions).toHaveLength(1);
    const sub = fake.submissions[0]!;
    expect(sub.endpoint).toBe('fal-ai/luma-dream-machine/ray-2-flash/image-to-video');
    expect(sub.body).toStrictEqual({
      prompt: REQUEST.prompt,
      image_url: REQUEST.imageUrl,
      aspect_ratio: '9:16',
      duration: '9s',
    });
    expect(sub.headers).toMatchObject({
      authorization: `Key ${KEY}`,
      accept: 'application/json',
      'content-type': 'application/json',
    });
    const base = `${fake.queueUrl}${APP_PATH}/${sub.requestId}`;
    expect(ref).toStrictEqual({
      id: sub.requestId,
      statusUrl: `${base}/status`,
      resultUrl: base,
      cancelUrl: `${base}/cancel`,
    });
  });

  it('sends resolution, loop and end image only when set', async () => {
    const { fake, fal } = await setup();
    await fal.submit({
      ...REQUEST,
      resolution: '720p',
      loop: true,
      endImageUrl: 'https://cdn.example/end.png',
    });
    await fal.submit({ ...REQUEST, loop: false });

    expect(fake.submissions.map((s) => s.body)).toStrictEqual([
      {
        prompt: REQUEST.prompt,
        image_url: REQUEST.imageUrl,
        aspect_ratio: '16:9',
        duration: '5s',
        resolution: '720p',
        loop: true,
        end_image_url: 'https://cdn.example/end.png',
      },
      {
        prompt: REQUEST.prompt,
        image_url: REQUEST.imageUrl,
        aspect_ratio: '16:9',
        duration: '5s',
        loop: false,
      },
    ]);
  });

  it('a 429 is rate_limited, not accepted, with Retry-After', async () => {
    const { fake, fal } = await setup();
    fake.failSubmit({ status: 429, retryAfter: 7 });
    const err = await rejection(fal.submit(REQUEST));
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, notAccepted: true, retryAfterMs: 7000 });
    expect(err.retryable).toBe(true);
  });

  it('a 500 after the task was created is unavailable and may have been accepted; one submission only', async () => {
    const { fake, fal } = await setup();
    fake.failSubmit({ status: 500, createTask: true });
    const err = await rejection(fal.submit(REQUEST));
    expect(err).toMatchObject({
      kind: 'unavailable',
      status: 500,
      notAccepted: false,
      code: 'internal_error',
    });
    expect(fake.submissions).toHaveLength(1);
    expect(fake.submissions[0]!.requestId).toBeDefined();
  });

  it('a reset is a network error that may have been accepted', async () => {
    const { fake, fal } = await setup();
    fake.failSubmit({ reset: true, createTask: true });
    const err = await rejection(fal.submit(REQUEST));
    expect(err).toMatchObject({ kind: 'network', notAccepted: false });
    expect(fake.submissions).toHaveLength(1);
  });

  it('a refused connection is not accepted', async () => {
    const { fake, fal } = await setup();
    await fake.close();
    fakes.splice(fakes.indexOf(fake), 1);
    const err = await rejection(fal.submit(REQUEST));
    expect(err).toMatchObject({ kind: 'network', notAccepted: true });
  });

  it('maps 401, 402, 422 and a content-policy 422', async () => {
    const { fake, fal } = await setup();
    fake.failSubmit({ status: 402, body: { detail: 'Insufficient balance' } });
    expect(await rejection(fal.submit(REQUEST))).toMatchObject({ kind: 'balance', status: 402 });

    const bad = await rejection(fal.submit({ ...REQUEST, aspectRatio: '1:1' as AspectRatio }));
    expect(bad).toMatchObject({ kind: 'invalid_input', status: 422, notAccepted: false });
    expect(bad.message).toContain('enumeration');

    fake.failSubmit({
      status: 422,
      body: { detail: [{ loc: ['body', 'prompt'], msg: 'flagged', type: 'content_policy_violation' }] },
    });
    expect(await rejection(fal.submit(REQUEST))).toMatchObject({ kind: 'moderation', status: 422 });

    const wrongKey = createFalProvider({
      http,
      queueUrl: fake.queueUrl,
      storageUrl: fake.storageUrl,
      apiKey: 'nope',
    });
    expect(await rejection(wrongKey.submit(REQUEST))).toMatchObject({ kind: 'auth', status: 401 });
  });

  it('reads X-Fal-Error-Type into code and x-fal-request-id into requestId', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent
      .get('https://queue.test')
      .intercept({ path: '/fal-ai/luma-dream-machine/ray-2-flash/image-to-video', method: 'POST' })
      .reply(
        503,
        { detail: 'No runner' },
        { headers: { 'x-fal-error-type': 'runner_scheduling_failure', 'x-fal-request-id': 'r-1' } },
      );
    const mocked = createHttp({ dispatcher: agent });
    const fal = createFalProvider({
      http: mocked,
      queueUrl: 'https://queue.test',
      storageUrl: 'https://rest.test',
      apiKey: KEY,
    });
    const err = await rejection(fal.submit(REQUEST));
    expect(err).toMatchObject({ kind: 'unavailable', code: 'runner_scheduling_failure', requestId: 'r-1' });
    expect(err.message).toContain('No runner');
    await mocked.close();
  });
});

describe('fal poll', () => {
  it('never follows a queue URL on another host (the key goes with it): rebuilds it on the queue base', async () => {
    const { fake, fal } = await setup();
    const ref = await fal.submit(REQUEST);
    const elsewhere = 'http://127.0.0.2:9/steal';
    const done = await pollUntil(
      fal,
      { ...ref, statusUrl: elsewhere, resultUrl: elsewhere, cancelUrl: elsewhere },
      ['succeeded', 'failed'],
    );
    expect(done).toMatchObject({ state: 'succeeded' });
    expect(fake.statusPolls.length).toBeGreaterThan(0);
    expect(fake.resultFetches).toHaveLength(1);
  });

  it('reports the queue position while IN_QUEUE', async () => {
    const { fal } = await setup({ queuedMs: 10_000, queueAhead: 2 });
    const ref = await fal.submit(REQUEST);
    expect(await fal.poll(ref)).toStrictEqual({ state: 'queued', position: 2 });
  });

  it('goes running → succeeded, fetching the result once, with logs=0', async () => {
    const { fake, fal } = await setup();
    fake.hold();
    const ref = await fal.submit(REQUEST);
    expect(await pollUntil(fal, ref, ['running'])).toStrictEqual({ state: 'running' });
    fake.release(ref.id);
    const done = await pollUntil(fal, ref, ['succeeded', 'failed']);
    expect(done).toStrictEqual({
      state: 'succeeded',
      videoUrl: `${fake.queueUrl}/files/${ref.id}.mp4`,
      nsfw: false,
    });

    expect(fake.resultFetches).toStrictEqual([expect.objectContaining({ id: ref.id, answered: 200 })]);
    const statusPaths = fake.requests.filter((r) => r.path.includes('/status')).map((r) => r.path);
    expect(statusPaths.every((p) => p.endsWith('/status?logs=0'))).toBe(true);
    expect(fake.statusPolls.map((p) => p.status)).toContain('IN_PROGRESS');

    const video = await http.send({ method: 'GET', url: done.state === 'succeeded' ? done.videoUrl : '' });
    expect(video.status).toBe(200);
    expect(video.headers['content-type']).toBe('video/mp4');
    expect(video.text).toBe(FAKE_MP4.toString('utf8'));
    expect(video.text.slice(4, 8)).toBe('ftyp');
  });

  it('follows the URLs fal returned instead of rebuilding them from the model id', async () => {
    const { fake, fal } = await setup({ urlPrefix: '/elsewhere/v9' });
    const ref = await fal.submit(REQUEST);
    expect(ref.statusUrl).toBe(`${fake.queueUrl}/elsewhere/v9${APP_PATH}/${ref.id}/status`);
    expect(await pollUntil(fal, ref, ['succeeded', 'failed'])).toMatchObject({ state: 'succeeded' });
    await fal.cancel(ref);

    const afterSubmit = fake.requests.slice(1);
    expect(afterSubmit.length).toBeGreaterThan(2);
    expect(
      afterSubmit.every((r) => r.path.startsWith('/elsewhere/v9/fal-ai/luma-dream-machine/requests/')),
    ).toBe(true);
  });

  it('keeps a query the status URL already has, and falls back to owner/alias URLs for a bare id', async () => {
    const { fake, fal } = await setup({ queuedMs: 10_000 });
    const ref = await fal.submit(REQUEST);
    expect(await fal.poll({ ...ref, statusUrl: `${ref.statusUrl}?region=eu` })).toMatchObject({
      state: 'queued',
    });
    expect(fake.requests.at(-1)!.path).toBe(`${APP_PATH}/${ref.id}/status?region=eu&logs=0`);

    expect(await fal.poll({ id: ref.id })).toMatchObject({ state: 'queued' });
    expect(fake.requests.at(-1)!.path).toBe(`${APP_PATH}/${ref.id}/status?logs=0`);
  });

  it('COMPLETED with a 422 result fails with the provider reason', async () => {
    const { fake, fal } = await setup({ runMs: 20 });
    fake.nextOutcome({ result422: { msg: 'Image is too small', type: 'image_too_small' } });
    const err = failure(await pollUntil(fal, await fal.submit(REQUEST), ['succeeded', 'failed']));
    expect(err).toMatchObject({ kind: 'invalid_input', status: 422 });
    expect(err.message).toContain('Image is too small');
  });

  it('COMPLETED with a 500 result is a final unavailable failure', async () => {
    const { fake, fal } = await setup({ runMs: 20 });
    fake.nextOutcome({ result5xx: { status: 500, errorType: 'runner_server_error' } });
    const err = failure(await pollUntil(fal, await fal.submit(REQUEST), ['succeeded', 'failed']));
    expect(err).toMatchObject({ kind: 'unavailable', status: 500, code: 'runner_server_error' });
    expect(err.message).toContain('Internal server error');
  });

  it('a passing 5xx, 429, timeout or reset on the result call throws retryable, and the next poll gets the video', async () => {
    const { fake, fal } = await setup({ runMs: 20 }, { requestTimeoutMs: 300 });
    const ref = await fal.submit(REQUEST);
    fake.failResult(
      { status: 502, retryAfter: 2 },
      { status: 503 },
      { status: 500 },
      { status: 504 },
      { status: 429, retryAfter: '1' },
      { reset: true },
      { delayMs: 1_000 },
    );
    expect(await pollUntil(fal, ref, ['succeeded', 'failed']).catch((e: unknown) => e)).toMatchObject({
      kind: 'unavailable',
      status: 502,
      retryAfterMs: 2000,
      retryable: true,
    });
    expect(await rejection(fal.poll(ref))).toMatchObject({
      kind: 'unavailable',
      status: 503,
      retryable: true,
    });
    expect(await rejection(fal.poll(ref))).toMatchObject({
      kind: 'unavailable',
      status: 500,
      retryable: true,
    });
    expect(await rejection(fal.poll(ref))).toMatchObject({ kind: 'timeout', status: 504, retryable: true });
    expect(await rejection(fal.poll(ref))).toMatchObject({
      kind: 'rate_limited',
      status: 429,
      retryAfterMs: 1000,
      retryable: true,
    });
    expect(await rejection(fal.poll(ref))).toMatchObject({ kind: 'network', retryable: true });
    expect(await rejection(fal.poll(ref))).toMatchObject({ kind: 'timeout', retryable: true });

    expect(await fal.poll(ref)).toStrictEqual({
      state: 'succeeded',
      videoUrl: `${fake.queueUrl}/files/${ref.id}.mp4`,
      nsfw: false,
    });
    const answered = fake.resultFetches.map((f) => f.answered);
    expect(answered).toHaveLength(8);
    expect(answered.slice(0, 6)).toStrictEqual([502, 503, 500, 504, 429, 0]);
    expect(answered.at(-1)).toBe(200);
  });

  it('a 5xx result naming a fal error type stays final', async () => {
    const { fake, fal } = await setup({ runMs: 20 });
    const ref = await fal.submit(REQUEST);
    fake.failResult({ status: 503, body: { detail: 'No runner', error_type: 'runner_disconnected' } });
    const err = failure(await pollUntil(fal, ref, ['succeeded', 'failed']));
    expect(err).toMatchObject({ status: 503, code: 'runner_disconnected' });
    expect(fake.resultFetches).toHaveLength(1);
  });

  it('a result over the body cap is a protocol error, not retried', async () => {
    const { fake, fal } = await setup({ runMs: 20 });
    const ref = await fal.submit(REQUEST);
    fake.failResult({
      status: 200,
      body: { video: { url: `https://cdn.example/${'x'.repeat(2 * 1024 * 1024)}` } },
    });
    const error = await pollUntil(fal, ref, ['succeeded', 'failed']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'protocol', status: 200, retryable: false });
    expect((error as ProviderError).message).toContain('1048576');
  });

  it('content_policy_violation is moderation, in the result or on the COMPLETED status', async () => {
    const { fake, fal } = await setup({ runMs: 20 });
    fake.nextOutcome({ result422: { type: 'content_policy_violation', msg: 'flagged' } });
    const fromResult = failure(await pollUntil(fal, await fal.submit(REQUEST), ['succeeded', 'failed']));
    expect(fromResult).toMatchObject({ kind: 'moderation', status: 422 });

    fake.nextOutcome({
      completedError: { error: 'flagged by the filter', errorType: 'content_policy_violation' },
    });
    const fetchesBefore = fake.resultFetches.length;
    const fromStatus = failure(await pollUntil(fal, await fal.submit(REQUEST), ['succeeded', 'failed']));
    expect(fromStatus).toMatchObject({ kind: 'moderation', code: 'content_policy_violation' });
    expect(fromStatus.message).toContain('flagged by the filter');
    expect(fake.resultFetches).toHaveLength(fetchesBefore);
  });

  it('COMPLETED with another error fails with it', async () => {
    const { fake, fal } = await setup({ runMs: 20 });
    fake.nextOutcome({ completedError: { error: 'Runner disconnected', errorType: 'runner_disconnected' } });
    const err = failure(await pollUntil(fal, await fal.submit(REQUEST), ['succeeded', 'failed']));
    expect(err).toMatchObject({ kind: 'failed', code: 'runner_disconnected' });
    expect(err.retryable).toBe(false);
  });

  it('429, 5xx and resets on status throw retryable errors with retryAfterMs', async () => {
    const { fake, fal } = await setup({ queuedMs: 10_000 });
    const ref = await fal.submit(REQUEST);
    fake.failStatus(
      { status: 429, retryAfter: 3 },
      { status: 502, retryAfter: '1' },
      { status: 503 },
      { reset: true },
    );

    const limited = await rejection(fal.poll(ref));
    expect(limited).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 3000, retryable: true });
    const bad = await rejection(fal.poll(ref));
    expect(bad).toMatchObject({ kind: 'unavailable', status: 502, retryAfterMs: 1000, retryable: true });
    const down = await rejection(fal.poll(ref));
    expect(down).toMatchObject({
      kind: 'unavailable',
      status: 503,
      retryAfterMs: undefined,
      retryable: true,
    });
    const reset = await rejection(fal.poll(ref));
    expect(reset).toMatchObject({ kind: 'network', retryable: true });
    expect(await fal.poll(ref)).toMatchObject({ state: 'queued' });
  });

  it('a plain 504 is a retryable timeout; a user-timeout 504 is final', async () => {
    const { fake, fal } = await setup({ queuedMs: 10_000 });
    const ref = await fal.submit(REQUEST);
    fake.failStatus({ status: 504 }, { status: 504, userTimeout: true });
    expect(await rejection(fal.poll(ref))).toMatchObject({ kind: 'timeout', retryable: true });
    const final = await rejection(fal.poll(ref));
    expect(final).toMatchObject({ kind: 'failed', code: 'request_timeout', status: 504, retryable: false });
  });

  it('a slow status answer times out; an aborted signal stops the call', async () => {
    const { fake, fal } = await setup({ queuedMs: 10_000 }, { requestTimeoutMs: 100 });
    const ref = await fal.submit(REQUEST);
    fake.failStatus({ delayMs: 1_000 });
    expect(await rejection(fal.poll(ref))).toMatchObject({ kind: 'timeout', retryable: true });
    const aborted = fal.poll(ref, AbortSignal.abort());
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('an unknown request is a protocol failure', async () => {
    const { fake, fal } = await setup();
    const base = `${fake.queueUrl}${APP_PATH}/missing`;
    const err = failure(await fal.poll({ id: 'missing', statusUrl: `${base}/status`, resultUrl: base }));
    expect(err).toMatchObject({ kind: 'protocol', status: 404 });
  });

  it('an unknown status string fails as protocol; a submit answer without URLs falls back to owner/alias', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const pool = agent.get('https://queue.test');
    pool
      .intercept({ path: '/fal-ai/luma-dream-machine/ray-2-flash/image-to-video', method: 'POST' })
      .reply(200, { status: 'IN_QUEUE', request_id: 'abc' });
    pool
      .intercept({ path: '/fal-ai/luma-dream-machine/requests/abc/status?logs=0', method: 'GET' })
      .reply(200, { status: 'FAILED' });
    const mocked = createHttp({ dispatcher: agent });
    const fal = createFalProvider({
      http: mocked,
      queueUrl: 'https://queue.test/',
      storageUrl: 'https://rest.test',
      apiKey: KEY,
    });
    const ref = await fal.submit(REQUEST);
    const base = 'https://queue.test/fal-ai/luma-dream-machine/requests/abc';
    expect(ref).toStrictEqual({
      id: 'abc',
      statusUrl: `${base}/status`,
      resultUrl: base,
      cancelUrl: `${base}/cancel`,
    });
    const err = failure(await fal.poll(ref));
    expect(err.kind).toBe('protocol');
    expect(err.message).toContain('FAILED');
    await mocked.close();
  });
  it('reads a 202 from the result call as still running', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const pool = agent.get('https://queue.test');
    pool.intercept({ path: '/r/1/status?logs=0', method: 'GET' }).reply(200, { status: 'COMPLETED' });
    pool.intercept({ path: '/r/1', method: 'GET' }).reply(202, { status: 'IN_PROGRESS' });
    const mocked = createHttp({ dispatcher: agent });
    const fal = createFalProvider({
      http: mocked,
      queueUrl: 'https://queue.test',
      storageUrl: 'https://rest.test',
      apiKey: KEY,
    });
    const ref = { id: '1', statusUrl: 'https://queue.test/r/1/status', resultUrl: 'https://queue.test/r/1' };
    expect(await fal.poll(ref)).toStrictEqual({ state: 'running' });
    await mocked.close();
  });
});

describe('fal cancel', () => {
  it('resolves on 202 CANCELLATION_REQUESTED, 400 ALREADY_COMPLETED and 404 NOT_FOUND', async () => {
    const { fake, fal } = await setup({ runMs: 20 });
    fake.hold();
    const running = await fal.submit(REQUEST);
    await fal.cancel(running);
    expect(failure(await pollUntil(fal, running, ['succeeded', 'failed']))).toMatchObject({
      kind: 'failed',
      code: 'client_cancelled',
    });

    const done = await fal.submit(REQUEST);
    await pollUntil(fal, done, ['succeeded']);
    await fal.cancel(done);
    await fal.cancel({ id: 'missing' });

    expect(fake.cancels).toStrictEqual([running.id, done.id, 'missing']);
    const answered = fake.requests.filter((r) => r.method === 'PUT');
    expect(answered).toHaveLength(3);
  });

  it('throws on other failures', async () => {
    const { fake } = await setup();
    const wrongKey = createFalProvider({
      http,
      queueUrl: fake.queueUrl,
      storageUrl: fake.storageUrl,
      apiKey: 'nope',
    });
    expect(await rejection(wrongKey.cancel({ id: 'x' }))).toMatchObject({ kind: 'auth', status: 401 });
  });
});

describe('fal upload', () => {
  it('initiates with the key, PUTs the bytes without it, and returns file_url', async () => {
    const { fake, fal } = await setup();
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const url = await fal.upload({ bytes, contentType: 'image/png', filename: 'cat.png' });

    expect(fake.uploads).toStrictEqual([
      { fileName: 'cat.png', contentType: 'image/png', bytes: Buffer.from(bytes), url },
    ]);
    const initiate = fake.requests.find((r) => r.method === 'POST')!;
    expect(initiate.path).toBe('/storage/upload/initiate?storage_type=fal-cdn-v3');
    expect(initiate.headers.authorization).toBe(`Key ${KEY}`);
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    expect(put.headers.authorization).toBeUndefined();
    expect(put.headers['content-type']).toBe('image/png');

    const served = await http.send({ method: 'GET', url });
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toBe('image/png');
  });

  it('refuses an image over 20 MB without a request', async () => {
    const { fake, fal } = await setup();
    const err = await rejection(
      fal.upload({
        bytes: new Uint8Array(20 * 1024 * 1024 + 1),
        contentType: 'image/png',
        filename: 'big.png',
      }),
    );
    expect(err.kind).toBe('invalid_input');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('fal key hygiene', () => {
  it('never puts the key in an error message or log fields', async () => {
    const secret = 'fal-secret-KEY-0123456789';
    const { fake, fal } = await setup({ apiKey: secret });
    fake.failSubmit({ status: 400, body: { detail: `bad header Authorization: Key ${secret}` } });
    const echoed = await rejection(fal.submit(REQUEST));
    const wrong = createFalProvider({
      http,
      queueUrl: fake.queueUrl,
      storageUrl: fake.storageUrl,
      apiKey: `${secret}-x`,
    });
    const refused = await rejection(wrong.submit(REQUEST));
    const ref = await fal.submit(REQUEST);
    fake.failStatus({ status: 500 }, { reset: true });
    const down = await rejection(fal.poll(ref));
    const reset = await rejection(fal.poll(ref));

    for (const err of [echoed, refused, down, reset]) {
      expect(err.message).not.toContain(secret);
      expect(JSON.stringify(err.toLog())).not.toContain(secret);
      expect(String(err)).not.toContain(secret);
    }
    expect(echoed.message).toContain('[redacted]');
  });
});
