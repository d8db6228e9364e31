// What the signature checks need from the providers, fetched lazily and cached
// (docs/providers.md, "Webhook signatures"): WaveSpeed's webhook secret, once per process, and
// fal's signing keys, for 24 hours and again when a delivery names a key we do not have.
import type { KeyObject } from 'node:crypto';
import type { Config } from '../config.js';
import type { Http } from '../net/http.js';
import { falKeyFromJwk } from './signatures.js';

/** The account's webhook secret: fetched at the first delivery, then kept (a failed fetch is retried next time). */
export function waveSpeedSecret(opts: {
  http: Http;
  baseUrl: string;
  apiKey: string;
}): () => Promise<string> {
  let secret: Promise<string> | undefined;
  return () => {
    secret ??= fetchSecret(opts).catch((error: unknown) => {
      secret = undefined;
      throw error;
    });
    return secret;
  };
}

async function fetchSecret(opts: { http: Http; baseUrl: string; apiKey: string }): Promise<string> {
  const res = await opts.http.send({
    method: 'GET',
    url: `${opts.baseUrl}/api/v3/webhook/secret`,
    headers: { authorization: `Bearer ${opts.apiKey}` },
    timeoutMs: 10_000,
  });
  if (res.status !== 200) throw new Error(`WaveSpeed webhook secret: HTTP ${res.status}`);
  // The envelope's data is the secret itself, or an object holding it; a bare answer is tolerated.
  const body = res.body as { data?: unknown; secret?: unknown } | string | undefined;
  const data = typeof body === 'object' && body !== null && 'data' in body ? body.data : body;
  const secret = typeof data === 'string' ? data : (data as { secret?: unknown } | undefined)?.secret;
  if (typeof secret !== 'string' || secret.trim() === '')
    throw new Error('WaveSpeed webhook secret: no secret in the answer');
  return secret.trim();
}

export interface FalKeys {
  /** The cached keys (fetched when there are none or they are over a day old). */
  current(): Promise<KeyObject[]>;
  /** The keys fetched again now, unless that happened in the last minute (a bad delivery cannot make us hammer fal). */
  refresh(): Promise<KeyObject[]>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const REFRESH_GAP_MS = 60_000;

export function falKeys(opts: { http: Http; jwksUrl: string; now?: () => number }): FalKeys {
  const now = opts.now ?? Date.now;
  let cached: { keys: KeyObject[]; at: number } | undefined;
  let inFlight: Promise<KeyObject[]> | undefined;

  const fetchKeys = (): Promise<KeyObject[]> => {
    inFlight ??= (async () => {
      try {
        const res = await opts.http.send({ method: 'GET', url: opts.jwksUrl, timeoutMs: 10_000 });
        if (res.status !== 200) throw new Error(`fal JWKS: HTTP ${res.status}`);
        const entries = (res.body as { keys?: unknown } | undefined)?.keys;
        if (!Array.isArray(entries)) throw new Error('fal JWKS: no keys in the answer');
        const keys = entries.flatMap((entry: unknown) => {
          const jwk = entry as { x?: unknown; kty?: unknown; crv?: unknown };
          if (typeof jwk.x !== 'string' || (jwk.crv !== undefined && jwk.crv !== 'Ed25519')) return [];
          try {
            return [falKeyFromJwk({ x: jwk.x })];
          } catch {
            return [];
          }
        });
        if (keys.length === 0) throw new Error('fal JWKS: no Ed25519 key');
        cached = { keys, at: now() };
        return keys;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  return {
    current: () => (cached && now() - cached.at < DAY_MS ? Promise.resolve(cached.keys) : fetchKeys()),
    refresh: () =>
      cached && now() - cached.at < REFRESH_GAP_MS ? Promise.resolve(cached.keys) : fetchKeys(),
  };
}

/**
 * The signing material a listener checks against, for each provider that has a key here (the
 * bot's listener and the sharding manager's). A provider without a key gets neither, and its
 * path refuses every delivery.
 */
export function signingKeysFrom(
  config: Pick<Config, 'WAVESPEED_API_KEY' | 'WAVESPEED_BASE_URL' | 'FAL_KEY' | 'FAL_JWKS_URL'>,
  http: Http,
): { waveSpeedSecret?: () => Promise<string>; falKeys?: FalKeys } {
  return {
    ...(config.WAVESPEED_API_KEY
      ? {
          waveSpeedSecret: waveSpeedSecret({
            http,
            baseUrl: config.WAVESPEED_BASE_URL,
            apiKey: config.WAVESPEED_API_KEY,
          }),
        }
      : {}),
    ...(config.FAL_KEY ? { falKeys: falKeys({ http, jwksUrl: config.FAL_JWKS_URL }) } : {}),
  };
}
