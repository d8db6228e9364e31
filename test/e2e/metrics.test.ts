// Health and metrics through the real bot: METRICS_PORT set, two jobs delivered (one uploaded, one
// too large for the channel and posted as its link), then /metrics and /healthz over HTTP, and
// /healthz turning 503 (gateway) while the fake Discord refuses the bot's websocket.
import { get as httpGet } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { closeChecked, resultMessage, startWorld, type World } from './harness.js';

let world: World | undefined;
afterEach(async () => {
  await closeChecked(world);
  world = undefined;
});

/**
 * A plain node:http GET. Not undici's `request`: without a dispatcher of its own it would install
 * undici 7's global dispatcher, which discord.js's undici 6 then picks up for its uploads.
 */
function get(url: string): Promise<{ status: number; type: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Every sample line of the exposition, by series (name and labels as printed). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sum = (all: Map<string, number>, prefix: string) =>
  [...all].filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);

describe('health and metrics end to end', () => {
  it('/metrics after delivered jobs, /healthz 200, then 503 naming the gateway while it is down', async () => {
    world = await startWorld({ METRICS_PORT: '0' });
    const w = world;
    const base = w.bot.metricsUrl;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    await (await w.animate({ prompt: 'the cat slowly blinks' })).waitForReply();
    const uploaded = await resultMessage(w);
    expect(uploaded.attachments).toHaveLength(1);
    // The same video, over the channel's upload limit: posted as its link.
    await (await w.animate({ prompt: 'the cat yawns', attachmentSizeLimit: 8 })).waitForReply();

    // Charged after the post: wait until both jobs have ended in the numbers.
    const delivered = 'animate_jobs_total{model="wavespeed/ray-2-flash",outcome="delivered"}';
    await until(async () => samples((await get(`${base}/metrics`)).text).get(delivered) === 2);
    const second = w.discord.threads[1];
    const linked =
      second && w.discord.messagesIn(second.id).find((msg) => msg.content.includes('your video is ready'));
    expect(linked?.attachments).toStrictEqual([]);

    const scrape = await get(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = samples(scrape.text);

    expect(m.get(delivered)).toBe(2);
    expect(m.get('animate_jobs_total{model="wavespeed/ray-2-flash",outcome="failed"}')).toBe(0);
    expect(m.get('animate_delivery_total{placement="upload"}')).toBe(1);
    expect(m.get('animate_delivery_total{placement="link"}')).toBe(1);
    expect(m.get('animate_credits_spent_total')).toBe(40);
    expect(m.get('animate_status_polls_total{provider="wavespeed"}')).toBeGreaterThan(0);
    expect(m.get('animate_provider_requests_total{provider="wavespeed",op="submit",status="200"}')).toBe(2);
    expect(m.get('animate_provider_requests_total{provider="wavespeed",op="upload",status="200"}')).toBe(4);
    expect(sum(m, 'animate_provider_requests_total{provider="wavespeed",op="poll"')).toBe(
      m.get('animate_status_polls_total{provider="wavespeed"}'),
    );
    expect(m.get('animate_provider_request_duration_seconds_count{provider="wavespeed",op="submit"}')).toBe(
      2,
    );
    expect(m.get('animate_job_polls_count{model="wavespeed/ray-2-flash"}')).toBe(2);
    for (const state of ['waiting', 'submitted', 'delivering'])
      expect(m.get(`animate_jobs_active{state="${state}"}`)).toBe(0);
    expect(m.get('animate_queue_length')).toBe(0);
    expect(m.get('animate_ledger_drift_accounts')).toBe(0);
    expect(m.get('process_cpu_user_seconds_total')).toBeGreaterThan(0);

    const healthy = await get(`${base}/healthz`);
    expect(healthy).toMatchObject({ status: 200, text: '{"status":"ok"}' });

    w.discord.dropGateway();
    let down = await get(`${base}/healthz`);
    await until(async () => (down = await get(`${base}/healthz`)).status === 503);
    expect(JSON.parse(down.text)).toStrictEqual({ status: 'unavailable', failing: ['gateway'] });
    // It stays down while Discord refuses the connection (reconnect attempts do not count as up).
    await new Promise((r) => setTimeout(r, 1500));
    expect((await get(`${base}/healthz`)).status).toBe(503);

    w.discord.restoreGateway();
    await until(async () => (await get(`${base}/healthz`)).status === 200, 15_000);
    expect(w.logs.some((l) => l.includes('health and metrics listening'))).toBe(true);
  }, 60_000);

  it('without METRICS_PORT there is no listener', async () => {
    world = await startWorld();
    expect(world.bot.metricsUrl).toBeUndefined();
    expect(world.logs.some((l) => l.includes('health and metrics listening'))).toBe(false);
  });
});
