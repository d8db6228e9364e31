// The fake WaveSpeed's webhooks, checked from a plain node:http receiver with the bot's own
// signature check: the secret endpoint, what is sent and when (timeline, hold, completeNow),
// and every delivery fault.
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWaveSpeed } from '../../src/webhooks/signatures.js';
import { startFakeWaveSpeed, type FakeWaveSpeed, type FakeWaveSpeedOptions } from './wavespeed.js';
import { startReceiver, type Received } from './receiver.js';

const KEY = 'ws-test-key';
const INPUT = { image: 'https://cdn.example/cat.png', prompt: 'a cat turns its head', duration: 5 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function setup(opts: FakeWaveSpeedOptions = {}, status = 200) {
  const fake = await startFakeWaveSpeed({ queuedMs: 20, runMs: 80, ...opts });
  const receiver = await startReceiver('/hooks/wavespeed?job=1', status);
  cleanups.push(() => fake.close(), receiver.close);
  return { fake, receiver };
}

async function submit(
  fake: FakeWaveSpeed,
  webhook?: string,
  model = 'luma/ray-2-flash-i2v',
): Promise<string> {
  const query = webhook === undefined ? '' : `?webhook=${encodeURIComponent(webhook)}`;
  const res = await fetch(`${fake.baseUrl}/api/v3/${model}${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(INPUT),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { id: string } }).data.id;
}

async function result(fake: FakeWaveSpeed, id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${fake.baseUrl}/api/v3/predictions/${id}/result`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  return ((await res.json()) as { data: Record<string, unknown> }).data;
}

function verify(fake: FakeWaveSpeed, r: Received, nowS = Math.floor(Date.now() / 1000)) {
  return verifyWaveSpeed({ secret: fake.webhookSecret, headers: r.headers, rawBody: r.body, nowS });
}

/** The prediction without the fields that keep growing after the end. */
function stable(prediction: Record<string, unknown>): Record<string, unknown> {
  const { executionTime: _e, timings: _t, ...rest } = prediction;
  return rest;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GET /api/v3/webhook/secret', () => {
  it('answers the whsec_ secret under data.secret by default, counting every fetch', async () => {
    const { fake } = await setup();
    const res = await fetch(`${fake.baseUrl}/api/v3/webhook/secret`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ code: 200, message: 'success', data: { secret: fake.webhookSecret } });
    expect(fake.webhookSecret).toMatch(/^whsec_.{20,}$/);
    expect(fake.secretFetches).toBe(1);
  });

  it("answers the secret as data itself with secretShape 'string'", async () => {
    const { fake } = await setup({ secretShape: 'string' });
    const res = await fetch(`${fake.baseUrl}/api/v3/webhook/secret`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(await res.json()).toEqual({ code: 200, message: 'success', data: fake.webhookSecret });
  });

  it('refuses a wrong key with the 401 envelope, and still counts the fetch', async () => {
    const { fake } = await setup();
    const res = await fetch(`${fake.baseUrl}/api/v3/webhook/secret`, {
      headers: { authorization: 'Bearer no' },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 401, message: 'Unauthorized', data: null });
    expect(fake.secretFetches).toBe(1);
  });
});

describe('webhook deliveries', () => {
  it('records the decoded webhook URL on the submission and the task, for both models', async () => {
    const { fake, receiver } = await setup();
    const flash = await submit(fake, receiver.url);
    const ray2 = await submit(fake, receiver.url, 'luma/ray-2-i2v');
    expect(fake.submissions.map((s) => s.webhook)).toEqual([receiver.url, receiver.url]);
    expect(fake.tasks.get(flash)?.webhook).toBe(receiver.url);
    expect(fake.tasks.get(ray2)?.webhook).toBe(receiver.url);
  });

  it('POSTs the bare prediction, signed, when the timeline completes the task', async () => {
    const { fake, receiver } = await setup();
    const id = await submit(fake, receiver.url);
    const createdAt = fake.tasks.get(id)!.createdAt;
    await fake.webhookSent(1);
    const [got] = receiver.received;
    expect(got!.at).toBeGreaterThanOrEqual(createdAt + 80);
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]+$/);
    expect(got!.headers['webhook-signature']).toMatch(/^v3,[0-9a-f]{64}$/);
    expect(verify(fake, got!)).toEqual({ ok: true, deliveryId: got!.headers['webhook-id'] });
    const body = JSON.parse(got!.body.toString('utf8')) as Record<string, unknown>;
    expect(body).toMatchObject({
      id,
      model: 'luma/ray-2-flash-i2v',
      input: INPUT,
      status: 'completed',
      outputs: [`${fake.baseUrl}/files/${id}.mp4`],
      urls: { get: `${fake.baseUrl}/api/v3/predictions/${id}/result` },
      has_nsfw_contents: [false],
      error: '',
    });
    expect(stable(body)).toEqual(stable(await result(fake, id)));
    expect(fake.webhooks).toEqual([
      expect.objectContaining({
        taskId: id,
        url: receiver.url,
        status: 200,
        body: got!.body.toString('utf8'),
      }),
    ]);
    expect(fake.webhooks[0]!.headers['webhook-id']).toBe(got!.headers['webhook-id']);
  });

  it.each(['failed', 'cancelled', 'timeout'] as const)('POSTs a %s task with its error', async (status) => {
    const { fake, receiver } = await setup();
    fake.nextOutcome({ status, code: 1402, error: `the task ${status}` });
    const id = await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const body = JSON.parse(receiver.received[0]!.body.toString('utf8')) as Record<string, unknown>;
    expect(body).toMatchObject({ id, status, error: `the task ${status}`, code: 1402, outputs: [] });
    expect(stable(body)).toEqual(stable(await result(fake, id)));
  });

  it('sends nothing for a task submitted without a webhook', async () => {
    const { fake } = await setup({ runMs: 30 });
    await submit(fake);
    await sleep(120);
    expect(fake.webhooks).toEqual([]);
  });

  it('sends nothing for a held task until release, then at once', async () => {
    const { fake, receiver } = await setup({ runMs: 40 });
    fake.hold();
    const id = await submit(fake, receiver.url);
    await sleep(150);
    expect(fake.webhooks).toEqual([]);
    const releasedAt = Date.now();
    fake.release(id);
    await fake.webhookSent(1);
    expect(receiver.received[0]!.at - releasedAt).toBeLessThan(50);
    expect(JSON.parse(receiver.received[0]!.body.toString('utf8'))).toMatchObject({
      id,
      status: 'completed',
    });
  });

  it('moves the timer when a task is held by id and released before its end', async () => {
    const { fake, receiver } = await setup({ runMs: 150 });
    const id = await submit(fake, receiver.url);
    fake.hold(id);
    await sleep(200);
    expect(fake.webhooks).toEqual([]);
    fake.release();
    await fake.webhookSent(1);
    expect(fake.webhooks.map((w) => w.taskId)).toEqual([id]);
  });

  it('sends at once when completeNow ends a task still queued', async () => {
    const { fake, receiver } = await setup({ queuedMs: 5_000, runMs: 10_000 });
    const id = await submit(fake, receiver.url);
    const at = Date.now();
    fake.completeNow(id);
    await fake.webhookSent(1);
    expect(receiver.received[0]!.at - at).toBeLessThan(50);
    expect(JSON.parse(receiver.received[0]!.body.toString('utf8'))).toMatchObject({ status: 'completed' });
  });

  it('records the answer of the target, whatever it is', async () => {
    const { fake, receiver } = await setup({}, 503);
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    expect(fake.webhooks[0]!.status).toBe(503);
  });

  it('records a refused connection as an error and keeps serving', async () => {
    const { fake } = await setup({ runMs: 30 });
    const gone = await startReceiver('/hooks/wavespeed?job=1');
    await gone.close();
    await submit(fake, gone.url);
    await fake.webhookSent(1);
    expect(fake.webhooks[0]!.status).toBeUndefined();
    expect(fake.webhooks[0]!.error).toMatch(/ECONNREFUSED/);
    expect((await fetch(`${fake.baseUrl}/api/v3/webhook/secret`)).status).toBe(401);
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
  it('drop: records the delivery as dropped and sends nothing; the next one is sent', async () => {
    const { fake, receiver } = await setup({ runMs: 30 });
    fake.failWebhook({ drop: true });
    const first = await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const second = await submit(fake, receiver.url);
    await fake.webhookSent(2);
    expect(fake.webhooks.map((w) => [w.taskId, w.dropped, w.status])).toEqual([
      [first, true, undefined],
      [second, undefined, 200],
    ]);
    expect(receiver.received).toHaveLength(1);
  });

  it('delayMs: sends that long after the end', async () => {
    const { fake, receiver } = await setup({ runMs: 30 });
    fake.failWebhook({ delayMs: 200 });
    const id = await submit(fake, receiver.url);
    const createdAt = fake.tasks.get(id)!.createdAt;
    await fake.webhookSent(1);
    expect(receiver.received[0]!.at).toBeGreaterThanOrEqual(createdAt + 30 + 200);
    expect(verify(fake, receiver.received[0]!).ok).toBe(true);
  });

  it('webhookDelayMs: delays every delivery', async () => {
    const { fake, receiver } = await setup({ runMs: 30, webhookDelayMs: 150 });
    const a = await submit(fake, receiver.url);
    const b = await submit(fake, receiver.url);
    await fake.webhookSent(2);
    for (const [i, id] of [a, b].entries()) {
      expect(receiver.received[i]!.at).toBeGreaterThanOrEqual(fake.tasks.get(id)!.createdAt + 30 + 150);
    }
  });

  it('duplicate: sends the same id, headers and body twice', async () => {
    const { fake, receiver } = await setup({ runMs: 30 });
    fake.failWebhook({ duplicate: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(2);
    const [a, b] = receiver.received;
    expect(b!.body.equals(a!.body)).toBe(true);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'])
      expect(b!.headers[name]).toBe(a!.headers[name]);
    expect(verify(fake, b!).ok).toBe(true);
    expect(fake.webhooks).toHaveLength(2);
  });

  it('badSignature: a well-formed signature that does not verify', async () => {
    const { fake, receiver } = await setup({ runMs: 30 });
    fake.failWebhook({ badSignature: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    expect(receiver.received[0]!.headers['webhook-signature']).toMatch(/^v3,[0-9a-f]{64}$/);
    expect(verify(fake, receiver.received[0]!)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('staleTimestamp: dated ten minutes back, correctly signed for that date', async () => {
    const { fake, receiver } = await setup({ runMs: 30 });
    fake.failWebhook({ staleTimestamp: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const got = receiver.received[0]!;
    const timestampS = Number(got.headers['webhook-timestamp']);
    expect(Math.floor(Date.now() / 1000) - timestampS).toBeGreaterThanOrEqual(599);
    expect(verify(fake, got)).toEqual({ ok: false, reason: 'stale' });
    expect(verify(fake, got, timestampS).ok).toBe(true);
  });

  it('faults apply one per delivery, in order', async () => {
    const { fake, receiver } = await setup({ runMs: 30 });
    fake.failWebhook({ badSignature: true }, { staleTimestamp: true });
    for (let i = 1; i <= 3; i++) {
      await submit(fake, receiver.url);
      await fake.webhookSent(i);
    }
    expect(receiver.received.map((r) => verify(fake, r))).toEqual([
      { ok: false, reason: 'bad_signature' },
      { ok: false, reason: 'stale' },
      expect.objectContaining({ ok: true }),
    ]);
  });

  it('resend: POSTs a recorded delivery again, byte for byte', async () => {
    const { fake, receiver } = await setup({ runMs: 30 });
    fake.failWebhook({ drop: true });
    await submit(fake, receiver.url);
    await fake.webhookSent(1);
    const again = await fake.resend(0);
    expect(again).toMatchObject({ status: 200, body: fake.webhooks[0]!.body });
    expect(receiver.received[0]!.body.toString('utf8')).toBe(fake.webhooks[0]!.body);
    expect(receiver.received[0]!.headers['webhook-id']).toBe(fake.webhooks[0]!.headers['webhook-id']);
    expect(verify(fake, receiver.received[0]!).ok).toBe(true);
  });
});
