// One contract for every VideoProvider, run against each client and its fake on loopback: the
// engine relies on exactly these behaviours (states, typed errors, `notAccepted`, `retryable`,
// uploads that serve the same bytes, a cancel that resolves, a key that never leaks).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { download } from '../../src/net/download.js';
import { createHttp, type Http } from '../../src/net/http.js';
import { ProviderError } from '../../src/providers/errors.js';
import { createFalProvider } from '../../src/providers/fal.js';
import type { PollResult, ProviderJobRef, VideoProvider, VideoRequest } from '../../src/providers/types.js';
import { createWaveSpeedProvider } from '../../src/providers/wavespeed.js';
import { startFakeFal } from '../fakes/fal.js';
import { startFakeWaveSpeed } from '../fakes/wavespeed.js';

const KEY = 'contract-key-5f2c9e7a1b';
const WRONG_KEY = 'wrong-key-0d4e8a6c3f';
/** A real 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
/** Something that sniffs as an mp4, distinct from either fake's default. */
const VIDEO = Buffer.concat([
  Buffer.from([0, 0, 0, 0x18]),
  Buffer.from('ftypisom', 'latin1'),
  Buffer.from([0, 0, 2, 0]),
  Buffer.from('isomavc1', 'latin1'),
  Buffer.from([0, 0, 0, 16]),
  Buffer.from('mdatcontract', 'latin1'),
]);
const REQUEST: VideoRequest = {
  prompt: 'a cat turns its head',
  imageUrl: 'https://cdn.example/cat.png',
  aspectRatio: '16:9',
  durationSeconds: 5,
};
/** Long enough phases that a poll every few ms sees both queued and running. */
const TIMING = { queuedMs: 150, runMs: 300 };

type SubmitFault = { status: number } | { reset: true };

/** A provider client, its fake, and the fake's knobs in the words the contract needs. */
interface Subject {
  provider: VideoProvider;
  /** The same client with other settings (a wrong key, an address where nothing listens). */
  variant(opts: { apiKey?: string; baseUrl?: string }): VideoProvider;
  failNextSubmit(fault: SubmitFault): void;
  failNextPoll(fault: { status: number; retryAfter?: number }): void;
  /** The next task is refused under the provider's content policy. */
  moderateNextTask(): void;
  /** Arms an error answer whose body repeats the key; returns the call that meets it. */
  keyEchoingFailure(): () => Promise<unknown>;
  close(): Promise<void>;
}

interface Backend {
  name: 'wavespeed' | 'fal';
  start(http: Http): Promise<Subject>;
}

