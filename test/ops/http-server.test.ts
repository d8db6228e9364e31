// The health and metrics listener over real HTTP on loopback, and the health rules: every part
// checked at once with a deadline, the failing ones named.
import Keyv from 'keyv';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkHealth, storeAnswers, type HealthReport } from '../../src/ops/health.js';
import { startOpsServer, type OpsServer } from '../../src/ops/http-server.js';

const log = pino({ level: 'silent' });
/** Our own dispatcher: undici's global one is shared by every undici copy in the process. */
const dispatcher = new Agent();
const servers: OpsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => dispatcher.close());

async function serve(health: () => Promise<HealthReport>) {
  const server = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    health,
    metrics: { text: () => Promise.resolve('animate_up 1\n'), contentType: 'text/plain; version=0.0.4' },
    log,
  });
  servers.push(server);
  return server;
}

async function get(url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET') {
  const res = await request(url, { method, dispatcher });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('the listener', () => {
  it('answers /healthz 200 {"status":"ok"} when every part passes, 503 naming the failing ones', async () => {
    let report: HealthReport = { ok: true };
    const server = await serve(() => Promise.resolve(report));
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ok = await get(`${server.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('{"status":"ok"}');
    expect(ok.headers['content-type']).toBe('application/json');
    expect(ok.headers['cache-control']).toBe('no-store');

    report = { ok: false, failing: ['gateway', 'store'] };
    const down = await get(`${server.url}/healthz?verbose=1`);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toStrictEqual({ status: 'unavailable', failing: ['gateway', 'store'] });
  });

  it('serves /metrics as Prometheus text; HEAD has no body; other paths 404, other methods 405', async () => {
    const server = await serve(() => Promise.resolve({ ok: true }));
    const metrics = await get(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4');
    expect(metrics.text).toBe('animate_up 1\n');
    const head = await get(`${server.url}/healthz`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await get(`${server.url}/`)).status).toBe(404);
    expect((await get(`${server.url}/metrics/extra`)).status).toBe(404);
    const post = await get(`${server.url}/metrics`, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('answers 500 when producing the answer fails, and keeps serving', async () => {
    let fail = true;
    const server = await serve(() =>
      fail ? Promise.reject(new Error('boom')) : Promise.resolve({ ok: true }),
    );
    expect((await get(`${server.url}/healthz`)).status).toBe(500);
    fail = false;
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
  });

  it('fails to start, naming the address, when the port is taken', async () => {
    const first = await serve(() => Promise.resolve({ ok: true }));
    const port = Number(new URL(first.url).port);
    await expect(
      startOpsServer({
        host: '127.0.0.1',
        port,
        health: () => Promise.resolve({ ok: true }),
        metrics: { text: () => Promise.resolve(''), contentType: 'text/plain' },
        log,
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });

  it('closes even while a scraper holds a keep-alive connection', async () => {
    const server = await serve(() => Promise.resolve({ ok: true }));
    await get(`${server.url}/metrics`); // the agent keeps the connection open
    servers.splice(servers.indexOf(server), 1);
    await server.close();
    await expect(get(`${server.url}/metrics`)).rejects.toThrow();
  });
});

describe('checkHealth', () => {
  it('names every failing part: false, a throw, or no answer within the deadline', async () => {
    const report = await checkHealth(
      {
        gateway: () => false,
        store: () => new Promise<boolean>(() => undefined),
        cache: () => Promise.reject(new Error('x')),
        clock: () => true,
      },
      50,
    );
    expect(report).toStrictEqual({ ok: false, failing: ['gateway', 'store', 'cache'] });
    expect(await checkHealth({ gateway: () => true, store: () => Promise.resolve(true) })).toStrictEqual({
      ok: true,
    });
  });

  it('the store passes when a read answers, missing key included, and fails when it throws', async () => {
    expect(await storeAnswers(new Keyv())).toBe(true);
    const broken = new Keyv({
      store: {
        get: () => Promise.reject(new Error('disk gone')),
        set: () => Promise.resolve(true),
        delete: () => Promise.resolve(true),
        clear: () => Promise.resolve(),
      },
      throwOnErrors: true,
    });
    broken.on('error', () => undefined);
    expect(await checkHealth({ store: () => storeAnswers(broken) })).toStrictEqual({
      ok: false,
      failing: ['store'],
    });
  });
});
