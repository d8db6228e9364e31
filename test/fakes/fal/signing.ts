// fal's webhook signing inside the fake (docs/providers.md, "fal webhooks"): Ed25519 keys
// published as a JWKS, the newest signing, older ones kept published after a rotation, and one
// key never published, for deliveries a receiver must not believe.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  use: 'sig';
}

/** The user id every delivery names; fal signs the account's. */
export const FAKE_FAL_USER_ID = 'fake-user-5c1e0f';

export function createFalSigner() {
  const published: { jwk: Jwk; privateKey: KeyObject }[] = [];
  const unpublished = generateKeyPairSync('ed25519').privateKey;

  /** Adds a key pair, signs with it from now on; returns its kid. */
  function addKey(): string {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const { x } = publicKey.export({ format: 'jwk' });
    if (x === undefined) throw new Error('fake fal: an Ed25519 key without x');
    const jwk: Jwk = { kty: 'OKP', crv: 'Ed25519', x, kid: randomBytes(8).toString('hex'), use: 'sig' };
    published.push({ jwk, privateKey });
    return jwk.kid;
  }
  addKey();

  return {
    jwks: () => ({ keys: published.map((k) => k.jwk) }),
    rotate: addKey,
    /** The `X-Fal-Webhook-*` headers for a delivery; `spoil` flips a bit of an honest signature. */
    headers(
      requestId: string,
      body: string,
      timestampS: number,
      how: { spoil: boolean; unknownKey: boolean },
    ): Record<string, string> {
      const digest = createHash('sha256').update(body, 'utf8').digest('hex');
      const message = Buffer.from(`${requestId}\n${FAKE_FAL_USER_ID}\n${timestampS}\n${digest}`, 'utf8');
      const key = how.unknownKey ? unpublished : published[published.length - 1]!.privateKey;
      const signature = sign(null, message, key);
      if (how.spoil) signature[0]! ^= 1;
      return {
        'x-fal-webhook-request-id': requestId,
        'x-fal-webhook-user-id': FAKE_FAL_USER_ID,
        'x-fal-webhook-timestamp': String(timestampS),
        'x-fal-webhook-signature': signature.toString('hex'),
      };
    },
  };
}
