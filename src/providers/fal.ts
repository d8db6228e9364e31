// The fal.ai provider: Luma Ray 2 Flash image-to-video over fal's queue API (submit, status,
// result, cancel) and fal storage uploads. One HTTP call per method; the engine owns retries.
import type { Http, HttpRequest, HttpResponse } from '../net/http.js';
import { ProviderError } from './errors.js';
import { createRedactor, errorFromResponse, rethrowTransport } from './fal/errors.js';
import { readResult, readStatus } from './fal/poll.js';
import { uploadToFal } from './fal/upload.js';
import {
  FAL_DEFAULT_ENDPOINT,
  cancelAnswer,
  fallbackQueueUrls,
  submitAnswer,
  toFalInput,
  withQuery,
  type QueueUrls,
} from './fal/wire.js';
import type { ProviderJobRef, VideoProvider } from './types.js';

export interface FalProviderOptions {
  http: Http;
  /** Queue base, e.g. https://queue.fal.run */
  queueUrl: string;
  /** REST/storage base, e.g. https://rest.fal.ai */
  storageUrl: string;
  apiKey: string;
  /** fal endpoint id; defaults to Luma Ray 2 Flash image-to-video. */
  endpoint?: string;
  /** Deadline for each HTTP call; defaults to 30 s. */
  requestTimeoutMs?: number;
}

export const FAL_DEFAULTS = {
  endpoint: FAL_DEFAULT_ENDPOINT,
  requestTimeoutMs: 30_000,
} as const;

export function createFalProvider(opts: FalProviderOptions): VideoProvider {
  const endpoint = opts.endpoint ?? FAL_DEFAULTS.endpoint;
  const queueBase = opts.queueUrl.replace(/\/+$/, '');
  const storageBase = opts.storageUrl.replace(/\/+$/, '');
  const timeoutMs = opts.requestTimeoutMs ?? FAL_DEFAULTS.requestTimeoutMs;
  const redact = createRedactor(opts.apiKey);
  const auth = { Authorization: `Key ${opts.apiKey}`, Accept: 'application/json' };
  const jsonAuth = { ...auth, 'Content-Type': 'application/json' };

  async function send(req: Omit<HttpRequest, 'timeoutMs'>): Promise<HttpResponse> {
    try {
      return await opts.http.send({ ...req, timeoutMs });
    } catch (error) {
      return rethrowTransport(error);
    }
  }

  /** A ref stored before fal's URLs were kept (or from an answer without them) still works. */
  const queueOrigin = new URL(queueBase).origin;
  /** fal's own URL, followed only on the queue host we were given: our key goes with every request. */
  const onQueueHost = (url: string | undefined): string | undefined => {
    if (url === undefined) return undefined;
    try {
      return new URL(url).origin === queueOrigin ? url : undefined;
    } catch {
      return undefined;
    }
  };

  function urls(ref: ProviderJobRef): QueueUrls {
    const fallback = fallbackQueueUrls(queueBase, endpoint, ref.id);
    return {
      id: ref.id,
      statusUrl: onQueueHost(ref.statusUrl) ?? fallback.statusUrl,
      resultUrl: onQueueHost(ref.resultUrl) ?? fallback.resultUrl,
      cancelUrl: onQueueHost(ref.cancelUrl) ?? fallback.cancelUrl,
    };
  }

  return {
    provider: 'fal',
    endpoint,

    async submit(request, signal) {
      const res = await send({
        method: 'POST',
        url: `${queueBase}/${endpoint}`,
        headers: jsonAuth,
        body: JSON.stringify(toFalInput(request)),
        ...(signal && { signal }),
      });
      if (res.status < 200 || res.status >= 300) {
        // Only a 429 proves fal took nothing; after a 5xx the request may exist (and be billed).
        const kind = res.status >= 500 ? 'unavailable' : undefined;
        throw errorFromResponse('submit', res, redact, {
          notAccepted: res.status === 429,
          ...(kind && { kind }),
        });
      }
      const parsed = submitAnswer.safeParse(res.body);
      if (!parsed.success) {
        throw new ProviderError({
          kind: 'protocol',
          provider: 'fal',
          status: res.status,
          message: 'fal submit: answer without a request_id',
          ...(res.headers['x-fal-request-id'] !== undefined && {
            requestId: res.headers['x-fal-request-id'],
          }),
        });
      }
      const a = parsed.data;
      // fal says to follow the URLs it returns; the rebuilt ones are only for an answer without them.
      const fallback = fallbackQueueUrls(queueBase, endpoint, a.request_id);
      return {
        id: a.request_id,
        statusUrl: a.status_url ?? fallback.statusUrl,
        resultUrl: a.response_url ?? fallback.resultUrl,
        cancelUrl: a.cancel_url ?? fallback.cancelUrl,
      };
    },

    async poll(ref, signal) {
      const u = urls(ref);
      const withSignal = signal ? { signal } : {};
      const status = await send({
        method: 'GET',
        url: withQuery(u.statusUrl, 'logs', '0'),
        headers: auth,
        ...withSignal,
      });
      const outcome = readStatus(status, redact);
      if (outcome.state !== 'completed') return outcome;
      const result = await send({ method: 'GET', url: u.resultUrl, headers: auth, ...withSignal });
      return readResult(result, redact);
    },

    async cancel(ref, signal) {
      const res = await send({
        method: 'PUT',
        url: urls(ref).cancelUrl,
        headers: auth,
        ...(signal && { signal }),
      });
      if (res.status >= 200 && res.status < 300) return;
      // The HTTP codes for these two are a guess (§2.6); the status string is what fal documents.
      const answer = cancelAnswer.safeParse(res.body);
      const said = answer.success ? answer.data.status : undefined;
      if (res.status === 404 || said === 'ALREADY_COMPLETED' || said === 'NOT_FOUND') return;
      throw errorFromResponse('cancel', res, redact);
    },

    upload: (input, signal) => uploadToFal({ send, storageBase, jsonAuth, redact }, input, signal),
  };
}
