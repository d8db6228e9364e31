// Webhook signatures, as each provider signs them: accepted only when the signature over the raw
// body matches and the timestamp is within 5 minutes; anything else says why.
import { createHash, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { falKeyFromJwk, verifyFal, verifyWaveSpeed } from '../../src/webhooks/signatures.js';

const NOW = 1_780_000_000;
const body = Buffer.from('{"id":"task-1","status":"completed","outputs":["https://x/v.mp4"]}');

describe('verifyWaveSpeed', () => {
  const secret = 'whsec_c2VjcmV0LWtleQ';
  const signed = (id: string, ts: number, raw: Buffer, key = 'c2VjcmV0LWtleQ') =>
    createHmac('sha256', key)
      .update(`${id}.${ts}.${raw.toString('utf8')}`)
      .digest('hex');
  const headers = (over: Record<string, string> = {}) => ({
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(NOW),
    'webhook-signature': `v3,${signed('msg_1', NOW, body)}`,
    ...over,
  });

  it('accepts the HMAC-SHA256 of id.timestamp.body keyed with the secret after whsec_ (not decoded)', () => {
    expect(verifyWaveSpeed({ secret, headers: headers(), rawBody: body, nowS: NOW })).toEqual({
      ok: true,
      deliveryId: 'msg_1',
    });
    // Header names in any case; one good signature among several is enough.
    const mixed = {
      'Webhook-Id': 'msg_1',
      'WEBHOOK-TIMESTAMP': String(NOW),
      'webhook-signature': `v3,${'0'.repeat(64)} v3,${signed('msg_1', NOW, body)}`,
    };
    expect(verifyWaveSpeed({ secret, headers: mixed, rawBody: body, nowS: NOW }).ok).toBe(true);
  });

  it('refuses a changed body, another secret, another id, and a signature of another version', () => {
    const changed = Buffer.from(body.toString().replace('completed', 'failed'));
    expect(verifyWaveSpeed({ secret, headers: headers(), rawBody: changed, nowS: NOW })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyWaveSpeed({ secret: 'whsec_other', headers: headers(), rawBody: body, nowS: NOW }).ok).toBe(
      false,
    );
    expect(
      verifyWaveSpeed({ secret, headers: headers({ 'webhook-id': 'msg_2' }), rawBody: body, nowS: NOW }).ok,
    ).toBe(false);
    const v1 = headers({ 'webhook-signature': `v1,${signed('msg_1', NOW, body)}` });
    expect(verifyWaveSpeed({ secret, headers: v1, rawBody: body, nowS: NOW }).ok).toBe(false);
    const garbage = headers({ 'webhook-signature': 'v3,not-hex' });
    expect(verifyWaveSpeed({ secret, headers: garbage, rawBody: body, nowS: NOW }).ok).toBe(false);
  });

  it('refuses a timestamp more than 300 s away, and missing headers', () => {
    const old = NOW - 301;
    const stale = headers({
      'webhook-timestamp': String(old),
      'webhook-signature': `v3,${signed('msg_1', old, body)}`,
    });
    expect(verifyWaveSpeed({ secret, headers: stale, rawBody: body, nowS: NOW })).toEqual({
      ok: false,
      reason: 'stale',
    });
    const edge = NOW + 300;
    const future = headers({
      'webhook-timestamp': String(edge),
      'webhook-signature': `v3,${signed('msg_1', edge, body)}`,
    });
    expect(verifyWaveSpeed({ secret, headers: future, rawBody: body, nowS: NOW }).ok).toBe(true);
    expect(verifyWaveSpeed({ secret, headers: {}, rawBody: body, nowS: NOW })).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
  });
});

describe('verifyFal', () => {
  const pair = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const jwk = pair.publicKey.export({ format: 'jwk' }) as { x: string };
  const otherJwk = other.publicKey.export({ format: 'jwk' }) as { x: string };
  const message = (requestId: string, ts: number, raw: Buffer) =>
    Buffer.from(`${requestId}\nuser-1\n${ts}\n${createHash('sha256').update(raw).digest('hex')}`);
  const headers = (over: Record<string, string> = {}, key = pair.privateKey) => ({
    'x-fal-webhook-request-id': 'req-1',
    'x-fal-webhook-user-id': 'user-1',
    'x-fal-webhook-timestamp': String(NOW),
    'x-fal-webhook-signature': sign(null, message('req-1', NOW, body), key).toString('hex'),
    ...over,
  });

  it('accepts an Ed25519 signature by any published key over request id, user id, timestamp and the body hash', () => {
    const keys = [falKeyFromJwk(otherJwk), falKeyFromJwk(jwk)];
    expect(verifyFal({ keys, headers: headers(), rawBody: body, nowS: NOW })).toEqual({
      ok: true,
      deliveryId: 'req-1',
    });
  });

  it('says bad_signature for a key it does not have (the caller fetches the keys again), a changed body or request id', () => {
    expect(
      verifyFal({ keys: [falKeyFromJwk(otherJwk)], headers: headers(), rawBody: body, nowS: NOW }),
    ).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const keys = [falKeyFromJwk(jwk)];
    expect(
      verifyFal({ keys, headers: headers(), rawBody: Buffer.from(`${body.toString()} `), nowS: NOW }).ok,
    ).toBe(false);
    expect(
      verifyFal({ keys, headers: headers({ 'x-fal-webhook-request-id': 'req-2' }), rawBody: body, nowS: NOW })
        .ok,
    ).toBe(false);
    expect(
      verifyFal({ keys, headers: headers({ 'x-fal-webhook-signature': 'abcd' }), rawBody: body, nowS: NOW })
        .ok,
    ).toBe(false);
  });

  it('refuses a stale timestamp and missing headers', () => {
    const keys = [falKeyFromJwk(jwk)];
    const old = NOW + 400;
    const stale = headers({
      'x-fal-webhook-timestamp': String(old),
      'x-fal-webhook-signature': sign(null, message('req-1', old, body), pair.privateKey).toString('hex'),
    });
    expect(verifyFal({ keys, headers: stale, rawBody: body, nowS: NOW })).toEqual({
      ok: false,
      reason: 'stale',
    });
    const { 'x-fal-webhook-user-id': _dropped, ...partial } = headers();
    expect(verifyFal({ keys, headers: partial, rawBody: body, nowS: NOW })).toEqual({
      ok: false,
      reason: 'missing_headers',
    });
  });
});
