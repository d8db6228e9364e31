// The fal.ai provider: Luma Ray 2 Flash image-to-video over fal's queue API (submit, status,
// result, cancel) and fal storage uploads. It never retries a call: the engine decides.
// What it relies on about fal: docs/providers.md, "fal".
import type { Http } from '../net/http.js';
import { maxImageBytesFor } from './catalog.js';
import { readResult, readStatus } from './fal/poll.js';
import { followStatus } from './fal/stream.js';
import { uploadToFal } from './fal/upload.js';
import {
  FAL_DEFAULT_ENDPOINT,
  cancelAnswer,
  falHooks,
  fallbackQueueUrls,
  submitAnswer,
  toFalInput,
  withQuery,
  type QueueUrls,
} from './fal/wire.js';
import { createProviderClient, type ProviderRequestObserver } from './request.js';
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
  /** Largest image upload() takes; defaults to the catalogue's cap for the endpoint. */
  maxImageBytes?: number;
  /** Told of every request (the metrics). */
  observer?: ProviderRequestObserver;
  /** Where fal should POST when a request ends (`?fal_webhook=`); absent = no webhook. */
  webhookUrl?: string;
}

export const FAL_DEFAULTS = {
  endpoint: FAL_DEFAULT_ENDPOINT,
  requestTimeoutMs: 30_000,
} as const;

export function createFalProvider(opts: FalProviderOptions): VideoProvider {
  const endpoint = opts.endpoint ?? FAL_DEFAULTS.endpoint;
  const queueBase = opts.queueUrl.replace(/\/+$/, '');
  const storageBase = opts.storageUrl.replace(/\/+$/, '');
  const maxImageBytes = opts.maxImageBytes ?? maxImageBytesFor('fal', endpoint);
  const c = createProviderClient({
    provider: 'fal',
    label: 'fal',
    http: opts.http,
    apiKey: opts.apiKey,
    authHeaders: { Authorization: `Key ${opts.apiKey}`, Accept: 'application/json' },
    timeoutMs: opts.requestTimeoutMs ?? FAL_DEFAULTS.requestTimeoutMs,
    hooks: falHooks,
    observer: opts.observer,
  });

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
      const res = await c.send(
        {
          op: 'submit',
          method: 'POST',
          url: opts.webhookUrl
            ? withQuery(`${queueBase}/${endpoint}`, 'fal_webhook', opts.webhookUrl)
            : `${queueBase}/${endpoint}`,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(toFalInput(request)),
        },
        signal,
      );
      if (res.status < 200 || res.status >= 300) {
        // Only a 429 proves fal took nothing; after a 5xx (504 included) the request may exist
        // (and be billed), so every 5xx is an outage rather than a timeout to ask again about.
        throw c.httpError('submit', res, res.status >= 500 ? { kind: 'unavailable' } : {});
      }
      const parsed = submitAnswer.safeParse(res.body);
      if (!parsed.success) {
        const requestId = res.headers['x-fal-request-id'];
        throw c.error('protocol', 'fal submit: answer without a request_id', {
          status: res.status,
          ...(requestId !== undefined && { requestId }),
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
        ...(opts.webhookUrl ? { webhook: true } : {}),
      };
    },

    async poll(ref, signal, options) {
      const u = urls(ref);
      if (options?.pushed) {
        // fal said the request completed: its result is the one call left. An answer that says
        // "not yet" (202) falls through to the status, as a poll would have asked.
        const result = readResult(c, await c.send({ op: 'result', method: 'GET', url: u.resultUrl }, signal));
        if (result.state !== 'running') return result;
      }
      const status = await c.send(
        { op: 'poll', method: 'GET', url: withQuery(u.statusUrl, 'logs', '0') },
        signal,
      );
      const outcome = readStatus(c, status);
      if (outcome.state !== 'completed') return outcome;
      const result = await c.send({ op: 'result', method: 'GET', url: u.resultUrl }, signal);
      return readResult(c, result);
    },

    follow: (ref, signal) => followStatus(c, urls(ref).statusUrl, signal),

    async cancel(ref, signal) {
      const res = await c.send({ op: 'cancel', method: 'PUT', url: urls(ref).cancelUrl }, signal);
      if (res.status >= 200 && res.status < 300) return;
      // fal documents the status strings, not the HTTP codes that carry them (docs/providers.md,
      // "fal cancel"): a 404 or either string means there is nothing left to cancel.
      const answer = cancelAnswer.safeParse(res.body);
      const said = answer.success ? answer.data.status : undefined;
      if (res.status === 404 || said === 'ALREADY_COMPLETED' || said === 'NOT_FOUND') return;
      throw c.httpError('cancel', res, { notAccepted: false });
    },

    upload: (input, signal) => uploadToFal(c, { storageBase, maxImageBytes }, input, signal),
  };
}
