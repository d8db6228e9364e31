// Checks a provider's webhook signature over the raw body, before anything in the body is read
// (docs/providers.md, "Webhook signatures"). Pure functions: the listener that calls them, the
// secret and key fetching, and what a valid delivery wakes come with the webhook listener.
import {
  createHash,
  createHmac,
  createPublicKey,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';

/** How far a delivery's timestamp may be from our clock, either way. */
export const MAX_SKEW_S = 300;

export type Verdict =
  { ok: true; deliveryId: string } | { ok: false; reason: 'missing_headers' | 'stale' | 'bad_signature' };

/** Header lookup that ignores case, as node:http lower-cases names but callers may not. */
function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

function fresh(timestamp: string, nowS: number): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(nowS - Number(timestamp)) <= MAX_SKEW_S;
}

/** Constant-time equality of two hex strings (false when either is not hex of the same length). */
function sameHex(a: string, b: string): boolean {
  if (!/^[0-9a-f]+$/i.test(a) || !/^[0-9a-f]+$/i.test(b) || a.length !== b.length || a.length % 2 !== 0) {
    return false;
  }
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/**
 * WaveSpeed: HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret
 * without its `whsec_` prefix (used as text, not decoded). `webhook-signature` holds one or more
 * space-separated `v3,<hex>`; any one matching is enough.
 */
export function verifyWaveSpeed(input: {
  secret: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Uint8Array;
  nowS: number;
}): Verdict {
  const id = header(input.headers, 'webhook-id');
  const timestamp = header(input.headers, 'webhook-timestamp');
  const signatures = header(input.headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) return { ok: false, reason: 'missing_headers' };
  if (!fresh(timestamp, input.nowS)) return { ok: false, reason: 'stale' };
  const key = input.secret.startsWith('whsec_') ? input.secret.slice('whsec_'.length) : input.secret;
  const expected = createHmac('sha256', key)
    .update(`${id}.${timestamp}.`)
    .update(input.rawBody)
    .digest('hex');
  const matches = signatures
    .split(' ')
    .map((part) => part.trim())
    .some((part) => part.startsWith('v3,') && sameHex(part.slice(3), expected));
  return matches ? { ok: true, deliveryId: id } : { ok: false, reason: 'bad_signature' };
}

/** A fal signing key from its JWKS entry (`kty` OKP, `crv` Ed25519, `x` base64url). */
export function falKeyFromJwk(jwk: { x: string }): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
}

/**
 * fal: Ed25519 over `request_id \n user_id \n timestamp \n hex(sha256(body))`, tried against every
 * key fal publishes. `bad_signature` with keys that may be out of date means: fetch the keys
 * again and try once more (a key fal started using since).
 */
export function verifyFal(input: {
  keys: readonly KeyObject[];
  headers: Record<string, string | string[] | undefined>;
  rawBody: Uint8Array;
  nowS: number;
}): Verdict {
  const requestId = header(input.headers, 'x-fal-webhook-request-id');
  const userId = header(input.headers, 'x-fal-webhook-user-id');
  const timestamp = header(input.headers, 'x-fal-webhook-timestamp');
  const signature = header(input.headers, 'x-fal-webhook-signature');
  if (!requestId || !userId || !timestamp || !signature) return { ok: false, reason: 'missing_headers' };
  if (!fresh(timestamp, input.nowS)) return { ok: false, reason: 'stale' };
  if (!/^[0-9a-f]{128}$/i.test(signature)) return { ok: false, reason: 'bad_signature' };
  const digest = createHash('sha256').update(input.rawBody).digest('hex');
  const message = Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${digest}`, 'utf8');
  const sig = Buffer.from(signature, 'hex');
  const valid = input.keys.some((key) => {
    try {
      return verify(null, message, key, sig);
    } catch {
      return false;
    }
  });
  // fal retries a delivery with the same request id, so that is what a duplicate shares.
  return valid ? { ok: true, deliveryId: requestId } : { ok: false, reason: 'bad_signature' };
}
