// The webhook listener over real HTTP: a delivery wakes its task's job only with a valid
// signature over the exact bytes; anything else is refused and changes nothing.
import { createHash, createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createLogger } from '../../src/logger.js';
import type { ProviderId } from '../../src/providers/types.js';
import type { FalKeys } from '../../src/webhooks/keys.js';
import { startWebhookListener, type WebhookListener } from '../../src/webhooks/listener.js';

const NOW = 1_780_000_000;
const SECRET = 'whsec_dGVzdC1zZWNyZXQ';
const log = createLogger({ level: 'silent' });

interface World {
  listener: WebhookListener;
  hints: { provider: ProviderId; taskId: string }[];
  refreshes: number;
}

let world: World | undefined;
afterEach(async () => {
  await world?.listener.close();
  world = undefined;
});

async function start(
  opts: { keys?: KeyObject[]; laterKeys?: KeyObject[]; secret?: () => Promise<string> } = {},
): Promise<World> {
  const hints: World['hints'] = [];
  const w: Partial<World> = { hints, refreshes: 0 };
  const falKeys: FalKeys = {
    current: () => Promise.resolve(opts.keys ?? []),
    refresh: () => {
      w.refreshes = (w.refreshes ?? 0) + 1;
      return Promise.resolve(opts.laterKeys ?? opts.keys ?? []);
    },
  };
  w.listener = await startWebhookListener({
    port: 0,
    host: '127.0.0.1',
    log,
    nowS: () => NOW,
    hint: (provider, taskId) => {
      hints.push({ provider, taskId });
      return true;
    },
    waveSpeedSecret: opts.secret ?? (() => Promise.resolve(SECRET)),
    falKeys,
    maxBodyBytes: 4096,
  });
  world = w as World;
  return world;
}

async function post(w: World, path: string, body: string | Buffer, headers: Record<string, string>) {
  const res = await request(`${w.listener.url}${path}`, { method: 'POST', body, headers });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

function waveSpeedDelivery(taskId: string, over: { id?: string; ts?: number; secret?: string } = {}) {
  const body = JSON.stringify({ id: taskId, status: 'completed', outputs: ['https://x/v.mp4'] });
  const id = over.id ?? `msg_${taskId}`;
  const ts = over.ts ?? NOW;
  const key = (over.secret ?? SECRET).slice('whsec_'.length);
  const hex = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('hex');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': `v3,${hex}`,
    },
  };
}

function falDelivery(requestId: string, key: KeyObject, ts = NOW) {
  const body = JSON.stringify({
    request_id: requestId,
    status: 'OK',
    payload: { video: { url: 'https://x' } },
  });
  const digest = createHash('sha256').update(body).digest('hex');
  const signature = sign(null, Buffer.from(`${requestId}\nuser-1\n${ts}\n${digest}`), key).toString('hex');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-fal-webhook-request-id': requestId,
      'x-fal-webhook-user-id': 'user-1',
      'x-fal-webhook-timestamp': String(ts),
      'x-fal-webhook-signature': signature,
    },
  };
}

