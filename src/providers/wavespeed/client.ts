// The one WaveSpeed HTTP client setup, shared by the video provider and the prompt optimizer:
// Bearer auth, WaveSpeed's error hooks, the per-request deadline and the metrics observer.
import type { Http } from '../../net/http.js';
import { createProviderClient, type ProviderClient, type ProviderRequestObserver } from '../request.js';
import { waveSpeedHooks } from './wire.js';

export const WAVESPEED_DEFAULTS = { requestTimeoutMs: 30_000 } as const;

export function createWaveSpeedClient(opts: {
  /** How messages name the caller, e.g. 'WaveSpeed'. */
  label: string;
  http: Http;
  apiKey: string;
  requestTimeoutMs?: number | undefined;
  observer?: ProviderRequestObserver | undefined;
}): ProviderClient {
  return createProviderClient({
    provider: 'wavespeed',
    label: opts.label,
    http: opts.http,
    apiKey: opts.apiKey,
    authHeaders: { Authorization: `Bearer ${opts.apiKey}` },
    timeoutMs: opts.requestTimeoutMs ?? WAVESPEED_DEFAULTS.requestTimeoutMs,
    hooks: waveSpeedHooks,
    observer: opts.observer,
  });
}
