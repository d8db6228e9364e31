// The fake fal's pushes, checked from plain node:http clients with the bot's own signature
// check: the JWKS and key rotation, webhooks (what, when, every delivery fault), and the status
// stream (events at each change, its end, every stream fault).
import { request, type IncomingHttpHeaders } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { falKeyFromJwk, verifyFal } from '../../src/webhooks/signatures.js';
import { FAKE_FAL_USER_ID, startFakeFal, type FakeFal, type FakeFalOptions, type Jwk } from './fal.js';
import { startReceiver, type Received } from './receiver.js';

const KEY = 'fal-test-key';
const ENDPOINT = '/fal-ai/luma-dream-machine/ray-2-flash/image-to-video';
const INPUT = { prompt: 'a cat turns its head', image_url: 'https://cdn.example/cat.png' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function setup(opts: FakeFalOptions = {}, status = 200) {
  const fake = await startFakeFal({ queuedMs: 20, runMs: 60, ...opts });
  const receiver = await startReceiver('/hooks/fal?job=1', status);
  cleanups.push(() => fake.close().catch(() => undefined), receiver.close);
  return { fake, receiver };
}

async function submit(fake: FakeFal, webhook?: string): Promise<string> {
  const query = webhook === undefined ? '' : `?fal_webhook=${encodeURIComponent(webhook)}`;
  const res = await fetch(`${fake.queueUrl}${ENDPOINT}${query}`, {
    method: 'POST',
    headers: { authorization: `Key ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(INPUT),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { request_id: string }).request_id;
}

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { headers: { authorization: `Key ${KEY}` } });
  return { status: res.status, body: await res.json() };
}

const requestUrl = (fake: FakeFal, id: string, prefix = '') =>
  `${fake.queueUrl}${prefix}/fal-ai/luma-dream-machine/requests/${id}`;

async function jwks(fake: FakeFal): Promise<Jwk[]> {
  return ((await (await fetch(fake.jwksUrl)).json()) as { keys: Jwk[] }).keys;
}

function verify(keys: KeyObject[], r: Received, nowS = Math.floor(Date.now() / 1000)) {
  return verifyFal({ keys, headers: r.headers, rawBody: r.body, nowS });
}

const parsed = (r: Received) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('JWKS', () => {
  it('serves one Ed25519 key without a key, and counts the fetches', async () => {
    const { fake } = await setup();
    expect(fake.jwksUrl).toBe(`${fake.queueUrl}/.well-known/jwks.json`);
    const keys = await jwks(fake);
    expect(keys).toEqual([
      {
        kty: 'OKP',
        crv: 'Ed25519',
        x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as string,
        kid: expect.any(String) as string,
        use: 'sig',
      },
    ]);
    expect(Buffer.from(keys[0]!.x, 'base64url')).toHaveLength(32);
    expect(fake.jwksFetches).toBe(1);
  });

  it('rotateKey signs with a new key from then on and keeps the old one published', async () => {
    const { fake, receiver } = await setup();
    const [old] = await jwks(fake);
    const kid = fake.rotateKey();
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const keys = await jwks(fake);
    expect(keys.map((k) => k.kid)).toEqual([old!.kid, kid]);
    expect(verify([falKeyFromJwk(old!)], receiver.received[0]!)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verify(keys.map(falKeyFromJwk), receiver.received[0]!).ok).toBe(true);
    expect(fake.jwksFetches).toBe(2);
  });
});

describe('webhook deliveries', () => {
  it('POSTs the result wrapped as OK, signed, when the request completes', async () => {
    const { fake, receiver } = await setup();
    const id = await submit(fake, receiver.url);
    expect(fake.submissions[0]!.webhook).toBe(receiver.url);
    await fake.webhookSent(1);
    const got = receiver.received[0]!;
    expect(got.at).toBeGreaterThanOrEqual(fake.completedAt(id)!);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-fal-webhook-request-id']).toBe(id);
    expect(got.headers['x-fal-webhook-user-id']).toBe(FAKE_FAL_USER_ID);
    expect(got.headers['x-fal-webhook-signature']).toMatch(/^[0-9a-f]{128}$/);
    expect(verify((await jwks(fake)).map(falKeyFromJwk), got)).toEqual({ ok: true, deliveryId: id });
    const body = parsed(got);
    expect(body).toEqual({
      request_id: id,
      gateway_request_id: expect.any(String) as string,
      status: 'OK',
      payload: {
        video: {
          url: `${fake.queueUrl}/files/${id}.mp4`,
          content_type: 'video/mp4',
          file_name: `${id}.mp4`,
          file_size: expect.any(Number) as number,
        },
      },
    });
    expect(body.gateway_request_id).not.toBe(id);
    expect(body.payload).toEqual((await get(requestUrl(fake, id))).body);
    expect(fake.webhooks).toEqual([
      expect.objectContaining({
        requestId: id,
        url: receiver.url,
        status: 200,
        body: got.body.toString('utf8'),
      }),
    ]);
  });

  it.each([
    ['a 422', { result422: {} }, 422],
    ['a 5xx', { result5xx: { status: 503 } }, 503],
  ] as const)('POSTs %s result as ERROR with the same body as payload', async (_name, outcome, status) => {
    const { fake, receiver } = await setup();
    fake.nextOutcome(outcome);
    const id = await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const result = await get(requestUrl(fake, id));
    expect(result.status).toBe(status);
    expect(parsed(receiver.received[0]!)).toEqual({
      request_id: id,
      gateway_request_id: expect.any(String) as string,
      status: 'ERROR',
      error: `Invalid status code: ${status}`,
      payload: result.body,
    });
  });

  it('sends nothing without fal_webhook', async () => {
    const { fake } = await setup();
    await submit(fake);
    await sleep(150);
    expect(fake.webhooks).toEqual([]);
  });

  it('sends nothing for a held request until release, then at once', async () => {
    const { fake, receiver } = await setup();
    fake.hold();
    const id = await submit(fake, receiver.url);
    await sleep(150);
    expect(fake.webhooks).toEqual([]);
    expect(fake.completedAt(id)).toBeUndefined();
    fake.release(id);
    await fake.webhookSent(1);
    expect(receiver.received[0]!.at - fake.completedAt(id)!).toBeLessThan(50);
  });

  it('sends the cancellation as ERROR 499 when a request is cancelled', async () => {
    const { fake, receiver } = await setup({ runMs: 5_000 });
    const id = await submit(fake, receiver.url);
    const res = await fetch(`${requestUrl(fake, id)}/cancel`, {
      method: 'PUT',
      headers: { authorization: `Key ${KEY}` },
    });
    expect(res.status).toBe(202);
    await fake.webhookSent(1);
    expect(parsed(receiver.received[0]!)).toMatchObject({
      status: 'ERROR',
      error: 'Invalid status code: 499',
    });
  });

  it('records a refused connection as an error and keeps serving', async () => {
    const { fake } = await setup();
    const gone = await startReceiver('/hooks/fal?job=1');
    await gone.close();
    await submit(fake, gone.url);
    await fake.webhookSent(1);
    expect(fake.webhooks[0]!.status).toBeUndefined();
    expect(fake.webhooks[0]!.error).toMatch(/ECONNREFUSED/);
    expect((await fetch(fake.jwksUrl)).status).toBe(200);
  });

  it('sends no delivery after close, and a pending wait rejects', async () => {
    const { fake, receiver } = await setup({ runMs: 100 });
    await submit(fake, receiver.url);
    const waiting = fake.webhookSent(1);
    await fake.close();
    await expect(waiting).rejects.toThrow(/closed/);
    await sleep(150);
    expect(receiver.received).toEqual([]);
  });
});

describe('webhook faults', () => {
  async function keys(fake: FakeFal) {
    return (await jwks(fake)).map(falKeyFromJwk);
  }

  it('drop: records the delivery as dropped and sends nothing; the next one is sent', async () => {
    const { fake, receiver } = await setup();
    fake.failWebhook({ drop: true });
    const first = await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const second = await submit(fake, receiver.url);
    await fake.webhookSent(2);
    expect(fake.webhooks.map((w) => [w.requestId, w.dropped, w.status])).toEqual([
      [first, true, undefined],
      [second, undefined, 200],
    ]);
    expect(receiver.received).toHaveLength(1);
  });

  it('delayMs: sends that long after completion', async () => {
    const { fake, receiver } = await setup();
    fake.failWebhook({ delayMs: 200 });
    const id = await submit(fake, receiver.url);
    await fake.webhookSent(1);
    expect(receiver.received[0]!.at - fake.completedAt(id)!).toBeGreaterThanOrEqual(200);
    expect(verify(await keys(fake), receiver.received[0]!).ok).toBe(true);
  });

  it('webhookDelayMs: delays every delivery', async () => {
    const { fake, receiver } = await setup({ webhookDelayMs: 150 });
    const a = await submit(fake, receiver.url);
    const b = await submit(fake, receiver.url);
    await fake.webhookSent(2);
    const at = new Map(fake.webhooks.map((w) => [w.requestId, w.at]));
    for (const id of [a, b]) expect(at.get(id)! - fake.completedAt(id)!).toBeGreaterThanOrEqual(150);
  });

  it('duplicate: sends the same headers and body twice', async () => {
    const { fake, receiver } = await setup();
    fake.failWebhook({ duplicate: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(2);
    const [a, b] = receiver.received;
    expect(b!.body.equals(a!.body)).toBe(true);
    for (const name of ['x-fal-webhook-request-id', 'x-fal-webhook-timestamp', 'x-fal-webhook-signature'])
      expect(b!.headers[name]).toBe(a!.headers[name]);
    expect(verify(await keys(fake), b!).ok).toBe(true);
  });

  it('badSignature: a well-formed signature that does not verify', async () => {
    const { fake, receiver } = await setup();
    fake.failWebhook({ badSignature: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    expect(receiver.received[0]!.headers['x-fal-webhook-signature']).toMatch(/^[0-9a-f]{128}$/);
    expect(verify(await keys(fake), receiver.received[0]!)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('staleTimestamp: dated ten minutes back, correctly signed for that date', async () => {
    const { fake, receiver } = await setup();
    fake.failWebhook({ staleTimestamp: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const got = receiver.received[0]!;
    const timestampS = Number(got.headers['x-fal-webhook-timestamp']);
    expect(Math.floor(Date.now() / 1000) - timestampS).toBeGreaterThanOrEqual(599);
    expect(verify(await keys(fake), got)).toEqual({ ok: false, reason: 'stale' });
    expect(verify(await keys(fake), got, timestampS).ok).toBe(true);
  });

  it('unknownKey: signed by a key the JWKS does not list, even after a rotation', async () => {
    const { fake, receiver } = await setup();
    fake.failWebhook({ unknownKey: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    fake.rotateKey();
    expect(verify(await keys(fake), receiver.received[0]!)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('resend: POSTs a recorded delivery again, byte for byte', async () => {
    const { fake, receiver } = await setup();
    fake.failWebhook({ drop: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const again = await fake.resend(0);
    expect(again).toMatchObject({ status: 200, body: fake.webhooks[0]!.body });
    expect(receiver.received[0]!.body.toString('utf8')).toBe(fake.webhooks[0]!.body);
    expect(receiver.received[0]!.headers['x-fal-webhook-signature']).toBe(
      fake.webhooks[0]!.headers['x-fal-webhook-signature'],
    );
    expect(verify(await keys(fake), receiver.received[0]!).ok).toBe(true);
  });
});

interface Sse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Everything received, comments included. */
  raw: () => string;
  events: { data: string; at: number }[];
  /** 'end' for a complete response, 'cut' for one whose connection broke. */
  ended: Promise<'end' | 'cut'>;
}

/** Opens a stream with a plain client, splitting `data:` events as they arrive. */
function openStream(url: string, key = KEY): Promise<Sse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Key ${key}` }, agent: false }, (res) => {
      let raw = '';
      let pending = '';
      const events: Sse['events'] = [];
      const ended = new Promise<'end' | 'cut'>((done) => {
        res.on('close', () => done(res.complete ? 'end' : 'cut'));
        res.on('error', () => done('cut'));
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        pending += chunk;
        const blocks = pending.split('\n\n');
        pending = blocks.pop() ?? '';
        for (const block of blocks)
          for (const line of block.split('\n'))
            if (line.startsWith('data: ')) events.push({ data: line.slice(6), at: Date.now() });
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: () => raw, events, ended });
    });
    req.on('error', reject);
    req.end();
  });
}

