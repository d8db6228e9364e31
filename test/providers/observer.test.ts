// Every provider request passes one choke point (src/providers/request.ts) that tells the metrics
// what it was for (`op`), how it ended (the HTTP status, or `error`) and how long it took; a
// failing observer never changes a request's outcome.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttp, type Http } from '../../src/net/http.js';
import { ProviderError } from '../../src/providers/errors.js';
import { createFalProvider } from '../../src/providers/fal.js';
import type { ProviderRequestEvent } from '../../src/providers/request.js';
import type { ProviderJobRef, VideoProvider, VideoRequest } from '../../src/providers/types.js';
import { createWaveSpeedProvider } from '../../src/providers/wavespeed.js';
import { startFakeFal } from '../fakes/fal.js';
import { startFakeWaveSpeed } from '../fakes/wavespeed.js';

const KEY = 'observer-test-key';
const REQUEST: VideoRequest = {
  prompt: 'a cat walks',
  imageUrl: 'https://example.com/cat.png',
  aspectRatio: '16:9',
  durationSeconds: 5,
};
const PNG = { bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), contentType: 'image/png', filename: 'a.png' };

let http: Http;
let events: ProviderRequestEvent[];
const observer = { providerRequest: (e: ProviderRequestEvent) => void events.push(e) };
const closers: (() => Promise<void>)[] = [];

beforeEach(() => {
  http = createHttp();
  events = [];
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await http.close();
});

async function untilDone(provider: VideoProvider, ref: ProviderJobRef): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await provider.poll(ref);
    if (r.state === 'succeeded') return;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  throw new Error('never finished');
}

const ops = () => events.map((e) => `${e.provider} ${e.op} ${e.status}`);

describe('provider requests are observed', () => {
  it('WaveSpeed: upload (ticket and PUT), submit, one poll per status check', async () => {
    const fake = await startFakeWaveSpeed({ apiKey: KEY, queuedMs: 20, runMs: 60 });
    closers.push(() => fake.close());
    const ws = createWaveSpeedProvider({
      http,
      baseUrl: fake.baseUrl,
      apiKey: KEY,
      endpoint: 'luma/ray-2-flash-i2v',
      observer,
    });
    await ws.upload(PNG);
    const ref = await ws.submit(REQUEST);
    await untilDone(ws, ref);
    await ws.cancel(ref); // WaveSpeed has no cancel endpoint: nothing goes out
    expect(ops().slice(0, 3)).toStrictEqual([
      'wavespeed upload 200',
      'wavespeed upload 200',
      'wavespeed submit 200',
    ]);
    const polls = ops().slice(3);
    expect(polls.length).toBeGreaterThan(0);
    expect(new Set(polls)).toStrictEqual(new Set(['wavespeed poll 200']));
    for (const e of events) expect(e.seconds).toBeGreaterThanOrEqual(0);
  });

  it('fal: upload, submit, status polls, the result fetch, cancel', async () => {
    const fake = await startFakeFal({ apiKey: KEY, queuedMs: 20, runMs: 60 });
    closers.push(() => fake.close());
    const fal = createFalProvider({
      http,
      queueUrl: fake.queueUrl,
      storageUrl: fake.storageUrl,
      apiKey: KEY,
      observer,
    });
    await fal.upload(PNG);
    const ref = await fal.submit(REQUEST);
    await untilDone(fal, ref);
    await fal.cancel(ref);
    const seen = ops();
    expect(seen.slice(0, 3)).toStrictEqual(['fal upload 200', 'fal upload 200', 'fal submit 200']);
    expect(seen).toContain('fal poll 200');
    expect(seen.filter((o) => o.startsWith('fal result'))).toStrictEqual(['fal result 200']);
    expect(seen.at(-1)).toMatch(/^fal cancel \d{3}$/);
  });

  it('a non-2xx answer is counted with its status, a refused connection as `error`', async () => {
    const fake = await startFakeWaveSpeed({ apiKey: KEY });
    closers.push(() => fake.close());
    fake.failSubmit({ status: 429 });
    const ws = createWaveSpeedProvider({
      http,
      baseUrl: fake.baseUrl,
      apiKey: KEY,
      endpoint: 'luma/ray-2-flash-i2v',
      observer,
    });
    await expect(ws.submit(REQUEST)).rejects.toBeInstanceOf(ProviderError);

    // A port that was just free: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const down = createWaveSpeedProvider({
      http,
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: KEY,
      endpoint: 'luma/ray-2-flash-i2v',
      observer,
    });
    await expect(down.submit(REQUEST)).rejects.toMatchObject({ notAccepted: true });
    expect(ops()).toStrictEqual(['wavespeed submit 429', 'wavespeed submit error']);
  });

  it('an observer that throws changes nothing about the request', async () => {
    const fake = await startFakeWaveSpeed({ apiKey: KEY });
    closers.push(() => fake.close());
    const ws = createWaveSpeedProvider({
      http,
      baseUrl: fake.baseUrl,
      apiKey: KEY,
      endpoint: 'luma/ray-2-flash-i2v',
      observer: {
        providerRequest: () => {
          throw new Error('metrics bug');
        },
      },
    });
    const ref = await ws.submit(REQUEST);
    expect(ref.id).toBe(fake.submissions[0]?.taskId);
  });
});
