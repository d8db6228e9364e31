// How the WaveSpeed client talks HTTP: every call goes through net/http with the Bearer key,
// a deadline and the caller's signal, and every failure leaves here as a ProviderError whose
// message can never contain the key.
import {
  NetworkError,
  ResponseTooLargeError,
  retryAfterMs,
  type Http,
  type HttpRequest,
  type HttpResponse,
} from '../../net/http.js';
import {
  ProviderError,
  fromNetworkError,
  fromTooLarge,
  kindForStatus,
  type ProviderErrorKind,
} from '../errors.js';
import { envelopeFailureCode, readErrorBody } from './wire.js';

export const WAVESPEED_DEFAULTS = { requestTimeoutMs: 30_000, maxMessageChars: 300 } as const;

export interface ErrorExtra {
  requestId?: string;
  status?: number;
  code?: string | number;
}

export interface Transport {
  /** Sends one request; network failures become ProviderErrors, HTTP answers come back as they are. */
  send(
    req: Omit<HttpRequest, 'timeoutMs' | 'signal'>,
    signal: AbortSignal | undefined,
    opts?: { auth?: boolean },
  ): Promise<HttpResponse>;
  /** The failing status of an answer (HTTP, or an error envelope inside a 2xx), or undefined. */
  failureStatus(res: HttpResponse): number | undefined;
  /** Turns a failed answer into the ProviderError the engine reads. */
  httpError(what: string, res: HttpResponse, status: number, requestId?: string): ProviderError;
  error(kind: ProviderErrorKind, message: string, extra?: ErrorExtra): ProviderError;
  /** Strips the key from provider-supplied text and bounds its length. */
  clean(text: string): string;
}

export function createTransport(opts: { http: Http; apiKey: string; requestTimeoutMs?: number }): Transport {
  const timeoutMs = opts.requestTimeoutMs ?? WAVESPEED_DEFAULTS.requestTimeoutMs;

  function clean(text: string): string {
    const redacted = opts.apiKey === '' ? text : text.split(opts.apiKey).join('[redacted]');
    return redacted.length > WAVESPEED_DEFAULTS.maxMessageChars
      ? `${redacted.slice(0, WAVESPEED_DEFAULTS.maxMessageChars)}…`
      : redacted;
  }

  async function send(
    req: Omit<HttpRequest, 'timeoutMs' | 'signal'>,
    signal: AbortSignal | undefined,
    { auth = true }: { auth?: boolean } = {},
  ): Promise<HttpResponse> {
    const headers = auth ? { ...req.headers, Authorization: `Bearer ${opts.apiKey}` } : { ...req.headers };
    try {
      return await opts.http.send({ ...req, headers, timeoutMs, ...(signal ? { signal } : {}) });
    } catch (error) {
      // A caller's abort comes back as its own reason and is passed on untouched.
      if (error instanceof NetworkError) throw fromNetworkError('wavespeed', error);
      if (error instanceof ResponseTooLargeError) throw fromTooLarge('wavespeed', error);
      throw error;
    }
  }

  function failureStatus(res: HttpResponse): number | undefined {
    if (res.status < 200 || res.status >= 300) return res.status;
    return envelopeFailureCode(res.body);
  }

  function httpError(what: string, res: HttpResponse, status: number, requestId?: string): ProviderError {
    const { message, code } = readErrorBody(res.body);
    const text = clean(`WaveSpeed ${what} answered HTTP ${status}${message ? `: ${message}` : ''}`);
    const retryAfter = retryAfterMs(res.headers);
    return new ProviderError({
      kind: kindFor(status, message),
      provider: 'wavespeed',
      message: text,
      status,
      // Only a 429 proves the request was turned away; a 5xx may come after the task was created.
      notAccepted: status === 429,
      ...(code !== undefined ? { code } : {}),
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
      ...(requestId !== undefined ? { requestId } : {}),
    });
  }

  function error(kind: ProviderErrorKind, message: string, extra: ErrorExtra = {}): ProviderError {
    return new ProviderError({ kind, provider: 'wavespeed', message: clean(message), ...extra });
  }

  return { send, failureStatus, httpError, error, clean };
}

function kindFor(status: number, message: string | undefined): ProviderErrorKind {
  if (status === 429) return 'rate_limited';
  // WaveSpeed documents "insufficient credits" without a status code, so on a 4xx the text is
  // the only signal we have. This is the one place we match message text.
  if (status === 402 || (status >= 400 && status < 500 && /insufficient|balance|credit/i.test(message ?? '')))
    return 'balance';
  if (status === 401 || status === 403) return 'auth';
  if (status === 400 || status === 422) return 'invalid_input';
  // Every 5xx, 504 included, is an outage to the engine; on submit it may still have created the task.
  if (status >= 500) return 'unavailable';
  return kindForStatus(status);
}
