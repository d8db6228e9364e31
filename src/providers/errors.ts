// Typed provider failures. Retry and failover decisions read `kind`, `retryable` and
// `notAccepted`, never the message text.
import type { NetworkError, ResponseTooLargeError } from '../net/http.js';
import type { ProviderId } from './types.js';

export type ProviderErrorKind =
  | 'auth' // key missing, wrong or suspended
  | 'balance' // the provider account is out of money
  | 'rate_limited'
  | 'invalid_input'
  | 'moderation' // content policy
  | 'unavailable' // 5xx or a provider-side outage
  | 'network' // no HTTP answer
  | 'timeout'
  | 'failed' // the task ran and failed
  | 'protocol'; // an answer we could not understand

export interface ProviderErrorInit {
  kind: ProviderErrorKind;
  provider: ProviderId;
  message: string;
  status?: number;
  /** Provider's own code: WaveSpeed task code, fal error_type, ... */
  code?: string | number;
  retryAfterMs?: number;
  /** True only when the answer proves the request was not accepted (429, connection refused). */
  notAccepted?: boolean;
  requestId?: string;
  cause?: unknown;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  readonly provider: ProviderId;
  readonly status: number | undefined;
  readonly code: string | number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly notAccepted: boolean;
  readonly requestId: string | undefined;

  constructor(init: ProviderErrorInit) {
    super(init.message, { cause: init.cause });
    this.kind = init.kind;
    this.provider = init.provider;
    this.status = init.status;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
    this.notAccepted = init.notAccepted ?? false;
    this.requestId = init.requestId;
  }

  /** Whether asking again (a poll, or a submit that was not accepted) may succeed. */
  get retryable(): boolean {
    return (
      this.kind === 'rate_limited' ||
      this.kind === 'unavailable' ||
      this.kind === 'network' ||
      this.kind === 'timeout'
    );
  }

  /** Fields for a structured log line; no bodies, no headers, no keys. */
  toLog(): Record<string, unknown> {
    return {
      kind: this.kind,
      provider: this.provider,
      status: this.status,
      code: this.code,
      requestId: this.requestId,
      notAccepted: this.notAccepted,
      message: this.message,
    };
  }
}

/** Maps a transport failure (from net/http) to a ProviderError. */
export function fromNetworkError(provider: ProviderId, error: NetworkError): ProviderError {
  return new ProviderError({
    kind: error.timedOut ? 'timeout' : 'network',
    provider,
    message: error.message,
    notAccepted: error.refused,
    cause: error,
  });
}

/** An answer too big to be one of the provider's JSON answers: we cannot read it, asking again won't help. */
export function fromTooLarge(provider: ProviderId, error: ResponseTooLargeError): ProviderError {
  return new ProviderError({
    kind: 'protocol',
    provider,
    message:
      error.declaredBytes !== undefined
        ? `${provider} answered HTTP ${error.status} declaring ${error.declaredBytes} bytes, ` +
          `over our ${error.limitBytes}-byte cap`
        : `${provider} answered HTTP ${error.status} with more than ${error.limitBytes} bytes`,
    status: error.status,
    cause: error,
  });
}

/** Classifies an HTTP status the way both providers document it. */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'balance';
  if (status === 429) return 'rate_limited';
  if (status === 400 || status === 404 || status === 413 || status === 422) return 'invalid_input';
  if (status === 408 || status === 504) return 'timeout';
  if (status >= 500) return 'unavailable';
  return 'protocol';
}