describe('webhook listener', () => {
  it('wakes the job of a correctly signed WaveSpeed delivery, by the task id in its body', async () => {
    const w = await start();
    const d = waveSpeedDelivery('task-1');
    expect(await post(w, '/webhooks/wavespeed', d.body, d.headers)).toEqual({
      status: 200,
      body: { ok: true },
    });
    expect(w.hints).toEqual([{ provider: 'wavespeed', taskId: 'task-1' }]);
  });

  it('refuses a bad signature, a stale timestamp and missing headers with 401, waking nothing', async () => {
    const w = await start();
    const wrong = waveSpeedDelivery('task-1', { secret: 'whsec_another' });
    expect(await post(w, '/webhooks/wavespeed', wrong.body, wrong.headers)).toEqual({
      status: 401,
      body: { error: 'bad_signature' },
    });
    const stale = waveSpeedDelivery('task-1', { ts: NOW - 301 });
    expect((await post(w, '/webhooks/wavespeed', stale.body, stale.headers)).body).toEqual({
      error: 'stale',
    });
    const bare = waveSpeedDelivery('task-1');
    expect(
      (await post(w, '/webhooks/wavespeed', bare.body, { 'content-type': 'application/json' })).body,
    ).toEqual({ error: 'missing_headers' });
    // The body changed after signing (one task id for another).
    const d = waveSpeedDelivery('task-1');
    expect((await post(w, '/webhooks/wavespeed', d.body.replace('task-1', 'task-2'), d.headers)).status).toBe(
      401,
    );
    expect(w.hints).toEqual([]);
  });

  it('answers a duplicate delivery 200 and wakes nothing again', async () => {
    const w = await start();
    const d = waveSpeedDelivery('task-1');
    await post(w, '/webhooks/wavespeed', d.body, d.headers);
    expect(await post(w, '/webhooks/wavespeed', d.body, d.headers)).toEqual({
      status: 200,
      body: { ok: true, duplicate: true },
    });
    expect(w.hints).toHaveLength(1);
  });

  it('refuses a body over the limit (401) without reading it all', async () => {
    const w = await start();
    const d = waveSpeedDelivery('task-1');
    const res = await post(w, '/webhooks/wavespeed', Buffer.alloc(5000, 'a'), d.headers);
    expect(res).toEqual({ status: 401, body: { error: 'too_large' } });
    expect(w.hints).toEqual([]);
  });

  it('refuses (401) while the secret cannot be fetched, so the provider delivers again', async () => {
    const w = await start({ secret: () => Promise.reject(new Error('WaveSpeed down')) });
    const d = waveSpeedDelivery('task-1');
    expect(await post(w, '/webhooks/wavespeed', d.body, d.headers)).toEqual({
      status: 401,
      body: { error: 'keys_unavailable' },
    });
    expect(w.hints).toEqual([]);
  });

  it('refuses anything but a POST on the two paths, and knows no other path', async () => {
    const w = await start();
    const get = await request(`${w.listener.url}/webhooks/fal`);
    expect(get.statusCode).toBe(401);
    await get.body.dump();
    const other = await request(`${w.listener.url}/webhooks/other`, { method: 'POST', body: '{}' });
    expect(other.statusCode).toBe(404);
    await other.body.dump();
  });

  it('refuses (401) a delivery for a provider that has no key here', async () => {
    const hints: unknown[] = [];
    const listener = await startWebhookListener({
      port: 0,
      host: '127.0.0.1',
      log,
      nowS: () => NOW,
      hint: (provider, taskId) => hints.push({ provider, taskId }) > 0,
      waveSpeedSecret: () => Promise.resolve(SECRET),
    });
    try {
      const { privateKey } = generateKeyPairSync('ed25519');
      const d = falDelivery('req-1', privateKey);
      const res = await request(`${listener.url}/webhooks/fal`, {
        method: 'POST',
        body: d.body,
        headers: d.headers,
      });
      expect(res.statusCode).toBe(401);
      expect(await res.body.json()).toEqual({ error: 'provider_off' });
      expect(hints).toEqual([]);
    } finally {
      await listener.close();
    }
  });

  it('wakes the job of a fal delivery signed by a published key, by the signed request id', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const w = await start({ keys: [publicKey] });
    const d = falDelivery('req-1', privateKey);
    expect((await post(w, '/webhooks/fal', d.body, d.headers)).status).toBe(200);
    expect(w.hints).toEqual([{ provider: 'fal', taskId: 'req-1' }]);
    expect(w.refreshes).toBe(0);
  });

  it('fetches fal keys again for an unknown key, and refuses a key fal never published', async () => {
    const old = generateKeyPairSync('ed25519');
    const rotated = generateKeyPairSync('ed25519');
    const stranger = generateKeyPairSync('ed25519');
    const w = await start({ keys: [old.publicKey], laterKeys: [old.publicKey, rotated.publicKey] });
    const d = falDelivery('req-1', rotated.privateKey);
    expect((await post(w, '/webhooks/fal', d.body, d.headers)).status).toBe(200);
    expect(w.refreshes).toBe(1);
    const forged = falDelivery('req-2', stranger.privateKey);
    expect(await post(w, '/webhooks/fal', forged.body, forged.headers)).toEqual({
      status: 401,
      body: { error: 'bad_signature' },
    });
    expect(w.hints).toEqual([{ provider: 'fal', taskId: 'req-1' }]);
  });
});
