// The one way a provider client talks HTTP and reads failures: every call goes through net/http
// with the provider's auth headers, a deadline and the caller's signal; every failure leaves as a
// ProviderError whose message never holds the key. What differs between providers (where an
// error hides in a 2xx answer, which text names a balance problem) comes in as hooks.
// docs/providers.md, "Shared behaviour", describes the rules.
import { request as undiciRequest } from 'undici';
import {
  NetworkError,
  flattenHeaders,
  toNetworkError,
  ResponseTooLargeError,
  retryAfterMs,
  type Http,
  type HttpRequest,
  type HttpResponse,
} from '../net/http.js';
import {
  ProviderError,
  fromNetworkError,
  fromTooLarge,
  kindForStatus,
  type ProviderErrorKind,
} from './errors.js';
import type { ProviderId } from './types.js';

export const REQUEST_DEFAULTS = { timeoutMs: 30_000, maxMessageChars: 300 } as const;

/** What an error answer says about itself, read by the provider's hook. */
export interface ErrorInfo {
  /** The first readable line of the body, if any. */
  message?: string | undefined;
  /** The provider's own error code or type. */
  code?: string | number | undefined;
  /** The provider's request id, when the answer names one. */
  requestId?: string | undefined;
  /** The answer says the content policy refused the request. */
  moderation?: boolean | undefined;
}

export interface ProviderHooks {
  /** Reads whatever the provider's error answers carry. */
  readError(res: HttpResponse): ErrorInfo;
  /** A failing status reported inside a 2xx answer (an error envelope), or undefined. */
  envelopeStatus?(res: HttpResponse): number | undefined;
  /** The kind where the provider departs from kindForStatus; undefined keeps the default. */
  kindFor?(status: number, info: ErrorInfo): ProviderErrorKind | undefined;
}

/**
 * What a request is for, as metrics count it: fal's result fetch is `result`, every storage call
 * `upload`, fal's status stream `stream`; the prompt optimizer's submit is `enhance` and its polls
 * `enhance_poll`, apart from the videos' own.
 */
export type ProviderOp =
  'submit' | 'poll' | 'result' | 'upload' | 'cancel' | 'stream' | 'enhance' | 'enhance_poll';

export interface ProviderRequest extends Omit<HttpRequest, 'timeoutMs' | 'signal'> {
  op: ProviderOp;
  /** False for signed storage URLs: the URL is its own credential and our key must not go there. */
  auth?: boolean;
}

/** One request that went out: its HTTP status, or `error` when no status line came back. */
export interface ProviderRequestEvent {
  provider: ProviderId;
  op: ProviderOp;
  status: number | 'error';
  seconds: number;
}

/** Told of every provider request (the metrics); must not throw. */
export interface ProviderRequestObserver {
  providerRequest(event: ProviderRequestEvent): void;
}

export interface HttpErrorOptions {
  /** The failing status when it is not the HTTP one (an error envelope). */
  status?: number;
  kind?: ProviderErrorKind;
  /** Defaults to true for a 429 only: nothing else proves the request was turned away. */
  notAccepted?: boolean;
  requestId?: string;
}

export interface ErrorExtra {
  status?: number;
  code?: string | number;
  requestId?: string;
  notAccepted?: boolean;
}

/** A response whose body is read as it arrives (fal's status stream). */
export interface StreamingResponse {
  status: number;
  headers: Record<string, string>;
  body: AsyncIterable<Buffer>;
  /** Stops reading and frees the connection. */
  close(): void;
}

export interface ProviderClient {
  readonly provider: ProviderId;
  /** Sends one request; network failures become ProviderErrors, HTTP answers come back as they are. */
  send(req: ProviderRequest, signal?: AbortSignal): Promise<HttpResponse>;
  /**
   * Opens a GET whose body streams, with the provider's auth and no overall deadline (only
   * `connectTimeoutMs` for the status line): the caller's signal ends it.
   */
  openStream(url: string, signal: AbortSignal, connectTimeoutMs?: number): Promise<StreamingResponse>;
  /** The failing status of an answer (non-2xx, or an error envelope inside a 2xx), or undefined. */
  failureStatus(res: HttpResponse): number | undefined;
  /** What a failed answer says: for callers that decide on the provider's error code. */
  readError(res: HttpResponse): ErrorInfo;
  /** Turns a failed answer into the ProviderError the engine reads. */
  httpError(what: string, res: HttpResponse, opts?: HttpErrorOptions): ProviderError;
  /** A ProviderError from our own words; the message is cleaned like provider text. */
  error(kind: ProviderErrorKind, message: string, extra?: ErrorExtra): ProviderError;
  /** Strips the key from provider-supplied text and bounds its length. */
  clean(text: string): string;
}

export interface ProviderClientOptions {
  provider: ProviderId;
  /** How messages name the provider, e.g. 'WaveSpeed'. */
  label: string;
  http: Http;
  apiKey: string;
  /** Headers that carry the key (and anything else every authorized call sends). */
  authHeaders: Record<string, string>;
  /** Deadline for each call; defaults to 30 s. */
  timeoutMs?: number | undefined;
  hooks: ProviderHooks;
  observer?: ProviderRequestObserver | undefined;
}

