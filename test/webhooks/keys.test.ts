// The webhook secret and fal's signing keys are fetched when first needed and cached: the secret
// for the process, the keys for a day, and again (at most once a minute) when a delivery's key is
// not among them.
import { generateKeyPairSync, sign, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttp } from '../../src/net/http.js';
import { falKeys, waveSpeedSecret } from '../../src/webhooks/keys.js';
import { verifyFal } from '../../src/webhooks/signatures.js';

let server: Server | undefined;
const http = createHttp();
afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A loopback server answering each request with `answer()`, counting them. */
async function serve(answer: (path: string, auth: string | undefined) => [number, unknown]) {
  const seen: { path: string; auth: string | undefined }[] = [];
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    const [status, body] = answer(req.url ?? '', req.headers.authorization);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('waveSpeedSecret', () => {
  it('fetches the secret once with the key, from the envelope (data as the string or as {secret})', async () => {
    let shape = 0;
    const { base, seen } = await serve(() => [
      200,
      shape++ === 0 ? { code: 200, data: 'whsec_abc' } : { code: 200, data: { secret: 'whsec_def' } },
    ]);
    const secret = waveSpeedSecret({ http, baseUrl: base, apiKey: 'ws-key' });
    expect(await secret()).toBe('whsec_abc');
    expect(await secret()).toBe('whsec_abc');
    expect(seen).toEqual([{ path: '/api/v3/webhook/secret', auth: 'Bearer ws-key' }]);
    expect(await waveSpeedSecret({ http, baseUrl: base, apiKey: 'ws-key' })()).toBe('whsec_def');
  });

  it('does not keep a failed fetch: the next delivery asks again', async () => {
    let calls = 0;
    const { base } = await serve(() => (calls++ === 0 ? [500, { code: 500 }] : [200, { data: 'whsec_ok' }]));
    const secret = waveSpeedSecret({ http, baseUrl: base, apiKey: 'k' });
    await expect(secret()).rejects.toThrow(/HTTP 500/);
    expect(await secret()).toBe('whsec_ok');
  });
});

describe('falKeys', () => {
  const first = generateKeyPairSync('ed25519');
  const second = generateKeyPairSync('ed25519');
  const jwk = (pair: typeof first) => ({
    kty: 'OKP',
    crv: 'Ed25519',
    ...(pair.publicKey.export({ format: 'jwk' }) as object),
  });

  it('caches the keys for a day, refetches on demand at most once a minute, and then verifies with the new key', async () => {
    let published = [jwk(first)];
    const { base, seen } = await serve(() => [200, { keys: published }]);
    let clock = 1_000_000;
    const keys = falKeys({ http, jwksUrl: `${base}/.well-known/jwks.json`, now: () => clock });

    expect(await keys.current()).toHaveLength(1);
    await keys.current();
    expect(seen).toHaveLength(1);

    // fal starts signing with a second key: a delivery signed with it fails, the keys are
    // fetched again, and it verifies.
    published = [jwk(first), jwk(second)];
    const body = Buffer.from('{"request_id":"r1","status":"OK"}');
    const ts = Math.floor(clock / 1000);
    const message = `r1\nu1\n${ts}\n${createHash('sha256').update(body).digest('hex')}`;
    const headers = {
      'x-fal-webhook-request-id': 'r1',
      'x-fal-webhook-user-id': 'u1',
      'x-fal-webhook-timestamp': String(ts),
      'x-fal-webhook-signature': sign(null, Buffer.from(message), second.privateKey).toString('hex'),
    };
    const check = (list: Awaited<ReturnType<typeof keys.current>>) =>
      verifyFal({ keys: list, headers, rawBody: body, nowS: ts }).ok;
    expect(check(await keys.current())).toBe(false);
    // Within a minute of the last fetch, refresh keeps what it has.
    expect(check(await keys.refresh())).toBe(false);
    expect(seen).toHaveLength(1);
    clock += 61_000;
    expect(check(await keys.refresh())).toBe(true);
    expect(seen).toHaveLength(2);

    clock += 24 * 60 * 60 * 1000;
    await keys.current();
    expect(seen).toHaveLength(3);
  });

  it('refuses an answer without Ed25519 keys', async () => {
    const { base } = await serve(() => [200, { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }]);
    await expect(falKeys({ http, jwksUrl: base }).current()).rejects.toThrow(/no Ed25519 key/);
  });
});