const streamUrl = (fake: FakeFal, id: string, prefix = '') =>
  `${requestUrl(fake, id, prefix)}/status/stream?logs=0`;
const statuses = (sse: Sse) =>
  sse.events.map((e) => {
    const body = JSON.parse(e.data) as { status: string; queue_position?: number };
    return body.status === 'IN_QUEUE' ? `IN_QUEUE ${body.queue_position}` : body.status;
  });

describe('status stream', () => {
  it('sends the status at once, each change as it happens, and ends after COMPLETED', async () => {
    const { fake } = await setup({ queuedMs: 90, queueAhead: 2, runMs: 150 });
    const id = await submit(fake);
    const sse = await openStream(streamUrl(fake, id));
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toBe('text/event-stream');
    expect(sse.headers['cache-control']).toBe('no-cache');
    expect(await sse.ended).toBe('end');
    expect(statuses(sse)).toEqual(['IN_QUEUE 2', 'IN_QUEUE 1', 'IN_QUEUE 0', 'IN_PROGRESS', 'COMPLETED']);
    const urls = {
      request_id: id,
      response_url: requestUrl(fake, id),
      status_url: `${requestUrl(fake, id)}/status`,
      cancel_url: `${requestUrl(fake, id)}/cancel`,
    };
    expect(JSON.parse(sse.events[0]!.data)).toEqual({ status: 'IN_QUEUE', queue_position: 2, ...urls });
    expect(JSON.parse(sse.events[3]!.data)).toEqual({ status: 'IN_PROGRESS', logs: [], ...urls });
    const completed = JSON.parse(sse.events[4]!.data) as unknown;
    expect(completed).toEqual((await get(`${requestUrl(fake, id)}/status?logs=0`)).body);
    expect(completed).toMatchObject({ status: 'COMPLETED', metrics: { inference_time: 0.15 } });
    // Pushed by a timer at the change, not found by the next read.
    expect(sse.events[4]!.at - fake.completedAt(id)!).toBeLessThan(50);
    await vi.waitFor(() =>
      expect(fake.streams).toEqual([
        {
          id,
          at: expect.any(Number) as number,
          status: 200,
          closedAt: expect.any(Number) as number,
          events: 5,
        },
      ]),
    );
  });

  it('is served under the urlPrefix too', async () => {
    const { fake } = await setup({ urlPrefix: '/proxy/fal' });
    const id = await submit(fake);
    const sse = await openStream(streamUrl(fake, id, '/proxy/fal'));
    expect(await sse.ended).toBe('end');
    expect(statuses(sse).at(-1)).toBe('COMPLETED');
  });

  it('sends one COMPLETED event and ends for a request already over', async () => {
    const { fake } = await setup({ runMs: 10 });
    const id = await submit(fake);
    await sleep(80);
    const sse = await openStream(streamUrl(fake, id));
    expect(await sse.ended).toBe('end');
    expect(statuses(sse)).toEqual(['COMPLETED']);
  });

  it('refuses a wrong key with 401 and an unknown id with 404', async () => {
    const { fake } = await setup();
    const id = await submit(fake);
    const wrongKey = await openStream(streamUrl(fake, id), 'nope');
    expect(wrongKey.status).toBe(401);
    const unknown = await openStream(streamUrl(fake, 'f00'));
    expect(unknown.status).toBe(404);
    await unknown.ended;
    expect(JSON.parse(unknown.raw())).toEqual({ detail: 'Request not found' });
    expect(fake.streams.map((s) => s.status)).toEqual([404]);
  });

  it('stays IN_PROGRESS while held and sends COMPLETED at the release', async () => {
    const { fake } = await setup();
    fake.hold();
    const id = await submit(fake);
    const sse = await openStream(streamUrl(fake, id));
    await sleep(150);
    expect(statuses(sse).at(-1)).toBe('IN_PROGRESS');
    fake.release(id);
    expect(await sse.ended).toBe('end');
    expect(statuses(sse).at(-1)).toBe('COMPLETED');
    expect(sse.events.at(-1)!.at - fake.completedAt(id)!).toBeLessThan(50);
  });

  it('sends the cancelled final status and ends when the request is cancelled', async () => {
    const { fake } = await setup({ runMs: 5_000 });
    const id = await submit(fake);
    const sse = await openStream(streamUrl(fake, id));
    await fetch(`${requestUrl(fake, id)}/cancel`, {
      method: 'PUT',
      headers: { authorization: `Key ${KEY}` },
    });
    expect(await sse.ended).toBe('end');
    expect(JSON.parse(sse.events.at(-1)!.data)).toMatchObject({
      status: 'COMPLETED',
      error: 'Request was cancelled',
      error_type: 'client_cancelled',
    });
  });

  it('writes keep-alive comments with streamKeepAliveMs, without counting them as events', async () => {
    const { fake } = await setup({ runMs: 250, streamKeepAliveMs: 40 });
    const id = await submit(fake);
    const sse = await openStream(streamUrl(fake, id));
    await sse.ended;
    expect(sse.raw().split(': keep-alive\n\n').length - 1).toBeGreaterThanOrEqual(3);
    expect(fake.streams[0]!.events).toBe(sse.events.length);
  });

  describe('faults', () => {
    it('status: answers that status with a JSON error instead of streaming', async () => {
      const { fake } = await setup();
      fake.failStream({ status: 503 });
      const id = await submit(fake);
      const sse = await openStream(streamUrl(fake, id));
      await sse.ended;
      expect(sse.status).toBe(503);
      expect(sse.headers['content-type']).toBe('application/json');
      expect(JSON.parse(sse.raw())).toMatchObject({ detail: expect.any(String) as string });
      const next = await openStream(streamUrl(fake, id));
      expect(next.status).toBe(200);
    });

    it.each([0, 1, 2])('resetAfterEvents %i: cuts the connection after that many events', async (n) => {
      const { fake } = await setup({ queuedMs: 90, queueAhead: 2, runMs: 150 });
      fake.failStream({ resetAfterEvents: n });
      const id = await submit(fake);
      const sse = await openStream(streamUrl(fake, id));
      expect(sse.status).toBe(200);
      expect(await sse.ended).toBe('cut');
      expect(sse.events).toHaveLength(n);
      expect(fake.streams[0]!.events).toBe(n);
      await vi.waitFor(() => expect(fake.streams[0]!.closedAt).toEqual(expect.any(Number)));
    });

    it('silent: 200 headers, then nothing until close', async () => {
      const { fake } = await setup({ runMs: 30 });
      fake.failStream({ silent: true });
      const id = await submit(fake);
      const sse = await openStream(streamUrl(fake, id));
      expect(sse.status).toBe(200);
      await sleep(150);
      expect(sse.raw()).toBe('');
      expect(fake.streams[0]!.closedAt).toBeUndefined();
      await fake.close();
      expect(await sse.ended).toBe('cut');
      // The server sees the close a moment after the client does.
      await vi.waitFor(() => expect(fake.streams[0]!.closedAt).toEqual(expect.any(Number)));
    });

    it('garbage: a non-JSON data line first, then the stream goes on', async () => {
      const { fake } = await setup();
      fake.failStream({ garbage: true });
      const id = await submit(fake);
      const sse = await openStream(streamUrl(fake, id));
      expect(await sse.ended).toBe('end');
      expect(() => JSON.parse(sse.events[0]!.data) as unknown).toThrow(SyntaxError);
      expect(statuses({ ...sse, events: sse.events.slice(1) })).toContain('COMPLETED');
    });

    it('faults apply one per connection, in order', async () => {
      const { fake } = await setup();
      fake.failStream({ status: 429 }, { status: 500 });
      const id = await submit(fake);
      const answered = [];
      for (let i = 0; i < 3; i++) answered.push((await openStream(streamUrl(fake, id))).status);
      expect(answered).toEqual([429, 500, 200]);
    });
  });
});