const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set([
  'rate_limited',
  'unavailable',
  'network',
  'timeout',
]);

export function createProviderClient(opts: ProviderClientOptions): ProviderClient {
  const timeoutMs = opts.timeoutMs ?? REQUEST_DEFAULTS.timeoutMs;
  const { provider, hooks } = opts;

  function clean(text: string): string {
    const redacted = opts.apiKey === '' ? text : text.split(opts.apiKey).join('[redacted]');
    return redacted.length > REQUEST_DEFAULTS.maxMessageChars
      ? `${redacted.slice(0, REQUEST_DEFAULTS.maxMessageChars)}…`
      : redacted;
  }

  async function send(req: ProviderRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const { auth = true, op, ...rest } = req;
    const headers = auth ? { ...rest.headers, ...opts.authHeaders } : { ...rest.headers };
    const started = performance.now();
    let status: number | 'error' = 'error';
    try {
      const res = await opts.http.send({ ...rest, headers, timeoutMs, ...(signal ? { signal } : {}) });
      status = res.status;
      return res;
    } catch (error) {
      // A caller's abort comes back as its own reason and is passed on untouched.
      if (error instanceof NetworkError) throw fromNetworkError(provider, error);
      if (error instanceof ResponseTooLargeError) {
        status = error.status;
        throw fromTooLarge(provider, error);
      }
      throw error;
    } finally {
      observe({ provider, op, status, seconds: (performance.now() - started) / 1000 });
    }
  }

  async function openStream(url: string, signal: AbortSignal, connectTimeoutMs = timeoutMs) {
    const started = performance.now();
    let status: number | 'error' = 'error';
    const connect = AbortSignal.timeout(connectTimeoutMs);
    const headersSignal = AbortSignal.any([signal, connect]);
    // The connect deadline must not cut the stream once it is open, so the request runs on a
    // signal of its own that follows the caller's only.
    const own = new AbortController();
    const follow = () => own.abort(signal.reason);
    const onDeadline = () => own.abort(connect.reason);
    signal.addEventListener('abort', follow, { once: true });
    headersSignal.addEventListener('abort', onDeadline, { once: true });
    try {
      const res = await undiciRequest(url, {
        method: 'GET',
        headers: { Accept: 'text/event-stream', ...opts.authHeaders },
        signal: own.signal,
        dispatcher: opts.http.dispatcher,
      });
      headersSignal.removeEventListener('abort', onDeadline);
      status = res.statusCode;
      // Destroying an undici body emits 'error'; with no listener that would crash the process.
      res.body.on('error', () => undefined);
      return {
        status: res.statusCode,
        headers: flattenHeaders(res.headers),
        body: res.body as AsyncIterable<Buffer>,
        close: () => {
          signal.removeEventListener('abort', follow);
          res.body.destroy();
        },
      };
    } catch (error) {
      headersSignal.removeEventListener('abort', onDeadline);
      signal.removeEventListener('abort', follow);
      if (signal.aborted) throw signal.reason ?? error;
      throw fromNetworkError(provider, toNetworkError(error, connect.aborted, connectTimeoutMs));
    } finally {
      observe({ provider, op: 'stream', status, seconds: (performance.now() - started) / 1000 });
    }
  }

  /** Counting a request must never change its outcome (a paid submit that "failed" on a metric). */
  function observe(event: ProviderRequestEvent): void {
    try {
      opts.observer?.providerRequest(event);
    } catch {
      // The metrics are wrong by one request; the job is not.
    }
  }

  function failureStatus(res: HttpResponse): number | undefined {
    if (res.status < 200 || res.status >= 300) return res.status;
    return hooks.envelopeStatus?.(res);
  }

  function httpError(what: string, res: HttpResponse, o: HttpErrorOptions = {}): ProviderError {
    const status = o.status ?? res.status;
    const info = hooks.readError(res);
    const kind = o.kind ?? hooks.kindFor?.(status, info) ?? kindForStatus(status);
    const retryAfter =
      status === 429 || status >= 500 || RETRYABLE_KINDS.has(kind) ? retryAfterMs(res.headers) : undefined;
    const requestId = o.requestId ?? info.requestId;
    return new ProviderError({
      kind,
      provider,
      message: clean(`${opts.label} ${what}: HTTP ${status}${info.message ? `: ${info.message}` : ''}`),
      status,
      notAccepted: o.notAccepted ?? status === 429,
      ...(info.code !== undefined && { code: info.code }),
      ...(retryAfter !== undefined && { retryAfterMs: retryAfter }),
      ...(requestId !== undefined && { requestId }),
    });
  }

  function error(kind: ProviderErrorKind, message: string, extra: ErrorExtra = {}): ProviderError {
    return new ProviderError({ kind, provider, message: clean(message), ...extra });
  }

  const readError = (res: HttpResponse) => hooks.readError(res);
  return { provider, send, openStream, failureStatus, readError, httpError, error, clean };
}
