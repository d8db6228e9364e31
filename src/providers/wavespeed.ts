// The WaveSpeed provider (Luma Ray 2 and Ray 2 Flash image-to-video): one submit POST, one
// GET per poll, uploads into WaveSpeed storage. It never retries: the engine decides.
// Wire details: shared/reference/provider-protocols.md §1.
import type { Http } from '../net/http.js';
import type { ProviderError, ProviderErrorKind } from './errors.js';
import type { PollResult, ProviderJobRef, VideoProvider } from './types.js';
import { createTransport } from './wavespeed/transport.js';
import { uploadImage } from './wavespeed/upload.js';
import {
  pollAnswer,
  submitAnswer,
  toSubmitBody,
  type Prediction,
  type WaveSpeedEndpoint,
} from './wavespeed/wire.js';

export interface WaveSpeedProviderOptions {
  http: Http;
  baseUrl: string;
  apiKey: string;
  endpoint: WaveSpeedEndpoint;
  /** Per-request deadline; defaults to 30 s. */
  requestTimeoutMs?: number;
}

/** The SDK's terminal failure set; any other unknown status means "keep polling". */
const FAILED_STATUSES = new Set(['failed', 'cancelled', 'timeout', 'deleted']);

/** Task-level codes from WaveSpeed's error-code page; any other code is a plain 'failed'. */
const TASK_CODE_KINDS: Partial<Record<number, ProviderErrorKind>> = {
  1200: 'moderation',
  1400: 'invalid_input',
  1401: 'invalid_input',
  1402: 'invalid_input',
  5003: 'unavailable',
  5004: 'timeout',
};

export function createWaveSpeedProvider(opts: WaveSpeedProviderOptions): VideoProvider {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const t = createTransport(opts);
  // Built from our base URL and the id rather than taken from `urls.get`, so the key only
  // ever goes to the host we were configured with.
  const resultUrl = (id: string) => `${baseUrl}/api/v3/predictions/${encodeURIComponent(id)}/result`;

  return {
    provider: 'wavespeed',
    endpoint: opts.endpoint,

    async submit(request, signal) {
      const body = toSubmitBody(request);
      const res = await t.send(
        {
          method: 'POST',
          url: `${baseUrl}/api/v3/${opts.endpoint}`,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        },
        signal,
      );
      const failed = t.failureStatus(res);
      if (failed !== undefined) throw t.httpError('submit', res, failed);
      const parsed = submitAnswer.safeParse(res.body);
      // The task may exist even though we cannot name it, so this is not `notAccepted`.
      if (!parsed.success) throw t.error('protocol', 'WaveSpeed submit answer had no task id (data.id)');
      const id = parsed.data.data.id;
      return { id, statusUrl: resultUrl(id) };
    },

    async poll(ref: ProviderJobRef, signal): Promise<PollResult> {
      const res = await t.send({ method: 'GET', url: resultUrl(ref.id) }, signal);
      const failed = t.failureStatus(res);
      if (failed === 404) {
        return {
          state: 'failed',
          error: t.error('protocol', 'prediction not found', { requestId: ref.id, status: 404 }),
        };
      }
      if (failed !== undefined) throw t.httpError('poll', res, failed, ref.id);
      const parsed = pollAnswer.safeParse(res.body);
      if (!parsed.success)
        throw t.error('protocol', 'WaveSpeed poll answer had no data.status', { requestId: ref.id });
      return toPollResult(parsed.data.data, ref.id);
    },

    // WaveSpeed documents no cancel endpoint (none of the SDKs has one), so there is nothing to
    // send; the task runs to its end and the engine ignores its result.
    cancel() {
      return Promise.resolve();
    },

    upload(input, signal) {
      return uploadImage(t, baseUrl, input, signal);
    },
  };

  function toPollResult(data: Prediction, id: string): PollResult {
    if (data.status === 'created') return { state: 'queued' };
    if (data.status === 'completed') {
      const videoUrl = data.outputs?.[0];
      if (typeof videoUrl !== 'string' || videoUrl === '') {
        return {
          state: 'failed',
          error: t.error('protocol', 'WaveSpeed completed without outputs[0]', { requestId: id }),
        };
      }
      return { state: 'succeeded', videoUrl, nsfw: data.has_nsfw_contents?.[0] === true };
    }
    if (FAILED_STATUSES.has(data.status)) return { state: 'failed', error: taskError(data, id) };
    return { state: 'running' };
  }

  function taskError(data: Prediction, id: string): ProviderError {
    const code = data.code === null || data.code === undefined ? undefined : Number(data.code);
    const kind = (code !== undefined && TASK_CODE_KINDS[code]) || 'failed';
    const message = data.error ? data.error : `WaveSpeed task ${data.status}`;
    const known = code !== undefined && !Number.isNaN(code);
    return t.error(kind, message, { requestId: id, ...(known ? { code } : {}) });
  }
}