const backends: Backend[] = [
  {
    name: 'wavespeed',
    async start(http) {
      const fake = await startFakeWaveSpeed({ apiKey: KEY, videoBytes: VIDEO, ...TIMING });
      const make = (opts: { apiKey?: string; baseUrl?: string }) =>
        createWaveSpeedProvider({
          http,
          baseUrl: opts.baseUrl ?? fake.baseUrl,
          apiKey: opts.apiKey ?? KEY,
          endpoint: 'luma/ray-2-flash-i2v',
          requestTimeoutMs: 3_000,
        });
      const provider = make({});
      return {
        provider,
        variant: make,
        failNextSubmit: (fault) => fake.failSubmit(fault),
        failNextPoll: (fault) => fake.failPolls(fault),
        moderateNextTask: () =>
          fake.nextOutcome({ status: 'failed', code: 1200, error: 'Content moderation failed' }),
        keyEchoingFailure() {
          fake.failPolls({ status: 500, body: { code: 500, message: `bad token ${KEY}`, data: null } });
          return () => provider.poll({ id: 'any' });
        },
        close: () => fake.close(),
      };
    },
  },
  {
    name: 'fal',
    async start(http) {
      const fake = await startFakeFal({ apiKey: KEY, videoBytes: VIDEO, ...TIMING });
      const make = (opts: { apiKey?: string; baseUrl?: string }) =>
        createFalProvider({
          http,
          queueUrl: opts.baseUrl ?? fake.queueUrl,
          storageUrl: opts.baseUrl ?? fake.storageUrl,
          apiKey: opts.apiKey ?? KEY,
          requestTimeoutMs: 3_000,
        });
      const provider = make({});
      return {
        provider,
        variant: make,
        failNextSubmit: (fault) => fake.failSubmit(fault),
        failNextPoll: (fault) => fake.failStatus(fault),
        moderateNextTask: () =>
          fake.nextOutcome({ result422: { type: 'content_policy_violation', msg: 'flagged' } }),
        keyEchoingFailure() {
          fake.failSubmit({ status: 500, body: { detail: `bad token ${KEY}` } });
          return () => provider.submit(REQUEST);
        },
        close: () => fake.close(),
      };
    },
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on: bound, then released. */
async function deadBaseUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe.each(backends)('VideoProvider contract: $name', (backend) => {
  let http: Http;
  let subject: Subject;
  /** Every ProviderError the test met, checked for the keys afterwards. */
  let seen: ProviderError[];

  beforeEach(async () => {
    http = createHttp();
    subject = await backend.start(http);
    seen = [];
  });

  afterEach(async () => {
    for (const error of seen) {
      for (const key of [KEY, WRONG_KEY]) {
        expect(error.message).not.toContain(key);
        expect(JSON.stringify(error.toLog())).not.toContain(key);
        expect(String(error)).not.toContain(key);
      }
    }
    await subject.close();
    await http.close();
  });

  async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    const typed = error as ProviderError;
    expect(typed.provider).toBe(backend.name);
    seen.push(typed);
    return typed;
  }

  /** Polls every few ms until the job ends; returns every result seen. */
  async function pollToEnd(ref: ProviderJobRef): Promise<PollResult[]> {
    const seenStates: PollResult[] = [];
    const deadline = Date.now() + 5_000;
    for (;;) {
      const result = await subject.provider.poll(ref);
      seenStates.push(result);
      if (result.state === 'succeeded' || result.state === 'failed') return seenStates;
      if (Date.now() > deadline) throw new Error(`still ${result.state} after 5 s`);
      await sleep(10);
    }
  }

  async function bytesAt(url: string): Promise<Buffer> {
    const got = await download(http, url, { maxBytes: 1024 * 1024, timeoutMs: 5_000 });
    if (!got.ok) throw new Error(`download of ${url} failed: ${got.reason}`);
    return Buffer.from(got.bytes);
  }

  it('submit, then polls go queued → running → succeeded with a URL that serves the video', async () => {
    const ref = await subject.provider.submit(REQUEST);
    expect(ref.id).not.toBe('');
    const results = await pollToEnd(ref);
    const states = results.map((r) => r.state);
    expect(states[0]).toBe('queued');
    expect(states).toContain('running');
    // Never back to queued once running.
    expect(states.slice(states.indexOf('running'))).not.toContain('queued');
    const last = results.at(-1);
    if (last?.state !== 'succeeded') throw new Error(`ended ${last?.state}`);
    expect(last.nsfw).toBe(false);
    expect((await bytesAt(last.videoUrl)).equals(VIDEO)).toBe(true);
  });

  it('a task the provider fails ends as { state: "failed" } with a typed error', async () => {
    subject.moderateNextTask();
    const ref = await subject.provider.submit(REQUEST);
    const last = (await pollToEnd(ref)).at(-1);
    if (last?.state !== 'failed') throw new Error(`ended ${last?.state}`);
    expect(last.error).toBeInstanceOf(ProviderError);
    expect(last.error.provider).toBe(backend.name);
    expect(last.error.kind).toBe('moderation');
    expect(last.error.retryable).toBe(false);
    seen.push(last.error);
  });

  it('a 429 on submit is notAccepted and retryable', async () => {
    subject.failNextSubmit({ status: 429 });
    const error = await rejection(subject.provider.submit(REQUEST));
    expect(error.kind).toBe('rate_limited');
    expect(error.status).toBe(429);
    expect(error.notAccepted).toBe(true);
    expect(error.retryable).toBe(true);
  });

  it.each([500, 502, 503])('a %i on submit is not notAccepted: the task may exist', async (status) => {
    subject.failNextSubmit({ status });
    const error = await rejection(subject.provider.submit(REQUEST));
    expect(error.status).toBe(status);
    expect(error.notAccepted).toBe(false);
    expect(error.kind).toBe('unavailable');
  });

  it('a connection reset on submit is not notAccepted', async () => {
    subject.failNextSubmit({ reset: true });
    const error = await rejection(subject.provider.submit(REQUEST));
    expect(error.notAccepted).toBe(false);
  });

  it('a refused connection on submit is notAccepted and retryable', async () => {
    const provider = subject.variant({ baseUrl: await deadBaseUrl() });
    const error = await rejection(provider.submit(REQUEST));
    expect(error.notAccepted).toBe(true);
    expect(error.retryable).toBe(true);
  });

  it('a poll answered 502 throws a retryable ProviderError', async () => {
    const ref = await subject.provider.submit(REQUEST);
    subject.failNextPoll({ status: 502 });
    const error = await rejection(subject.provider.poll(ref));
    expect(error.status).toBe(502);
    expect(error.retryable).toBe(true);
    // The job itself is fine: the next poll answers normally.
    expect(['queued', 'running']).toContain((await subject.provider.poll(ref)).state);
  });

  it('a poll answered 429 with Retry-After throws a retryable error carrying the delay', async () => {
    const ref = await subject.provider.submit(REQUEST);
    subject.failNextPoll({ status: 429, retryAfter: 2 });
    const error = await rejection(subject.provider.poll(ref));
    expect(error.kind).toBe('rate_limited');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(2000);
  });

  it('upload returns a URL that serves the same bytes', async () => {
    const url = await subject.provider.upload({ bytes: PNG, contentType: 'image/png', filename: 'cat.png' });
    expect(url).toMatch(/^https?:\/\//);
    expect((await bytesAt(url)).equals(PNG)).toBe(true);
  });

  it('cancel resolves, for a running job and for one already finished', async () => {
    const running = await subject.provider.submit(REQUEST);
    await expect(subject.provider.cancel(running)).resolves.toBeUndefined();

    const done = await subject.provider.submit(REQUEST);
    expect((await pollToEnd(done)).at(-1)?.state).toBe('succeeded');
    await expect(subject.provider.cancel(done)).resolves.toBeUndefined();
  });

  it('a refused key is an auth error that does not name the key', async () => {
    const provider = subject.variant({ apiKey: WRONG_KEY });
    const error = await rejection(provider.submit(REQUEST));
    expect(error.kind).toBe('auth');
    expect(error.retryable).toBe(false);
  });

  it('an error answer that repeats the key is redacted in message and toLog()', async () => {
    const call = subject.keyEchoingFailure();
    const error = await rejection(call());
    expect(error.message).toContain('bad token');
    // The afterEach checks the key itself is gone.
  });
});
