// The WaveSpeed provider (Luma Ray 2 and Ray 2 Flash image-to-video): one submit POST, one
// GET per poll, uploads into WaveSpeed storage. It never retries: the engine decides.
// What it relies on about WaveSpeed: docs/providers.md, "WaveSpeed".
import type { Http } from '../net/http.js';
import { maxImageBytesFor } from './catalog.js';
import type { ProviderRequestObserver } from './request.js';
import { createWaveSpeedClient } from './wavespeed/client.js';
import type { VideoProvider } from './types.js';
import { readPrediction } from './wavespeed/poll.js';
import { uploadImage } from './wavespeed/upload.js';
import { submitAnswer, toSubmitBody } from './wavespeed/wire.js';

export interface WaveSpeedProviderOptions {
  http: Http;
  baseUrl: string;
  apiKey: string;
  /** WaveSpeed model path, e.g. 'luma/ray-2-flash-i2v' (the catalogue's `endpoint`). */
  endpoint: string;
  /** Per-request deadline; defaults to 30 s. */
  requestTimeoutMs?: number;
  /** Largest image upload() takes; defaults to the catalogue's cap for the endpoint. */
  maxImageBytes?: number;
  /** Told of every request (the metrics). */
  observer?: ProviderRequestObserver;
  /** Where WaveSpeed should POST when a task ends (`?webhook=`); absent = no webhook. */
  webhookUrl?: string;
}

export { WAVESPEED_DEFAULTS } from './wavespeed/client.js';

export function createWaveSpeedProvider(opts: WaveSpeedProviderOptions): VideoProvider {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const maxImageBytes = opts.maxImageBytes ?? maxImageBytesFor('wavespeed', opts.endpoint);
  const c = createWaveSpeedClient({
    label: 'WaveSpeed',
    http: opts.http,
    apiKey: opts.apiKey,
    requestTimeoutMs: opts.requestTimeoutMs,
    observer: opts.observer,
  });
  // Built from our base URL and the id rather than taken from `urls.get`, so the key only
  // ever goes to the host we were configured with.
  const resultUrl = (id: string) => `${baseUrl}/api/v3/predictions/${encodeURIComponent(id)}/result`;

  // Encoded: the URL is a query value (an early WaveSpeed SDK forgot to, and broke on `&`).
  const webhookQuery = opts.webhookUrl ? `?webhook=${encodeURIComponent(opts.webhookUrl)}` : '';

  return {
    provider: 'wavespeed',
    endpoint: opts.endpoint,

    async submit(request, signal) {
      const body = toSubmitBody(request);
      const res = await c.send(
        {
          op: 'submit',
          method: 'POST',
          url: `${baseUrl}/api/v3/${opts.endpoint}${webhookQuery}`,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        },
        signal,
      );
      const failed = c.failureStatus(res);
      if (failed !== undefined) throw c.httpError('submit', res, { status: failed });
      const parsed = submitAnswer.safeParse(res.body);
      // The task may exist even though we cannot name it, so this is not `notAccepted`.
      if (!parsed.success) throw c.error('protocol', 'WaveSpeed submit answer had no task id (data.id)');
      const id = parsed.data.data.id;
      return { id, statusUrl: resultUrl(id), ...(opts.webhookUrl ? { webhook: true } : {}) };
    },

    async poll(ref, signal) {
      const res = await c.send({ op: 'poll', method: 'GET', url: resultUrl(ref.id) }, signal);
      return readPrediction(c, res, ref.id);
    },

    // WaveSpeed has no cancel endpoint (docs/providers.md, "WaveSpeed cancel"), so there is
    // nothing to send; the task runs to its end and the engine ignores its result.
    cancel() {
      return Promise.resolve();
    },

    upload(input, signal) {
      return uploadImage(c, { baseUrl, maxImageBytes }, input, signal);
    },
  };
}
